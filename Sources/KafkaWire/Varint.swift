/// Sizes of Kafka's two varint families, used to compute record and frame lengths up front
/// instead of back-patching them.
///
/// - Unsigned varints (protocol level: compact lengths, tag headers) are plain LEB128.
/// - Signed varints and varlongs (inside records) are zigzag-encoded first.
public enum Varint {
    /// Bytes an unsigned LEB128 varint of `value` takes (1…5).
    @inlinable
    public static func size(unsigned value: UInt32) -> Int {
        leb128Size(value)
    }

    /// Bytes a zigzag varint of `value` takes (1…5).
    @inlinable
    public static func size(_ value: Int32) -> Int {
        leb128Size(zigzag(value))
    }

    /// Bytes a zigzag varlong of `value` takes (1…10).
    @inlinable
    public static func size(_ value: Int64) -> Int {
        leb128Size(zigzag(value))
    }

    @inlinable
    static func leb128Size<T: FixedWidthInteger & UnsignedInteger>(_ value: T) -> Int {
        // 7 payload bits per byte; zero still takes one byte.
        max(1, (T.bitWidth - value.leadingZeroBitCount + 6) / 7)
    }

    @inlinable
    public static func zigzag(_ value: Int32) -> UInt32 {
        UInt32(bitPattern: (value << 1) ^ (value >> 31))
    }

    @inlinable
    public static func zigzag(_ value: Int64) -> UInt64 {
        UInt64(bitPattern: (value << 1) ^ (value >> 63))
    }

    @inlinable
    public static func unzigzag(_ value: UInt32) -> Int32 {
        Int32(bitPattern: (value >> 1) ^ (0 &- (value & 1)))
    }

    @inlinable
    public static func unzigzag(_ value: UInt64) -> Int64 {
        Int64(bitPattern: (value >> 1) ^ (0 &- (value & 1)))
    }
}
