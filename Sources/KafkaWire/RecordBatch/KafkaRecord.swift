import NIOCore

/// A record as read back from a batch, with its absolute offset and timestamp.
public struct KafkaRecord: Hashable, Sendable {
    /// `baseOffset + offsetDelta`.
    public var offset: Int64
    /// `baseTimestamp + timestampDelta` (or the batch's max timestamp for LogAppendTime batches).
    public var timestamp: Int64
    public var key: ByteBuffer?
    public var value: ByteBuffer?
    public var headers: [KafkaRecordHeader]

    public init(offset: Int64, timestamp: Int64, key: ByteBuffer?, value: ByteBuffer?, headers: [KafkaRecordHeader]) {
        self.offset = offset
        self.timestamp = timestamp
        self.key = key
        self.value = value
        self.headers = headers
    }
}
