/// The `sasl.*` settings: the mechanism and the credentials to log in with. The password is a
/// `KafkaSecret`: it never appears in descriptions, logs or errors.
public struct KafkaSASLConfiguration: Sendable, Hashable {
    /// `sasl.mechanism`.
    public var mechanism: KafkaSASLMechanism
    /// `sasl.username`, or `username` of `sasl.jaas.config`.
    public var username: String
    /// `sasl.password`, or `password` of `sasl.jaas.config`.
    public var password: KafkaSecret

    public init(mechanism: KafkaSASLMechanism, username: String, password: KafkaSecret) {
        self.mechanism = mechanism
        self.username = username
        self.password = password
    }
}

/// A SASL mechanism under its Kafka name.
public enum KafkaSASLMechanism: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// RFC 4616: the password is sent as it is, so use it over TLS only.
    case plain = "PLAIN"
    /// RFC 5802/7677 with SHA-256: the password never leaves the client.
    case scramSHA256 = "SCRAM-SHA-256"
    /// The same with SHA-512.
    case scramSHA512 = "SCRAM-SHA-512"

    public var description: String { rawValue }

    /// The Java login module `sasl.jaas.config` names for this mechanism.
    var loginModule: String {
        switch self {
        case .plain: "org.apache.kafka.common.security.plain.PlainLoginModule"
        case .scramSHA256, .scramSHA512: "org.apache.kafka.common.security.scram.ScramLoginModule"
        }
    }
}
