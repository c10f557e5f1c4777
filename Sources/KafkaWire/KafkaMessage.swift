import NIOCore

/// A request body the client can encode.
///
/// Encoding is deterministic: the same value and version always give the same bytes, so a retry
/// may re-encode instead of keeping the old frame.
public protocol KafkaRequestMessage: Sendable {
    /// The API this request belongs to.
    static var apiKey: KafkaApiKey { get }
    /// The versions this encoder writes.
    static var supportedVersions: ClosedRange<Int16> { get }
    /// The first flexible version (compact types, tagged fields), or nil if none is.
    static var firstFlexibleVersion: Int16? { get }

    /// Appends the body for `version`. Throws `.unsupportedVersion` outside `supportedVersions`,
    /// and `.invalidValue` when a field cannot be expressed in that version.
    func write(into buffer: inout ByteBuffer, version: Int16) throws
}

/// A response body the client can decode.
public protocol KafkaResponseMessage: Sendable {
    /// The API this response belongs to.
    static var apiKey: KafkaApiKey { get }
    /// The versions this decoder reads.
    static var supportedVersions: ClosedRange<Int16> { get }
    /// The first flexible version, or nil if none is.
    static var firstFlexibleVersion: Int16? { get }

    /// Decodes a complete body at `version`. The buffer holds exactly the body; bytes left over
    /// are an error (`.trailingBytes`).
    static func read(from buffer: inout ByteBuffer, version: Int16) throws -> Self
}

extension KafkaRequestMessage {
    /// Whether `version` uses the flexible encoding.
    public static func isFlexible(_ version: Int16) -> Bool {
        firstFlexibleVersion.map { version >= $0 } ?? false
    }

    /// Throws `.unsupportedVersion` unless this encoder writes `version`.
    public static func checkVersion(_ version: Int16) throws {
        guard supportedVersions.contains(version) else {
            throw KafkaWireError(
                .unsupportedVersion,
                "\(apiKey) request v\(version) is not supported (supported: v\(supportedVersions.lowerBound)–v\(supportedVersions.upperBound))",
                location: "\(apiKey)Request")
        }
    }
}

extension KafkaResponseMessage {
    /// Whether `version` uses the flexible encoding.
    public static func isFlexible(_ version: Int16) -> Bool {
        firstFlexibleVersion.map { version >= $0 } ?? false
    }

    /// Throws `.unsupportedVersion` unless this decoder reads `version`.
    public static func checkVersion(_ version: Int16) throws {
        guard supportedVersions.contains(version) else {
            throw KafkaWireError(
                .unsupportedVersion,
                "\(apiKey) response v\(version) is not supported (supported: v\(supportedVersions.lowerBound)–v\(supportedVersions.upperBound))",
                location: "\(apiKey)Response")
        }
    }

    /// Decodes a body and requires that it used every byte.
    public static func readComplete(from buffer: inout ByteBuffer, version: Int16) throws -> Self {
        let value = try read(from: &buffer, version: version)
        guard buffer.readableBytes == 0 else {
            throw KafkaWireError(
                .trailingBytes, "\(buffer.readableBytes) bytes left after the body",
                location: "\(apiKey)Response v\(version)")
        }
        return value
    }
}
