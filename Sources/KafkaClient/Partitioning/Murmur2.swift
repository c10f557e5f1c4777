import NIOCore

/// Java's `Utils.murmur2`, the hash behind Kafka's key partitioning.
///
/// The arithmetic is Java `int` arithmetic: 32-bit wrap-around multiplies and logical right
/// shifts, done here on `UInt32` and bit-cast to `Int32` at the end, so the results equal the
/// Java client's for every input (PROTOCOL-NOTES §7.1).
public enum Murmur2 {
    private static let seed: UInt32 = 0x9747_b28c
    private static let m: UInt32 = 0x5bd1_e995
    private static let r: UInt32 = 24

    /// The murmur2 hash of `bytes`, as Java's signed `int`.
    public static func hash(_ bytes: UnsafeRawBufferPointer) -> Int32 {
        let length = bytes.count
        var h = seed ^ UInt32(truncatingIfNeeded: length)
        let groups = length / 4
        for group in 0..<groups {
            let i = group * 4
            var k =
                UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16
                | UInt32(bytes[i + 3]) << 24
            k = k &* m
            k ^= k >> r
            k = k &* m
            h = h &* m
            h ^= k
        }
        let tail = groups * 4
        switch length % 4 {
        case 3:
            h ^= UInt32(bytes[tail + 2]) << 16
            h ^= UInt32(bytes[tail + 1]) << 8
            h ^= UInt32(bytes[tail])
            h = h &* m
        case 2:
            h ^= UInt32(bytes[tail + 1]) << 8
            h ^= UInt32(bytes[tail])
            h = h &* m
        case 1:
            h ^= UInt32(bytes[tail])
            h = h &* m
        default:
            break
        }
        h ^= h >> 13
        h = h &* m
        h ^= h >> 15
        return Int32(bitPattern: h)
    }

    /// The murmur2 hash of a buffer's readable bytes.
    public static func hash(_ buffer: ByteBuffer) -> Int32 {
        buffer.withUnsafeReadableBytes { hash($0) }
    }

    /// The murmur2 hash of a byte array.
    public static func hash(_ bytes: [UInt8]) -> Int32 {
        bytes.withUnsafeBytes { hash($0) }
    }

    /// Java's `Utils.toPositive`: clears the sign bit (`x & 0x7fffffff`), so `Int32.min` maps
    /// to 0. Not `abs`.
    public static func toPositive(_ x: Int32) -> Int32 {
        x & 0x7fff_ffff
    }

    /// The partition Java's producer picks for a keyed record:
    /// `toPositive(murmur2(key)) % partitionCount`, over all partitions of the topic.
    ///
    /// - Precondition: `partitionCount > 0`.
    public static func partition(forKey key: ByteBuffer, partitionCount: Int32) -> Int32 {
        precondition(partitionCount > 0, "partitionCount must be positive")
        return toPositive(hash(key)) % partitionCount
    }
}
