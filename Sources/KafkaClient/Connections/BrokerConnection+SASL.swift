import KafkaWire
import Logging
import NIOCore
import NIOSSL

/// Logging in: SaslHandshake, then SaslAuthenticate round trips driven by `SASLClientExchange`;
/// and logging in again before the broker's session ends (KIP-368).
extension BrokerConnection {
    /// Logs in on a connection whose API versions are negotiated. Succeeds with the session's
    /// lifetime in milliseconds (0: the broker sets none).
    static func authenticate(
        handler: NIOLoopBound<BrokerConnectionHandler>, broker: BrokerIdentity, sasl: KafkaSASLConfiguration,
        apiVersions: [KafkaApiKey: Int16]
    ) -> EventLoopFuture<Int64> {
        let eventLoop = handler.eventLoop
        // SaslHandshake v0 means the SASL tokens follow raw, outside Kafka frames (Kafka < 1.0).
        guard let handshakeVersion = apiVersions[.saslHandshake], handshakeVersion >= 1,
            let authenticateVersion = apiVersions[.saslAuthenticate]
        else {
            return eventLoop.makeFailedFuture(
                KafkaProducerError(
                    .authenticationFailed,
                    "\(broker) offers no SaslHandshake v1 and SaslAuthenticate (it does not authenticate, or is "
                        + "older than Kafka 1.0): check security.protocol"))
        }
        let handshake = eventLoop.makePromise(of: SaslHandshakeResponse.self)
        handler.value.send(
            SaslHandshakeRequest(mechanism: sasl.mechanism.rawValue), version: handshakeVersion, promise: handshake,
            bypassingHold: true)
        return handshake.futureResult.flatMap { response in
            guard response.errorCode == 0 else {
                let code = KafkaErrorCode(rawValue: response.errorCode)
                let enabled = response.mechanisms.isEmpty ? "none" : response.mechanisms.joined(separator: ", ")
                return eventLoop.makeFailedFuture(
                    KafkaProducerError(
                        .authenticationFailed,
                        "\(broker) refused sasl.mechanism=\(sasl.mechanism) with \(code) (it enables: \(enabled))",
                        brokerErrorCode: code))
            }
            let exchange = SASLClientExchange(configuration: sasl)
            return exchangeStep(
                handler: handler, broker: broker, exchange: exchange, message: exchange.start(),
                version: authenticateVersion)
        }
    }

    /// Sends `message` and feeds the answer to `exchange`, until it is done.
    private static func exchangeStep(
        handler: NIOLoopBound<BrokerConnectionHandler>, broker: BrokerIdentity, exchange: SASLClientExchange,
        message: [UInt8], version: Int16
    ) -> EventLoopFuture<Int64> {
        let eventLoop = handler.eventLoop
        let promise = eventLoop.makePromise(of: SaslAuthenticateResponse.self)
        handler.value.send(
            SaslAuthenticateRequest(authBytes: ByteBuffer(bytes: message)), version: version, promise: promise,
            bypassingHold: true)
        return promise.futureResult.flatMap { response in
            let mechanism = exchange.configuration.mechanism
            guard response.errorCode == 0 else {
                let code = KafkaErrorCode(rawValue: response.errorCode)
                return eventLoop.makeFailedFuture(
                    KafkaProducerError(
                        .authenticationFailed,
                        "\(broker) refused the \(mechanism) login of user \(exchange.configuration.username) with "
                            + "\(code)\(response.errorMessage.map { ": \($0)" } ?? "")",
                        brokerErrorCode: code))
            }
            var exchange = exchange
            do {
                switch try exchange.receive(Array(response.authBytes.readableBytesView)) {
                case .done:
                    return eventLoop.makeSucceededFuture(response.sessionLifetimeMs)
                case .send(let next):
                    return exchangeStep(
                        handler: handler, broker: broker, exchange: exchange, message: next, version: version)
                }
            } catch {
                return eventLoop.makeFailedFuture(
                    KafkaProducerError(
                        .authenticationFailed, "the \(mechanism) login to \(broker) failed: \(error)", cause: error))
            }
        }
    }

    /// Arms the next login for a random point between 85 % and 95 % of the session's lifetime, as
    /// Java's client does, so that connections made together do not log in again together.
    func scheduleReauthentication(sessionLifetimeMs: Int64) {
        guard sessionLifetimeMs > 0, sasl != nil else { return }
        let delay = TimeAmount.milliseconds(Int64(Double(sessionLifetimeMs) * Double.random(in: 0.85...0.95)))
        let scheduled = eventLoop.scheduleTask(in: delay) { [weak self] in self?.reauthenticate() }
        closeFuture.whenComplete { _ in scheduled.cancel() }
    }

    /// Holds new requests, logs in again behind the ones in flight (Kafka answers in order), then
    /// lets the held ones go. A refused login closes the connection: its requests are retried on
    /// a new one, whose login reports the refusal.
    private func reauthenticate() {
        guard let sasl, isActive else { return }
        logger.debug("Logging in again before the session ends.")
        handler.value.holdRequests()
        let broker = BrokerIdentity(nodeId: nodeId, address: address)
        Self.authenticate(handler: handler, broker: broker, sasl: sasl, apiVersions: apiVersions)
            .hop(to: eventLoop)
            .whenComplete { [self] result in
                switch result {
                case .success(let lifetime):
                    handler.value.releaseRequests()
                    logger.debug("Logged in again.", metadata: ["sessionLifetimeMs": "\(lifetime)"])
                    scheduleReauthentication(sessionLifetimeMs: lifetime)
                case .failure(let error):
                    logger.warning(
                        "Logging in again failed; closing the connection.", metadata: ["error": "\(error)"])
                    handler.value.close()
                }
            }
    }

    /// The SNI and certificate name for `host`; nil for an IP address, which SNI cannot carry
    /// (the certificate is then checked against the IP connected to).
    static func serverName(for host: String) -> String? {
        (try? SocketAddress(ipAddress: host, port: 0)) == nil ? host : nil
    }

    /// The `.authenticationFailed` error for a connection setup that failed in the TLS handshake,
    /// with what probably went wrong; nil when `error` is no TLS failure.
    static func securityFailure(_ error: any Error, broker: BrokerIdentity, tls: Bool) -> KafkaProducerError? {
        guard tls, let cause = tlsCause(of: error) else { return nil }
        let text = "\(cause)"
        let hint: String
        if let extra = cause as? NIOSSLExtraError, extra == .failedToValidateHostname {
            hint =
                "its certificate does not name \(broker.address.host) (turn the check off with "
                + "ssl.endpoint.identification.algorithm= only if you must)"
        } else if text.contains("CERTIFICATE_VERIFY_FAILED") {
            hint =
                "its certificate is not signed by a CA of ssl.truststore.location (or the system's trust store), or "
                + "has expired"
        } else if text.contains("ALERT_CERTIFICATE_REQUIRED") || text.contains("ALERT_BAD_CERTIFICATE")
            || text.contains("ALERT_UNKNOWN_CA") || text.contains("ALERT_HANDSHAKE_FAILURE")
        {
            hint = "it refused this client's certificate (ssl.keystore.location) or the TLS versions offered"
        } else if text.contains("WRONG_VERSION_NUMBER") || text.contains("eofDuringHandshake") {
            hint = "it does not speak TLS on this port, or closed the handshake (check security.protocol)"
        } else {
            hint = "the handshake did not complete"
        }
        return KafkaProducerError(
            .authenticationFailed, "TLS with \(broker) failed: \(hint)", cause: cause)
    }

    private static func tlsCause(of error: any Error) -> (any Error & Sendable)? {
        switch error {
        case let error as NIOSSLError: return error
        case let error as NIOSSLExtraError: return error
        case let error as BoringSSLError: return error
        case let error as KafkaProducerError:
            return error.cause.flatMap { tlsCause(of: $0) }
        default: return nil
        }
    }
}
