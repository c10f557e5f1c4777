import NIOCore

/// SaslHandshake response (key 17), v0–v1: whether the mechanism is enabled, and which are.
public struct SaslHandshakeResponse: KafkaResponseMessage, Hashable {
    public static let apiKey = KafkaApiKey.saslHandshake
    public static let supportedVersions: ClosedRange<Int16> = 0...1
    public static let firstFlexibleVersion: Int16? = nil

    /// `ErrorCode`: the error code (UNSUPPORTED_SASL_MECHANISM is 33), or 0.
    public var errorCode: Int16
    /// `Mechanisms`: the mechanisms enabled on the broker.
    public var mechanisms: [String]

    /// Creates a response.
    public init(errorCode: Int16 = 0, mechanisms: [String]) {
        self.errorCode = errorCode
        self.mechanisms = mechanisms
    }

    public static func read(from buffer: inout ByteBuffer, version: Int16) throws -> SaslHandshakeResponse {
        try checkVersion(version)
        return try withKafkaLocation("SaslHandshakeResponse v\(version) ") {
            let errorCode = try buffer.readKafkaInteger(as: Int16.self, at: ".ErrorCode")
            let mechanisms = try buffer.readKafkaArray(flexible: false, minimumElementSize: 2, at: ".Mechanisms") {
                try $0.readKafkaString(flexible: false, at: "")
            }
            return SaslHandshakeResponse(errorCode: errorCode, mechanisms: mechanisms)
        }
    }
}
