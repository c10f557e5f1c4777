import NIOCore

/// A decoded RecordBatch v2: its header fields and its records.
public struct RecordBatch: Hashable, Sendable {
    public var baseOffset: Int64
    public var batchLength: Int32
    public var partitionLeaderEpoch: Int32
    public var magic: Int8
    public var crc: UInt32
    public var attributes: Int16
    public var lastOffsetDelta: Int32
    public var baseTimestamp: Int64
    public var maxTimestamp: Int64
    public var producerId: Int64
    public var producerEpoch: Int16
    public var baseSequence: Int32
    public var recordsCount: Int32
    public var records: [KafkaRecord]

    /// The codec named by attribute bits 0–2.
    public var compression: KafkaCompression.Codec {
        KafkaCompression.Codec(rawValue: attributes & RecordBatchLayout.compressionMask) ?? .none
    }
    /// Whether timestamps were set by the broker (LogAppendTime) rather than the producer.
    public var isLogAppendTime: Bool { attributes & RecordBatchLayout.timestampTypeBit != 0 }
    public var isTransactional: Bool { attributes & RecordBatchLayout.transactionalBit != 0 }
    public var isControlBatch: Bool { attributes & RecordBatchLayout.controlBit != 0 }
    /// The idempotence fields.
    public var producerState: KafkaProducerState {
        KafkaProducerState(
            producerId: producerId, producerEpoch: producerEpoch, baseSequence: baseSequence,
            isTransactional: isTransactional)
    }
}
