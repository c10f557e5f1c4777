/// Where a record landed, as Kafka acknowledged it.
public struct KafkaRecordMetadata: Hashable, Sendable, CustomStringConvertible {
    public var topic: String
    public var partition: Int32
    /// The record's offset; −1 when unknown (acks=0, or a duplicate acknowledged without one).
    public var offset: Int64
    /// The record's timestamp: its create time, or the broker's log-append time when the topic
    /// uses LogAppendTime.
    public var timestamp: Int64
    /// Serialized key and value sizes in bytes (−1 for null), as Java's RecordMetadata reports.
    public var serializedKeySize: Int32
    public var serializedValueSize: Int32

    public init(
        topic: String, partition: Int32, offset: Int64, timestamp: Int64, serializedKeySize: Int32 = -1,
        serializedValueSize: Int32 = -1
    ) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.timestamp = timestamp
        self.serializedKeySize = serializedKeySize
        self.serializedValueSize = serializedValueSize
    }

    public var description: String { "\(topic)-\(partition)@\(offset)" }
}
