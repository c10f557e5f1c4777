import NIOCore

/// SaslHandshake request (key 17), v0–v1: names the SASL mechanism. Never flexible.
///
/// With v1 the tokens then travel in SaslAuthenticate requests; with v0 they went as raw frames.
public struct SaslHandshakeRequest: KafkaRequestMessage, Hashable {
    public static let apiKey = KafkaApiKey.saslHandshake
    public static let supportedVersions: ClosedRange<Int16> = 0...1
    public static let firstFlexibleVersion: Int16? = nil

    /// `Mechanism`: the SASL mechanism chosen by the client (`PLAIN`, `SCRAM-SHA-512`, …).
    public var mechanism: String

    /// Creates a request.
    public init(mechanism: String) {
        self.mechanism = mechanism
    }

    public func write(into buffer: inout ByteBuffer, version: Int16) throws {
        try Self.checkVersion(version)
        try buffer.writeKafkaString(
            mechanism, flexible: false, nullable: false, at: "SaslHandshakeRequest v\(version) .Mechanism")
    }
}
