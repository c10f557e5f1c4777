import NIOCore

/// CRC-32 (IEEE 802.3 / zlib, reflected polynomial 0xEDB88320), as librdkafka's `consistent`
/// and `consistent_random` partitioners hash keys with it. Table-driven, one byte at a time:
/// keys are short, and KafkaClient does not link zlib.
///
/// Not the batch checksum: record batches use CRC-32C (`KafkaWire.CRC32C`).
enum CRC32 {
    private static let table: [UInt32] = (0..<256).map { index in
        var crc = UInt32(index)
        for _ in 0..<8 {
            crc = crc & 1 == 1 ? (crc >> 1) ^ 0xedb8_8320 : crc >> 1
        }
        return crc
    }

    /// The CRC-32 of `bytes` (0 for no bytes).
    static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var crc: UInt32 = 0xffff_ffff
        table.withUnsafeBufferPointer { table in
            for byte in bytes {
                crc = table[Int((crc ^ UInt32(byte)) & 0xff)] ^ (crc >> 8)
            }
        }
        return crc ^ 0xffff_ffff
    }

    /// The CRC-32 of a buffer's readable bytes.
    static func checksum(_ buffer: ByteBuffer) -> UInt32 {
        buffer.withUnsafeReadableBytes { checksum($0) }
    }

    /// The CRC-32 of a byte array.
    static func checksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0) }
    }
}
