import NIOCore

/// SaslAuthenticate request (key 36), v0–v2: one SASL token from the client. v2 is flexible.
public struct SaslAuthenticateRequest: KafkaRequestMessage, Hashable {
    public static let apiKey = KafkaApiKey.saslAuthenticate
    public static let supportedVersions: ClosedRange<Int16> = 0...2
    public static let firstFlexibleVersion: Int16? = 2

    /// `AuthBytes`: the token, as the SASL mechanism defines it.
    public var authBytes: ByteBuffer

    /// Creates a request.
    public init(authBytes: ByteBuffer) {
        self.authBytes = authBytes
    }

    public func write(into buffer: inout ByteBuffer, version: Int16) throws {
        try Self.checkVersion(version)
        let flexible = Self.isFlexible(version)
        buffer.writeKafkaBytes(authBytes, flexible: flexible)
        buffer.writeKafkaTaggedFieldsIfFlexible(flexible)
    }
}
