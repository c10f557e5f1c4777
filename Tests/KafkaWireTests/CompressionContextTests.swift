import KafkaWire
import NIOCore
import Testing

/// A reused `KafkaCompressionContext` must write exactly what the one-shot path writes (which
/// the Python cross-checks verify), however many batches went through it before.
@Suite("Compression with a reused context")
struct CompressionContextTests {
    static func inputs() -> [[UInt8]] {
        var generator = SystemRandomNumberGenerator()
        let text = Array((0..<3000).map { "line \($0): GET /items/\($0 * 7) 200\n" }.joined().utf8)
        return [
            [], [0x41], Array(text.prefix(16_384)), text,
            (0..<70_000).map { _ in UInt8.random(in: 0...255, using: &generator) },
            Array(text.prefix(100)),
        ]
    }

    @Test(arguments: [
        KafkaCompression.gzip, KafkaCompression(codec: .gzip, level: 1), .lz4, KafkaCompression(codec: .lz4, level: 12),
        .zstd, KafkaCompression(codec: .zstd, level: 19),
    ])
    func reusedContextMatchesTheOneShotPath(_ compression: KafkaCompression) throws {
        let context = KafkaCompressionContext()
        for round in 0..<3 {
            for input in Self.inputs() where !input.isEmpty {
                var oneShot = ByteBuffer()
                var reused = ByteBuffer()
                try input.withUnsafeBytes { bytes in
                    try compression.compress(bytes, into: &oneShot)
                    try compression.compress(bytes, into: &reused, context: context)
                }
                #expect(reused == oneShot, "round \(round), \(input.count) bytes, \(compression)")
                var decoded = ByteBuffer()
                try reused.withUnsafeReadableBytes { bytes in
                    try compression.codec.decompress(bytes, maximumSize: 1 << 20, into: &decoded)
                }
                #expect(Array(decoded.readableBytesView) == input)
            }
        }
    }

    /// One context serving different codecs and levels in turn, as a producer with per-topic
    /// settings will use it.
    @Test func oneContextAcrossCodecsAndLevels() throws {
        let context = KafkaCompressionContext()
        let input = Array(Self.inputs()[3])
        for compression in [KafkaCompression.gzip, .lz4, KafkaCompression(codec: .gzip, level: 9), .zstd, .gzip] {
            var oneShot = ByteBuffer()
            var reused = ByteBuffer()
            try input.withUnsafeBytes { bytes in
                try compression.compress(bytes, into: &oneShot)
                try compression.compress(bytes, into: &reused, context: context)
            }
            #expect(reused == oneShot, "\(compression)")
        }
    }
}
