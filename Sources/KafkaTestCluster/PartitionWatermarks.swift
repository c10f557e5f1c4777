/// A partition's log start offset and high watermark, as a consumer sees them.
public struct PartitionWatermarks: Sendable, Hashable {
    /// The partition.
    public var partition: Int32
    /// The log start offset (the first offset still stored).
    public var low: Int64
    /// The high watermark (the offset the next record will get).
    public var high: Int64

    /// Creates watermarks.
    public init(partition: Int32, low: Int64, high: Int64) {
        self.partition = partition
        self.low = low
        self.high = high
    }
}
