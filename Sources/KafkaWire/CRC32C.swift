import CKafkaCRC32C
import NIOCore

/// CRC-32C (Castagnoli), the checksum of RecordBatch v2.
///
/// Reflected polynomial 0x82F63B78, initial value and final XOR 0xFFFFFFFF ("123456789" →
/// 0xE3069283). It is not zlib's CRC-32. The CPU's CRC32 instruction is used where present
/// (SSE4.2 on x86-64, the CRC extension on ARMv8), a slicing-by-8 table elsewhere.
public enum CRC32C {
    /// Whether this process uses the CPU's CRC32 instruction.
    public static var isHardwareAccelerated: Bool { ckafka_crc32c_has_hardware() != 0 }

    /// The checksum of `bytes`, or its continuation from `crc` (the checksum of what came before).
    @inlinable
    public static func checksum(_ bytes: UnsafeRawBufferPointer, continuing crc: UInt32 = 0) -> UInt32 {
        guard let base = bytes.baseAddress else { return crc }
        return ckafka_crc32c_update(crc, base, bytes.count)
    }

    /// The checksum of a byte sequence.
    public static func checksum<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> UInt32 {
        if let crc = bytes.withContiguousStorageIfAvailable({ checksum(UnsafeRawBufferPointer($0)) }) {
            return crc
        }
        return Array(bytes).withUnsafeBytes { checksum($0) }
    }

    /// The checksum of `length` bytes of `buffer` starting at `index`, without moving its indices.
    public static func checksum(_ buffer: ByteBuffer, at index: Int, length: Int) -> UInt32 {
        buffer.withUnsafeReadableBytes { all in
            let offset = index - buffer.readerIndex
            precondition(offset >= 0 && offset + length <= all.count, "CRC range outside the readable bytes")
            return checksum(UnsafeRawBufferPointer(rebasing: all[offset..<(offset + length)]))
        }
    }

    /// The portable implementation, exposed so tests can check both paths on any CPU.
    public static func portableChecksum(_ bytes: UnsafeRawBufferPointer, continuing crc: UInt32 = 0) -> UInt32 {
        guard let base = bytes.baseAddress else { return crc }
        return ckafka_crc32c_update_portable(crc, base, bytes.count)
    }

    /// The hardware implementation; nil when the CPU lacks the instruction.
    public static func hardwareChecksum(_ bytes: UnsafeRawBufferPointer, continuing crc: UInt32 = 0) -> UInt32? {
        guard isHardwareAccelerated else { return nil }
        guard let base = bytes.baseAddress else { return crc }
        return ckafka_crc32c_update_hardware(crc, base, bytes.count)
    }
}
