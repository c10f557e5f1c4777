import KafkaWire
import NIOCore

/// Many records for one topic whose keys and values are ranges of one buffer: the shape a
/// line-oriented reader produces (a chunk of a file or of stdin, cut at delimiters).
///
/// `KafkaProducer.enqueue(_:)` appends a block's records straight from the buffer into batches,
/// without a ByteBuffer, a `KafkaProducerRecord` or any reference counting per record.
public struct KafkaRecordBlock: Sendable {
    /// A record: byte ranges of `bytes` (offsets from its reader index); nil is Kafka's null.
    public struct Record: Sendable, Hashable {
        public var key: Range<Int>?
        public var value: Range<Int>?

        public init(key: Range<Int>?, value: Range<Int>?) {
            self.key = key
            self.value = value
        }
    }

    public var topic: String
    /// An explicit partition for every record, or nil for the partitioner.
    public var partition: Int32?
    /// Headers added to every record.
    public var headers: [KafkaRecordHeader]
    /// The records' timestamp (ms since the epoch); nil means "now" when they are accepted.
    public var timestamp: Int64?
    /// The bytes the records' ranges point into.
    public var bytes: ByteBuffer
    /// The records, in order.
    public var records: [Record]

    public init(
        topic: String, partition: Int32? = nil, headers: [KafkaRecordHeader] = [], timestamp: Int64? = nil,
        bytes: ByteBuffer, records: [Record] = []
    ) {
        self.topic = topic
        self.partition = partition
        self.headers = headers
        self.timestamp = timestamp
        self.bytes = bytes
        self.records = records
    }

    /// Adds a record given by ranges of `bytes`.
    public mutating func append(key: Range<Int>? = nil, value: Range<Int>?) {
        records.append(Record(key: key, value: value))
    }

    /// Whether every range lies inside `bytes`.
    var rangesAreValid: Bool {
        let count = bytes.readableBytes
        return records.allSatisfy { record in
            (record.key.map { $0.lowerBound >= 0 && $0.upperBound <= count } ?? true)
                && (record.value.map { $0.lowerBound >= 0 && $0.upperBound <= count } ?? true)
        }
    }
}
