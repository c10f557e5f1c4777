/// A record batch as the mock broker stores it, fetched with a raw Fetch v4 and decoded by
/// kafka-python's record reader, independently of Tributary's own codec.
public struct StoredBatch: Sendable, Hashable {
    /// The offset the broker assigned to the first record.
    public var baseOffset: Int64
    /// The offset of the last record relative to ``baseOffset``, as the producer wrote it.
    public var lastOffsetDelta: Int32
    /// The partition leader epoch field, as the producer wrote it.
    public var partitionLeaderEpoch: Int32
    /// The message format (2 for every batch Tributary writes).
    public var magic: Int8
    /// The producer id, or -1 for a non-idempotent producer.
    public var producerId: Int64
    /// The producer epoch, or -1.
    public var producerEpoch: Int16
    /// The sequence number of the first record, or -1.
    public var baseSequence: Int32
    /// The record count field.
    public var recordCount: Int32
    /// The codec id from the attributes: 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd.
    public var compression: Int8
    /// The timestamp type bit: 0 CreateTime, 1 LogAppendTime.
    public var timestampType: Int8
    /// The first timestamp field (ms).
    public var firstTimestamp: Int64
    /// The max timestamp field (ms).
    public var maxTimestamp: Int64
    /// Whether the CRC-32C matches the batch bytes (the mock itself never checks it).
    public var isCRCValid: Bool
    /// Whether the transactional attribute bit is set.
    public var isTransactional: Bool
    /// Whether the control attribute bit is set.
    public var isControl: Bool
    /// The batch's size including the offset and length fields.
    public var sizeInBytes: Int

    /// Creates a stored batch description.
    public init(
        baseOffset: Int64, lastOffsetDelta: Int32, partitionLeaderEpoch: Int32, magic: Int8,
        producerId: Int64, producerEpoch: Int16, baseSequence: Int32, recordCount: Int32,
        compression: Int8, timestampType: Int8, firstTimestamp: Int64, maxTimestamp: Int64,
        isCRCValid: Bool, isTransactional: Bool, isControl: Bool, sizeInBytes: Int
    ) {
        self.baseOffset = baseOffset
        self.lastOffsetDelta = lastOffsetDelta
        self.partitionLeaderEpoch = partitionLeaderEpoch
        self.magic = magic
        self.producerId = producerId
        self.producerEpoch = producerEpoch
        self.baseSequence = baseSequence
        self.recordCount = recordCount
        self.compression = compression
        self.timestampType = timestampType
        self.firstTimestamp = firstTimestamp
        self.maxTimestamp = maxTimestamp
        self.isCRCValid = isCRCValid
        self.isTransactional = isTransactional
        self.isControl = isControl
        self.sizeInBytes = sizeInBytes
    }
}
