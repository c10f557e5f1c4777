import KafkaWire
import NIOCore

/// A record to send: topic, optional partition, key, value, headers and timestamp.
///
/// Keys and values are bytes already serialized (see `KafkaSerializer` for typed values). A
/// ByteBuffer slice of a larger read buffer shares its storage, so building records from one
/// big buffer allocates nothing per record.
public struct KafkaProducerRecord: Sendable {
    /// The topic.
    public var topic: String
    /// An explicit partition, or nil to let the partitioner choose.
    public var partition: Int32?
    /// The key; nil is Kafka's null key (partitioned by the null-key strategy).
    public var key: ByteBuffer?
    /// The value; nil is Kafka's null value (a tombstone on compacted topics).
    public var value: ByteBuffer?
    /// Record headers.
    public var headers: [KafkaRecordHeader]
    /// Milliseconds since the epoch; nil means "now" when the record is accepted.
    public var timestamp: Int64?

    public init(
        topic: String, partition: Int32? = nil, key: ByteBuffer? = nil, value: ByteBuffer?,
        headers: [KafkaRecordHeader] = [], timestamp: Int64? = nil
    ) {
        self.topic = topic
        self.partition = partition
        self.key = key
        self.value = value
        self.headers = headers
        self.timestamp = timestamp
    }
}
