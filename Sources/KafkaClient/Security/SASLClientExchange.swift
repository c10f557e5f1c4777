/// One SASL login as a sequence of SaslAuthenticate round trips, without I/O: `start()` gives
/// the first message; every answer of the broker goes to `receive(_:)`, which gives the next
/// message or says the login is complete.
struct SASLClientExchange {
    enum Step: Equatable {
        /// Send these bytes in the next SaslAuthenticate.
        case send([UInt8])
        /// The login is complete.
        case done
    }

    private enum State {
        case plain
        case scramFirst(SCRAMClient)
        case scramFinal(SCRAMClient)
        case finished
    }

    let configuration: KafkaSASLConfiguration
    private var state: State

    init(configuration: KafkaSASLConfiguration, nonce: String = SCRAMClient.makeNonce()) {
        self.configuration = configuration
        switch configuration.mechanism {
        case .plain:
            state = .plain
        case .scramSHA256:
            state = .scramFirst(
                SCRAMClient(
                    hash: .sha256, username: configuration.username, password: configuration.password,
                    clientNonce: nonce))
        case .scramSHA512:
            state = .scramFirst(
                SCRAMClient(
                    hash: .sha512, username: configuration.username, password: configuration.password,
                    clientNonce: nonce))
        }
    }

    /// The first message: PLAIN's `\0username\0password` (RFC 4616, no authorization id), or
    /// SCRAM's client-first.
    func start() -> [UInt8] {
        switch state {
        case .plain:
            return [0] + Array(configuration.username.utf8) + [0] + Array(configuration.password.value.utf8)
        case .scramFirst(let client):
            return Array(client.clientFirstMessage.utf8)
        case .scramFinal, .finished:
            preconditionFailure("start() after the exchange began")
        }
    }

    /// Takes the broker's answer to the last message sent.
    mutating func receive(_ answer: [UInt8]) throws(SCRAMClient.Failure) -> Step {
        switch state {
        case .plain:
            state = .finished
            return .done
        case .scramFirst(var client):
            let final = try client.clientFinalMessage(serverFirst: String(decoding: answer, as: UTF8.self))
            state = .scramFinal(client)
            return .send(Array(final.utf8))
        case .scramFinal(let client):
            try client.verify(serverFinal: String(decoding: answer, as: UTF8.self))
            state = .finished
            return .done
        case .finished:
            throw SCRAMClient.Failure("the broker sent more after the login was complete")
        }
    }
}
