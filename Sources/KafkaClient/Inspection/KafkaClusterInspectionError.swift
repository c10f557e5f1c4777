import KafkaWire

/// Why a cluster could not be inspected at all. What goes wrong with one broker or one resource
/// after the bootstrap is recorded in the `KafkaClusterDescription` instead.
public struct KafkaClusterInspectionError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Base: String, Hashable, Sendable {
            case bootstrapFailed
            case metadataFailed
            case unsupportedBroker
        }
        fileprivate let base: Base

        /// No bootstrap server could be connected to (and its API versions learned).
        public static let bootstrapFailed = Code(base: .bootstrapFailed)
        /// The Metadata request failed or its answer could not be read.
        public static let metadataFailed = Code(base: .metadataFailed)
        /// The broker offers no Metadata or DescribeConfigs version this client speaks.
        public static let unsupportedBroker = Code(base: .unsupportedBroker)

        public var description: String { base.rawValue }
    }

    public var code: Code
    /// A sentence naming the broker(s) concerned.
    public var message: String
    public var cause: (any Error & Sendable)?

    public init(_ code: Code, _ message: String, cause: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    public var description: String { message }
}
