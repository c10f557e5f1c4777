/// `security.protocol`: how connections to the brokers are made.
public enum KafkaSecurityProtocol: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Plain TCP. The default.
    case plaintext = "PLAINTEXT"
    /// TLS (`ssl.*` settings).
    case ssl = "SSL"
    /// SASL authentication over plain TCP (`sasl.*` settings).
    case saslPlaintext = "SASL_PLAINTEXT"
    /// SASL authentication over TLS.
    case saslSSL = "SASL_SSL"

    public var description: String { rawValue }

    /// Whether connections start with a TLS handshake.
    public var usesTLS: Bool { self == .ssl || self == .saslSSL }
    /// Whether connections authenticate with SASL after ApiVersions.
    public var usesSASL: Bool { self == .saslPlaintext || self == .saslSSL }
}
