import NIOCore

/// What requests and responses share: the API and the versions this codec handles.
public protocol KafkaVersionedMessage: Sendable {
    /// The API this message belongs to.
    static var apiKey: KafkaApiKey { get }
    /// The versions this codec handles.
    static var supportedVersions: ClosedRange<Int16> { get }
    /// The first flexible version (compact types, tagged fields), or nil if none is.
    static var firstFlexibleVersion: Int16? { get }
}

/// A request body the client can encode.
///
/// Encoding is deterministic: the same value and version always give the same bytes, so a retry
/// may re-encode instead of keeping the old frame.
public protocol KafkaRequestMessage: KafkaVersionedMessage {
    /// Appends the body for `version`. Throws `.unsupportedVersion` outside `supportedVersions`,
    /// and `.invalidValue` when a field cannot be expressed in that version.
    func write(into buffer: inout ByteBuffer, version: Int16) throws
}

/// A response body the client can decode.
public protocol KafkaResponseMessage: KafkaVersionedMessage {
    /// Decodes a body at `version`, leaving any bytes after it unread.
    static func read(from buffer: inout ByteBuffer, version: Int16) throws -> Self
}

extension KafkaVersionedMessage {
    /// Whether `version` uses the flexible encoding.
    public static func isFlexible(_ version: Int16) -> Bool {
        firstFlexibleVersion.map { version >= $0 } ?? false
    }

    /// Throws `.unsupportedVersion` unless this codec handles `version`.
    public static func checkVersion(_ version: Int16) throws {
        guard supportedVersions.contains(version) else {
            let kind = Self.self is any KafkaRequestMessage.Type ? "Request" : "Response"
            throw KafkaWireError(
                .unsupportedVersion,
                "\(apiKey) \(kind.lowercased()) v\(version) is not supported (supported: v\(supportedVersions.lowerBound)–v\(supportedVersions.upperBound))",
                location: "\(apiKey)\(kind)")
        }
    }
}

extension KafkaResponseMessage {
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
