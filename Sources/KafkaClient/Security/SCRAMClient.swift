import Crypto

/// The client side of SCRAM (RFC 5802, with SHA-256 or SHA-512 per RFC 7677 and Kafka's
/// KIP-84), without I/O: messages in, messages out. No channel binding (`n,,`), as Kafka's.
///
/// `clientFirstMessage` → the broker's server-first → `clientFinalMessage(serverFirst:)` → the
/// broker's server-final → `verify(serverFinal:)`.
struct SCRAMClient {
    enum Hash: Sendable {
        case sha256, sha512
    }

    let hash: Hash
    let username: String
    let password: KafkaSecret
    let clientNonce: String
    /// Set by `clientFinalMessage`: what the broker's final message must prove.
    private var expectedServerSignature: [UInt8]?

    init(hash: Hash, username: String, password: KafkaSecret, clientNonce: String) {
        self.hash = hash
        self.username = username
        self.password = password
        self.clientNonce = clientNonce
    }

    /// A nonce of 24 random bytes, base64 (printable, no commas).
    static func makeNonce() -> String {
        var generator = SystemRandomNumberGenerator()
        return Base64.encode((0..<24).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }

    /// `n=` of the messages: `=` and `,` escaped as RFC 5802 says.
    var escapedUsername: String {
        username.replacing("=", with: "=3D").replacing(",", with: "=2C")
    }

    var clientFirstMessageBare: String { "n=\(escapedUsername),r=\(clientNonce)" }

    var clientFirstMessage: String { "n,," + clientFirstMessageBare }

    /// Answers the broker's first message with the proof.
    ///
    /// - Throws: `SCRAMClient.Failure` when the message is malformed, its nonce does not extend
    ///   ours, or it asks for fewer than 4096 iterations (RFC 7677's minimum, which Kafka keeps).
    mutating func clientFinalMessage(serverFirst: String) throws(Failure) -> String {
        let fields = Self.fields(serverFirst)
        if let error = fields["e"] { throw Failure("the broker refused the login: \(error)") }
        guard let nonce = fields["r"], let saltText = fields["s"], let iterationText = fields["i"] else {
            throw Failure("the broker's first SCRAM message lacks r=, s= or i=")
        }
        guard nonce.hasPrefix(clientNonce), nonce.count > clientNonce.count else {
            throw Failure("the broker's nonce does not extend this client's")
        }
        guard let salt = Base64.decode(Substring(saltText)), !salt.isEmpty else {
            throw Failure("the broker's salt is not base64")
        }
        guard let iterations = Int(iterationText), iterations >= 4096, iterations <= 1_000_000 else {
            throw Failure("the broker asks for \(iterationText) iterations (4096 to 1000000 are accepted)")
        }
        let withoutProof = "c=biws,r=\(nonce)"
        let authMessage = Array("\(clientFirstMessageBare),\(serverFirst),\(withoutProof)".utf8)
        let salted = saltedPassword(salt: salt, iterations: iterations)
        let clientKey = hmac(key: salted, Array("Client Key".utf8))
        let storedKey = digest(clientKey)
        let clientSignature = hmac(key: storedKey, authMessage)
        let proof = zip(clientKey, clientSignature).map { $0 ^ $1 }
        let serverKey = hmac(key: salted, Array("Server Key".utf8))
        expectedServerSignature = hmac(key: serverKey, authMessage)
        return "\(withoutProof),p=\(Base64.encode(proof))"
    }

    /// Checks the broker's final message: it proves the broker knows the password's keys.
    func verify(serverFinal: String) throws(Failure) {
        let fields = Self.fields(serverFinal)
        if let error = fields["e"] { throw Failure("the broker refused the login: \(error)") }
        guard let expected = expectedServerSignature else { throw Failure("no client-final message was sent") }
        guard let text = fields["v"], let signature = Base64.decode(Substring(text)) else {
            throw Failure("the broker's final SCRAM message has no v=")
        }
        guard signature == expected else {
            throw Failure("the broker's SCRAM signature is wrong: it does not know this user's credentials")
        }
    }

    struct Failure: Error, Sendable, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    // MARK: Math

    /// `Hi(password, salt, i)`: PBKDF2 with HMAC as the PRF and one block.
    func saltedPassword(salt: [UInt8], iterations: Int) -> [UInt8] {
        let key = Array(password.value.utf8)
        var block = hmac(key: key, salt + [0, 0, 0, 1])
        var result = block
        for _ in 1..<iterations {
            block = hmac(key: key, block)
            for index in result.indices { result[index] ^= block[index] }
        }
        return result
    }

    func hmac(key: [UInt8], _ message: [UInt8]) -> [UInt8] {
        let symmetricKey = SymmetricKey(data: key)
        switch hash {
        case .sha256: return Array(HMAC<SHA256>.authenticationCode(for: message, using: symmetricKey))
        case .sha512: return Array(HMAC<SHA512>.authenticationCode(for: message, using: symmetricKey))
        }
    }

    func digest(_ bytes: [UInt8]) -> [UInt8] {
        switch hash {
        case .sha256: return Array(SHA256.hash(data: bytes))
        case .sha512: return Array(SHA512.hash(data: bytes))
        }
    }

    /// `k=value` pairs of a SCRAM message (a value may hold `=`).
    static func fields(_ message: String) -> [String: String] {
        var result: [String: String] = [:]
        for part in message.split(separator: ",", omittingEmptySubsequences: true) {
            guard part.count >= 2, part[part.index(after: part.startIndex)] == "=" else { continue }
            let key = String(part[part.startIndex])
            if result[key] == nil { result[key] = String(part.dropFirst(2)) }
        }
        return result
    }
}
