import KafkaWire

/// Why the producer could not accept or deliver a record.
public struct KafkaProducerError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Base: String, Hashable, Sendable {
            case invalidConfiguration
            case bufferExhausted
            case metadataTimeout
            case recordTooLarge
            case deliveryTimeout
            case brokerError
            case connectionFailed
            case requestTimeout
            case unknownTopicOrPartition
            case producerClosed
            case serializationFailed
            case protocolError
            case idempotenceFailed
            case encodingFailed
            case cancelled
            case deliveryReportsFull
            case authenticationFailed
        }
        fileprivate let base: Base

        /// A setting or a combination of settings is invalid; the message names the keys.
        public static let invalidConfiguration = Code(base: .invalidConfiguration)
        /// `buffer.memory` stayed full for `max.block.ms`.
        public static let bufferExhausted = Code(base: .bufferExhausted)
        /// The topic's metadata did not arrive within `max.block.ms`.
        public static let metadataTimeout = Code(base: .metadataTimeout)
        /// The record is larger than `max.request.size` or `buffer.memory`.
        public static let recordTooLarge = Code(base: .recordTooLarge)
        /// The record was not acknowledged within `delivery.timeout.ms`.
        public static let deliveryTimeout = Code(base: .deliveryTimeout)
        /// The broker answered with a non-retriable error (see `brokerErrorCode`).
        public static let brokerError = Code(base: .brokerError)
        /// No connection to a broker could be made.
        public static let connectionFailed = Code(base: .connectionFailed)
        /// A request got no answer within `request.timeout.ms`.
        public static let requestTimeout = Code(base: .requestTimeout)
        /// The partition does not exist (an explicit partition beyond the topic's count).
        public static let unknownTopicOrPartition = Code(base: .unknownTopicOrPartition)
        /// The producer was closed before the record was accepted or delivered.
        public static let producerClosed = Code(base: .producerClosed)
        /// A serializer threw.
        public static let serializationFailed = Code(base: .serializationFailed)
        /// A broker sent something this client cannot read.
        public static let protocolError = Code(base: .protocolError)
        /// The idempotent producer cannot go on: the brokers refused it a producer id or refused
        /// its idempotent writes (authorization, a broker too old). Every record not yet delivered
        /// fails with it, and so does every later send; `brokerErrorCode` says why.
        public static let idempotenceFailed = Code(base: .idempotenceFailed)

        /// A request could not be encoded at the version the broker offers (a field that version
        /// cannot express): a client-side failure, reported at once and not retried.
        public static let encodingFailed = Code(base: .encodingFailed)
        /// The task waiting to append (for metadata, `buffer.memory` or room for its delivery
        /// reports) was cancelled; the records from the failing one on were not accepted.
        public static let cancelled = Code(base: .cancelled)

        /// The caller's `KafkaDeliveryReports` stayed full (reports not read) for `max.block.ms`.
        public static let deliveryReportsFull = Code(base: .deliveryReportsFull)

        /// A broker could not be trusted or refused this client: the TLS handshake failed (its
        /// certificate is not signed by a trusted CA or does not name the host, or it refused this
        /// client's certificate) or the SASL login was refused (wrong password, mechanism not
        /// enabled). Reconnects keep to `reconnect.backoff.ms`; records waiting for metadata fail
        /// with it at once instead of at `max.block.ms`, as Java's `AuthenticationException` does.
        public static let authenticationFailed = Code(base: .authenticationFailed)

        public var description: String { base.rawValue }
    }

    /// What went wrong.
    public var code: Code
    /// A sentence naming the topic/partition, setting or broker concerned.
    public var message: String
    /// The broker's error code, for `.brokerError` (and for retriable errors that ran out of time).
    public var brokerErrorCode: KafkaErrorCode?
    /// The underlying error.
    public var cause: (any Error & Sendable)?
    /// For an error from a bulk `enqueue`: how many records before the failing one were
    /// accepted (they will be delivered and reported); the failing record is at this index.
    public var acceptedRecordCount: Int?

    /// Whether the error concerns only the record that caused it (too large, no such
    /// partition), so that a bulk caller may skip that record and go on with the next.
    public var isRecordSpecific: Bool {
        code == .recordTooLarge || code == .unknownTopicOrPartition || code == .serializationFailed
    }

    public init(
        _ code: Code, _ message: String, brokerErrorCode: KafkaErrorCode? = nil, cause: (any Error & Sendable)? = nil
    ) {
        self.code = code
        self.message = message
        self.brokerErrorCode = brokerErrorCode
        self.cause = cause
    }

    public var description: String {
        var text = "KafkaProducerError.\(code): \(message)"
        if let brokerErrorCode { text += " [\(brokerErrorCode)]" }
        if let cause { text += " (cause: \(cause))" }
        return text
    }
}
