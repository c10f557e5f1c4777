import NIOCore

/// SaslAuthenticate response (key 36), v0–v2: the broker's SASL token, or why it refused.
public struct SaslAuthenticateResponse: KafkaResponseMessage, Hashable {
    public static let apiKey = KafkaApiKey.saslAuthenticate
    public static let supportedVersions: ClosedRange<Int16> = 0...2
    public static let firstFlexibleVersion: Int16? = 2

    /// `ErrorCode`: the error code (SASL_AUTHENTICATION_FAILED is 58), or 0.
    public var errorCode: Int16
    /// `ErrorMessage`: the error message, or nil.
    public var errorMessage: String?
    /// `AuthBytes`: the broker's token, as the SASL mechanism defines it.
    public var authBytes: ByteBuffer
    /// `SessionLifetimeMs` (v1+): after this many ms the client must re-authenticate on the
    /// connection; 0 (also before v1) means no limit.
    public var sessionLifetimeMs: Int64

    /// Creates a response.
    public init(errorCode: Int16 = 0, errorMessage: String? = nil, authBytes: ByteBuffer, sessionLifetimeMs: Int64 = 0)
    {
        self.errorCode = errorCode
        self.errorMessage = errorMessage
        self.authBytes = authBytes
        self.sessionLifetimeMs = sessionLifetimeMs
    }

    public static func read(from buffer: inout ByteBuffer, version: Int16) throws -> SaslAuthenticateResponse {
        try checkVersion(version)
        let flexible = isFlexible(version)
        return try withKafkaLocation("SaslAuthenticateResponse v\(version) ") {
            let errorCode = try buffer.readKafkaInteger(as: Int16.self, at: ".ErrorCode")
            let errorMessage = try buffer.readKafkaNullableString(flexible: flexible, at: ".ErrorMessage")
            let authBytes = try buffer.readKafkaBytes(flexible: flexible, at: ".AuthBytes")
            var sessionLifetimeMs: Int64 = 0
            if version >= 1 {
                sessionLifetimeMs = try buffer.readKafkaInteger(at: ".SessionLifetimeMs")
            }
            if flexible { try buffer.readKafkaTaggedFields(at: "") }
            return SaslAuthenticateResponse(
                errorCode: errorCode, errorMessage: errorMessage, authBytes: authBytes,
                sessionLifetimeMs: sessionLifetimeMs)
        }
    }
}
