/// Identifies a record given to `KafkaProducer.enqueue`: chosen by the caller (an input
/// position, a sequence number), so it is known before the record is appended. A bulk call
/// gives its records `firstID`, `firstID + 1`, ….
public typealias KafkaRecordID = UInt64

/// The outcome of one caller's records in one batch: every one of them was stored (at
/// consecutive offsets from `baseOffset`) or none was.
public struct KafkaDeliveryReport: Sendable {
    public var topicPartition: TopicPartition
    /// The first record's offset; −1 when unknown (acks=0) or when the batch failed.
    public var baseOffset: Int64
    /// The broker's log-append time for LogAppendTime topics, else −1.
    public var logAppendTime: Int64
    /// The records, in offset order.
    public var recordIDs: [KafkaRecordID]
    /// Each record's timestamp (create time), parallel to `recordIDs`.
    public var timestamps: [Int64]
    /// Why the batch failed; nil when it was stored.
    public var error: KafkaProducerError?

    public init(
        topicPartition: TopicPartition, baseOffset: Int64, logAppendTime: Int64, recordIDs: [KafkaRecordID],
        timestamps: [Int64], error: KafkaProducerError?
    ) {
        self.topicPartition = topicPartition
        self.baseOffset = baseOffset
        self.logAppendTime = logAppendTime
        self.recordIDs = recordIDs
        self.timestamps = timestamps
        self.error = error
    }

    /// Whether the records were stored.
    public var isSuccess: Bool { error == nil }

    /// The metadata of the record at `index` (position in `recordIDs`).
    public func metadata(at index: Int) -> KafkaRecordMetadata {
        KafkaRecordMetadata(
            topic: topicPartition.topic, partition: topicPartition.partition,
            offset: baseOffset >= 0 && error == nil ? baseOffset + Int64(index) : -1,
            timestamp: logAppendTime >= 0 ? logAppendTime : timestamps[index])
    }
}
