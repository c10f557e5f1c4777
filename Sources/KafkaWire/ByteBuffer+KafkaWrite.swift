import NIOCore

// Writers for Kafka's primitive types. Each appends at the writer index and returns the number
// of bytes written. Fixed-width integers use ByteBuffer's own big-endian `writeInteger`.
// `flexible` selects the compact encodings of flexible message versions.

extension ByteBuffer {
    /// Writes an unsigned LEB128 varint (protocol level: compact lengths, tagged fields).
    @inlinable
    @discardableResult
    public mutating func writeUnsignedVarint(_ value: UInt32) -> Int {
        writeLEB128(value)
    }

    /// Writes a zigzag varint (record fields).
    @inlinable
    @discardableResult
    public mutating func writeVarint(_ value: Int32) -> Int {
        writeLEB128(Varint.zigzag(value))
    }

    /// Writes a zigzag varlong (record timestamp deltas).
    @inlinable
    @discardableResult
    public mutating func writeVarlong(_ value: Int64) -> Int {
        writeLEB128(Varint.zigzag(value))
    }

    @inlinable
    mutating func writeLEB128<T: FixedWidthInteger & UnsignedInteger>(_ value: T) -> Int {
        var v = value
        var n = 1
        while v >= 0x80 {
            writeInteger(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
            n += 1
        }
        writeInteger(UInt8(truncatingIfNeeded: v))
        return n
    }

    /// Writes a boolean as one byte, 0 or 1.
    @discardableResult
    public mutating func writeKafkaBool(_ value: Bool) -> Int {
        writeInteger(UInt8(value ? 1 : 0))
    }

    /// Writes a UUID as its 16 raw bytes.
    @discardableResult
    public mutating func writeKafkaUUID(_ value: KafkaUUID) -> Int {
        writeInteger(value.mostSignificantBits) + writeInteger(value.leastSignificantBits)
    }

    /// Writes a non-null string: int16 length, or compact (uvarint length+1) when flexible.
    @discardableResult
    public mutating func writeKafkaString(_ value: String, flexible: Bool) -> Int {
        writeKafkaNullableString(value, flexible: flexible)
    }

    /// Writes a nullable string: length −1 (or compact 0) for nil.
    @discardableResult
    public mutating func writeKafkaNullableString(_ value: String?, flexible: Bool) -> Int {
        guard let value else {
            return flexible ? writeUnsignedVarint(0) : writeInteger(Int16(-1))
        }
        let count = value.utf8.count
        let prefix =
            flexible ? writeUnsignedVarint(UInt32(count + 1)) : writeInteger(Int16(truncatingIfNeeded: count))
        return prefix + writeString(value)
    }

    /// Writes nullable bytes: int32 length (−1 for nil), or compact when flexible.
    @discardableResult
    public mutating func writeKafkaNullableBytes(_ value: ByteBuffer?, flexible: Bool) -> Int {
        guard let value else {
            return flexible ? writeUnsignedVarint(0) : writeInteger(Int32(-1))
        }
        let count = value.readableBytes
        let prefix = flexible ? writeUnsignedVarint(UInt32(count + 1)) : writeInteger(Int32(count))
        return prefix + writeImmutableBuffer(value)
    }

    /// Writes non-null bytes.
    @discardableResult
    public mutating func writeKafkaBytes(_ value: ByteBuffer, flexible: Bool) -> Int {
        writeKafkaNullableBytes(value, flexible: flexible)
    }

    /// Writes an array length: int32 count (−1 for null), or compact count+1 (0 for null).
    @discardableResult
    public mutating func writeKafkaArrayCount(_ count: Int?, flexible: Bool) -> Int {
        guard let count else {
            return flexible ? writeUnsignedVarint(0) : writeInteger(Int32(-1))
        }
        return flexible ? writeUnsignedVarint(UInt32(count + 1)) : writeInteger(Int32(count))
    }

    /// Writes an empty tagged-field section (one zero byte). Only for flexible versions.
    @discardableResult
    public mutating func writeEmptyTaggedFields() -> Int {
        writeInteger(UInt8(0))
    }
}
