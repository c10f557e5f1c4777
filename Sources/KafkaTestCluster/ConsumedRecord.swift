/// A record read back by the driver's independent consumer (librdkafka, CRC checks on).
public struct ConsumedRecord: Sendable, Equatable, CustomStringConvertible {
    /// How ``timestamp`` was set.
    public enum TimestampType: String, Sendable, Hashable {
        /// Set by the producer (CreateTime).
        case create
        /// Set by the broker (LogAppendTime).
        case logAppend
        /// No timestamp (pre-0.10 message format).
        case none
    }

    /// The partition it was read from.
    public var partition: Int32
    /// Its offset in the partition.
    public var offset: Int64
    /// Its timestamp in milliseconds since the Unix epoch.
    public var timestamp: Int64
    /// Whether ``timestamp`` is the producer's or the broker's.
    public var timestampType: TimestampType
    /// The key; `nil` for a null key (an empty key is `[]`).
    public var key: [UInt8]?
    /// The value; `nil` for a null value (a tombstone).
    public var value: [UInt8]?
    /// The headers in record order; a header value may be null.
    public var headers: [(name: String, value: [UInt8]?)]

    /// Creates a record.
    public init(
        partition: Int32, offset: Int64, timestamp: Int64, timestampType: TimestampType,
        key: [UInt8]?, value: [UInt8]?, headers: [(name: String, value: [UInt8]?)] = []
    ) {
        self.partition = partition
        self.offset = offset
        self.timestamp = timestamp
        self.timestampType = timestampType
        self.key = key
        self.value = value
        self.headers = headers
    }

    /// Compares every field, headers in order.
    public static func == (lhs: ConsumedRecord, rhs: ConsumedRecord) -> Bool {
        lhs.partition == rhs.partition && lhs.offset == rhs.offset && lhs.timestamp == rhs.timestamp
            && lhs.timestampType == rhs.timestampType && lhs.key == rhs.key && lhs.value == rhs.value
            && lhs.headers.count == rhs.headers.count
            && zip(lhs.headers, rhs.headers).allSatisfy { $0.name == $1.name && $0.value == $1.value }
    }

    /// `p0@5 key=3B value=10B headers=1`.
    public var description: String {
        let key = self.key.map { "\($0.count)B" } ?? "null"
        let value = self.value.map { "\($0.count)B" } ?? "null"
        return "p\(partition)@\(offset) key=\(key) value=\(value) headers=\(headers.count)"
    }
}
