/// An error raised while encoding or decoding Kafka's wire format.
///
/// Decoders throw only for malformed input (a frame that is complete but wrong); they never
/// trap and never allocate more than the input can justify.
public struct KafkaWireError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, as a closed set callers can switch on.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Base: String, Hashable, Sendable {
            case truncated
            case malformedVarint
            case invalidLength
            case invalidValue
            case unsupportedVersion
            case frameTooLarge
            case corruptRecordBatch
            case crcMismatch
            case compressionFailed
            case decompressionFailed
            case unsupportedCompression
            case trailingBytes
        }
        fileprivate let base: Base

        /// The input ended before a field was complete.
        public static let truncated = Code(base: .truncated)
        /// A varint ran past its maximum length.
        public static let malformedVarint = Code(base: .malformedVarint)
        /// A length or count is negative where that is not allowed, or larger than the input.
        public static let invalidLength = Code(base: .invalidLength)
        /// A field holds a value the protocol forbids (bad UTF-8, a null where none is allowed, …).
        public static let invalidValue = Code(base: .invalidValue)
        /// The message has no encoding at the requested version.
        public static let unsupportedVersion = Code(base: .unsupportedVersion)
        /// A frame announced a size above the configured maximum.
        public static let frameTooLarge = Code(base: .frameTooLarge)
        /// A record batch is structurally wrong (magic, counts, record lengths).
        public static let corruptRecordBatch = Code(base: .corruptRecordBatch)
        /// A record batch's CRC-32C does not match its bytes.
        public static let crcMismatch = Code(base: .crcMismatch)
        /// The compression library refused to compress.
        public static let compressionFailed = Code(base: .compressionFailed)
        /// A compressed block is malformed, or expands beyond the allowed size.
        public static let decompressionFailed = Code(base: .decompressionFailed)
        /// The attributes name a codec this build does not know.
        public static let unsupportedCompression = Code(base: .unsupportedCompression)
        /// Bytes were left over after a structure that must end its input.
        public static let trailingBytes = Code(base: .trailingBytes)

        public var description: String { base.rawValue }
    }

    /// What went wrong.
    public var code: Code
    /// A sentence for people, naming the value that was wrong.
    public var message: String
    /// Where in the message it happened, as a schema path (`ProduceResponse v9 .Responses[0].Name`).
    public var location: String
    /// The underlying error, when another layer reported it.
    public var cause: (any Error & Sendable)?

    public init(
        _ code: Code, _ message: String, location: String = "", cause: (any Error & Sendable)? = nil
    ) {
        self.code = code
        self.message = message
        self.location = location
        self.cause = cause
    }

    public var description: String {
        var text = "KafkaWireError.\(code)"
        if !location.isEmpty { text += " at \(location)" }
        text += ": \(message)"
        if let cause { text += " (cause: \(cause))" }
        return text
    }
}
