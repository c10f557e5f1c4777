/// Byte offsets of RecordBatch v2 (magic 2), from the start of the batch.
///
/// The CRC-32C covers `attributes` through the last byte of the batch; `baseOffset`,
/// `batchLength`, `partitionLeaderEpoch`, `magic` and the CRC itself lie outside it.
public enum RecordBatchLayout {
    public static let baseOffset = 0
    public static let batchLength = 8
    public static let partitionLeaderEpoch = 12
    public static let magic = 16
    public static let crc = 17
    public static let attributes = 21
    public static let lastOffsetDelta = 23
    public static let baseTimestamp = 27
    public static let maxTimestamp = 35
    public static let producerId = 43
    public static let producerEpoch = 51
    public static let baseSequence = 53
    public static let recordsCount = 57
    /// Where the records (or their compressed block) begin; also the header's size.
    public static let records = 61
    /// The bytes `batchLength` does not count (baseOffset and batchLength itself).
    public static let logOverhead = 12

    /// The largest record framing overhead besides key, value and headers
    /// (`DefaultRecord.MAX_RECORD_OVERHEAD`), for size estimates.
    public static let maximumRecordOverhead = 21
    /// The smallest possible record: seven one-byte fields. Bounds record counts against input.
    public static let minimumRecordSize = 7

    /// Attribute bits.
    public static let compressionMask: Int16 = 0x07
    public static let timestampTypeBit: Int16 = 0x08
    public static let transactionalBit: Int16 = 0x10
    public static let controlBit: Int16 = 0x20
    public static let deleteHorizonBit: Int16 = 0x40

    /// The magic byte of the only batch format Produce v3+ accepts.
    public static let currentMagic: Int8 = 2
}
