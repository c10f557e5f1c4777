import KafkaWire
import NIOCore
import Testing

// The codecs against themselves (round trips), against independent Python implementations
// (scripts/reference_codec.py: python's gzip, python-snappy, lz4.frame, zstandard), against the
// byte layout Kafka's Java reader demands, and against hostile input.

typealias Codec = KafkaCompression.Codec

/// The codecs that actually compress.
let realCodecs: [Codec] = [.gzip, .snappy, .lz4, .zstd]

enum Payloads {
    static let empty: [UInt8] = []
    static let oneByte: [UInt8] = [0x2A]
    /// 100 KiB of log lines that differ only in a counter: compresses well.
    static let repetitive: [UInt8] = {
        var bytes: [UInt8] = []
        var line = 0
        while bytes.count < 100 * 1024 {
            bytes += Array("2025-01-01T00:00:00Z INFO request \(line % 97) served in 3 ms\n".utf8)
            line += 1
        }
        return Array(bytes.prefix(100 * 1024))
    }()
    /// 300 KiB that does not compress (a fixed seed, so failures reproduce).
    static let random: [UInt8] = randomBytes(count: 300 * 1024, seed: 0x7472_6962)

    static let all: [(name: String, bytes: [UInt8])] = [
        ("empty", empty), ("1 byte", oneByte), ("100 KiB repetitive", repetitive), ("300 KiB random", random),
    ]
}

/// SplitMix64 bytes: deterministic and independent of the platform's random source.
func randomBytes(count: Int, seed: UInt64) -> [UInt8] {
    var state = seed
    var bytes: [UInt8] = []
    bytes.reserveCapacity(count + 8)
    while bytes.count < count {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        withUnsafeBytes(of: z.littleEndian) { bytes += $0 }
    }
    return Array(bytes.prefix(count))
}

func compressed(_ input: [UInt8], _ compression: KafkaCompression) throws -> [UInt8] {
    var buffer = ByteBuffer()
    try input.withUnsafeBytes { try compression.compress($0, into: &buffer) }
    return Array(buffer.readableBytesView)
}

func decompressed(_ input: [UInt8], _ codec: Codec, maximumSize: Int) throws -> [UInt8] {
    var buffer = ByteBuffer()
    try input.withUnsafeBytes { try codec.decompress($0, maximumSize: maximumSize, into: &buffer) }
    return Array(buffer.readableBytesView)
}

/// The levels each codec is exercised at: its default (nil), both ends of its range, and a few
/// in between.
func testLevels(_ codec: Codec) -> [Int?] {
    switch codec {
    case .none, .snappy: [nil]
    case .gzip: [nil, -1, 0, 1, 6, 9]
    case .lz4: [nil, 1, 3, 9, 10, 12, 17]
    case .zstd: [nil, -131_072, -5, 0, 1, 3, 19, 22]
    }
}

/// Expects `body` to throw a KafkaWireError with code `.decompressionFailed`.
func expectDecompressionFailure(
    _ comment: Comment? = nil, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void
) {
    do {
        try body()
        Issue.record(
            "expected decompressionFailed, but decoding succeeded. \(comment?.rawValue ?? "")",
            sourceLocation: sourceLocation)
    } catch let error as KafkaWireError {
        #expect(error.code == .decompressionFailed, comment, sourceLocation: sourceLocation)
    } catch {
        Issue.record(
            "expected a KafkaWireError, got \(error). \(comment?.rawValue ?? "")",
            sourceLocation: sourceLocation)
    }
}

@Suite("Compression round trips")
struct CompressionRoundTripTests {
    @Test(arguments: Codec.allCases)
    func roundTripAtEveryTestLevel(codec: Codec) throws {
        for level in testLevels(codec) {
            let compression = KafkaCompression(codec: codec, level: level)
            for (name, payload) in Payloads.all {
                let stream = try compressed(payload, compression)
                let restored = try decompressed(stream, codec, maximumSize: payload.count)
                #expect(restored == payload, "\(compression) \(name)")
            }
        }
    }

    @Test(arguments: Codec.allCases)
    func appendsAfterExistingBytes(codec: Codec) throws {
        let prefix: [UInt8] = [1, 2, 3]
        var buffer = ByteBuffer(bytes: prefix)
        try Payloads.repetitive.withUnsafeBytes {
            try KafkaCompression(codec: codec).compress($0, into: &buffer)
        }
        #expect(Array(buffer.readableBytesView.prefix(3)) == prefix)
        let stream = Array(buffer.readableBytesView.dropFirst(3))

        var output = ByteBuffer(bytes: prefix)
        try stream.withUnsafeBytes { try codec.decompress($0, maximumSize: 1 << 20, into: &output) }
        #expect(Array(output.readableBytesView) == prefix + Payloads.repetitive)
    }

    @Test(arguments: Codec.allCases)
    func maximumSizeIsInclusive(codec: Codec) throws {
        let payload = Payloads.repetitive
        let stream = try compressed(payload, KafkaCompression(codec: codec))
        #expect(try decompressed(stream, codec, maximumSize: payload.count) == payload)
        expectDecompressionFailure("\(codec) one byte under the size") {
            _ = try decompressed(stream, codec, maximumSize: payload.count - 1)
        }
    }

    @Test func rejectsLevelsOutsideTheRange() {
        for compression in [
            KafkaCompression(codec: .gzip, level: 10), KafkaCompression(codec: .lz4, level: 0),
            KafkaCompression(codec: .zstd, level: 23), KafkaCompression(codec: .snappy, level: 1),
        ] {
            var buffer = ByteBuffer()
            #expect(throws: KafkaWireError.self, "\(compression)") {
                try Payloads.oneByte.withUnsafeBytes { try compression.compress($0, into: &buffer) }
            }
        }
    }
}

/// A format scripts/reference_codec.py writes, and the codec that must read it.
struct ReferenceFormat: Sendable, CustomStringConvertible {
    var name: String
    var codec: Codec
    var description: String { name }

    static let all: [ReferenceFormat] = [
        .init(name: "gzip", codec: .gzip), .init(name: "gzip-members", codec: .gzip),
        .init(name: "snappy", codec: .snappy), .init(name: "snappy-xerial", codec: .snappy),
        .init(name: "lz4", codec: .lz4), .init(name: "lz4-linked", codec: .lz4),
        .init(name: "zstd", codec: .zstd), .init(name: "zstd-stream", codec: .zstd),
    ]
}

@Suite("Compression against Python's reference libraries")
struct CompressionReferenceTests {
    @Test(arguments: realCodecs)
    func referenceDecodesWhatWeWrite(codec: Codec) throws {
        let levels = Set([codec.defaultLevel, codec.levelRange?.lowerBound, codec.levelRange?.upperBound])
        for level in levels {
            let compression = KafkaCompression(codec: codec, level: level)
            let payloads = Payloads.all.map(\.bytes)
            let streams = try payloads.map { try compressed($0, compression) }
            let decoded = try ReferencePython.codec("decompress", format: codec.description, streams)
            for (index, (name, payload)) in Payloads.all.enumerated() {
                #expect(decoded[index] == payload, "python could not read \(compression) \(name)")
            }
        }
    }

    @Test(arguments: ReferenceFormat.all)
    func weDecodeWhatTheReferenceWrites(format: ReferenceFormat) throws {
        let payloads = Payloads.all.map(\.bytes)
        let streams = try ReferencePython.codec("compress", format: format.name, payloads)
        for (index, (name, payload)) in Payloads.all.enumerated() {
            let restored = try decompressed(streams[index], format.codec, maximumSize: payload.count)
            #expect(restored == payload, "\(format) \(name)")
        }
    }

    /// Java's `Lz4BlockInputStream` accepts only version 01 with independent blocks, checks
    /// the header checksum, and Java writes 64 KiB blocks; the frame must look like Java's.
    @Test(arguments: [nil, 1, 12, 17] as [Int?])
    func lz4FrameHasJavasLayout(level: Int?) throws {
        let payload = Payloads.random + Payloads.repetitive
        let frame = try compressed(payload, KafkaCompression(codec: .lz4, level: level))
        #expect(Array(frame.prefix(4)) == [0x04, 0x22, 0x4D, 0x18], "magic 0x184D2204, little-endian")
        let flg = frame[4]
        let bd = frame[5]
        #expect(flg >> 6 == 0b01, "FLG version 01")
        #expect(flg & 0x20 != 0, "FLG block independence: Java rejects linked blocks")
        #expect(flg & 0x10 == 0, "FLG no block checksum")
        #expect(flg & 0x08 == 0, "FLG no content size")
        #expect(flg & 0x04 == 0, "FLG no content checksum")
        #expect(flg & 0x03 == 0, "FLG reserved bit and dictionary id clear")
        #expect(bd == 0x40, "BD block maximum 64 KiB (code 4), reserved bits clear")
        // The descriptor is exactly FLG BD (no content size, no dictionary id), so the header
        // checksum is the second byte of xxh32 over those two bytes: Kafka's frames all
        // start 04 22 4D 18 60 40 82.
        #expect(frame[6] == UInt8(truncatingIfNeeded: xxh32([flg, bd], seed: 0) >> 8))
        #expect(frame[6] == 0x82)

        // Blocks: int32 LE size (high bit: stored), at most 64 KiB each, then EndMark 0 and
        // nothing after it (no content checksum).
        var offset = 7
        var blocks = 0
        while true {
            let word = frame[offset..<offset + 4].reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            offset += 4
            if word == 0 { break }
            let size = Int(word & 0x7FFF_FFFF)
            #expect(size <= 64 * 1024)
            offset += size
            blocks += 1
        }
        #expect(offset == frame.count)
        #expect(blocks == (payload.count + 65_535) / 65_536)
    }

    /// Java's level 9 (the default) selects lz4's fast compressor; every other level is HC.
    /// lz4frame levels below 3 also run the fast compressor, so 9 must match 1, and 10 must not.
    @Test func lz4DefaultLevelIsTheFastCompressor() throws {
        let payload = Payloads.repetitive
        let fast = try compressed(payload, KafkaCompression(codec: .lz4, level: 9))
        #expect(fast == (try compressed(payload, KafkaCompression(codec: .lz4, level: 1))))
        #expect(fast != (try compressed(payload, KafkaCompression(codec: .lz4, level: 10))))
    }

    /// We write one raw snappy block (no xerial framing): its varint prefix is the input length.
    @Test func snappyWritesOneRawBlock() throws {
        let block = try compressed(Payloads.random, .snappy)
        #expect(block.prefix(8).elementsEqual([0x82, 0x53, 0x4E, 0x41, 0x50, 0x50, 0x59, 0x00]) == false)
        var length = 0
        var shift = 0
        for byte in block {
            length |= Int(byte & 0x7F) << shift
            shift += 7
            if byte & 0x80 == 0 { break }
        }
        #expect(length == Payloads.random.count)
    }

    /// We write gzip (RFC 1952: 1F 8B, method 8), which Java's GZIPInputStream requires.
    @Test func gzipHasTheGzipWrapper() throws {
        let stream = try compressed(Payloads.repetitive, .gzip)
        #expect(Array(stream.prefix(3)) == [0x1F, 0x8B, 0x08])
    }
}

@Suite("Compression against hostile input")
struct CompressionMalformedInputTests {
    @Test(arguments: realCodecs)
    func emptyInputIsMalformed(codec: Codec) {
        expectDecompressionFailure("\(codec)") { _ = try decompressed([], codec, maximumSize: 1 << 20) }
    }

    @Test(arguments: realCodecs)
    func truncatedStreamsThrow(codec: Codec) throws {
        let stream = try compressed(Payloads.repetitive, KafkaCompression(codec: codec))
        var cuts = Array(1..<min(stream.count, 24))
        cuts += [stream.count / 2, stream.count - 2, stream.count - 1]
        for cut in cuts {
            var buffer = ByteBuffer(bytes: [9, 9])
            expectDecompressionFailure("\(codec) cut at \(cut) of \(stream.count)") {
                try stream.prefix(cut).withUnsafeBytes {
                    try codec.decompress($0, maximumSize: 1 << 20, into: &buffer)
                }
            }
            #expect(Array(buffer.readableBytesView) == [9, 9], "a failed decode leaves the buffer as it was")
        }
    }

    @Test(arguments: realCodecs)
    func randomGarbageThrows(codec: Codec) {
        for seed in UInt64(1)...40 {
            let garbage = randomBytes(count: 16 + Int(seed * 97 % 4000), seed: seed)
            expectDecompressionFailure("\(codec) garbage seed \(seed)") {
                _ = try decompressed(garbage, codec, maximumSize: 1 << 20)
            }
        }
    }

    /// A flipped byte in the header or the length fields must be caught by every codec. gzip
    /// also carries a CRC-32 of the content, so any flip past its 10-byte header must fail
    /// (header bytes 3–9 are FLG's FTEXT hint, MTIME, XFL and OS: informational, unchecked
    /// without FHCRC, so flipping their low bit is legal). lz4 (as Kafka writes it),
    /// zstd (without its optional checksum, like Java) and snappy carry no content checksum,
    /// so a flipped literal byte can decode to different bytes: for those, every flip must
    /// either throw decompressionFailed or decode without crashing (the batch CRC-32C is what
    /// catches that corruption in Kafka).
    @Test(arguments: realCodecs)
    func flippedBytesNeverCrash(codec: Codec) throws {
        let payload = Payloads.repetitive
        let stream = try compressed(payload, KafkaCompression(codec: codec))
        let headerPositions: [Int] =
            switch codec {
            case .gzip: [0, 1, 2]  // magic, method
            case .snappy: [0, 1, 2]  // the varint uncompressed length
            case .lz4: [0, 1, 2, 3, 4, 5, 6]  // magic, FLG, BD, header checksum
            case .zstd: [0, 1, 2, 3]  // magic
            case .none: []
            }
        for position in headerPositions {
            var corrupt = stream
            corrupt[position] ^= 0x55
            expectDecompressionFailure("\(codec) flipped header byte \(position)") {
                _ = try decompressed(corrupt, codec, maximumSize: 1 << 20)
            }
        }
        for position in stride(from: 0, to: stream.count, by: max(1, stream.count / 300)) {
            var corrupt = stream
            corrupt[position] ^= 0x01
            do {
                let decoded = try decompressed(corrupt, codec, maximumSize: 1 << 20)
                #expect(codec != .gzip || (3..<10).contains(position), "gzip's CRC-32 must catch a flip at \(position)")
                _ = decoded
            } catch let error as KafkaWireError {
                #expect(error.code == .decompressionFailed)
            }
        }
    }

    @Test func xerialFramingErrorsThrow() throws {
        let header: [UInt8] = [0x82, 0x53, 0x4E, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1]
        let block = try compressed(Payloads.repetitive, .snappy)
        let length = withUnsafeBytes(of: UInt32(block.count).bigEndian) { Array($0) }
        let valid = header + length + block
        #expect(try decompressed(valid, .snappy, maximumSize: 1 << 20) == Payloads.repetitive)
        #expect(try decompressed(header, .snappy, maximumSize: 0) == [], "a header alone is an empty stream")

        let cases: [(String, [UInt8])] = [
            ("header cut short", Array(header.prefix(12))),
            ("length cut short", header + length.prefix(2)),
            ("block cut short", Array(valid.dropLast())),
            ("negative length", header + [0xFF, 0xFF, 0xFF, 0xF0] + block),
            (
                "length past the end",
                header + withUnsafeBytes(of: UInt32(block.count + 1).bigEndian) { Array($0) } + block
            ),
            ("unknown compatible version", Array(header.prefix(12)) + [0, 0, 0, 2] + length + block),
        ]
        for (name, input) in cases {
            expectDecompressionFailure("xerial \(name)") { _ = try decompressed(input, .snappy, maximumSize: 1 << 20) }
        }
    }
}

@Suite("Decompression bombs")
struct CompressionBombTests {
    /// 50 MB of zeros squeezed by our own compressor, read with a 1 MiB limit: decoding must stop
    /// once the limit is passed, and the output buffer must never grow past it.
    @Test(arguments: realCodecs)
    func fiftyMegabytesOfZerosStopAtTheLimit(codec: Codec) throws {
        let zeros = [UInt8](repeating: 0, count: 50_000_000)
        let bomb = try compressed(zeros, KafkaCompression(codec: codec))
        #expect(bomb.count < 3_000_000)
        var output = ByteBuffer()
        expectDecompressionFailure("\(codec) bomb") {
            try bomb.withUnsafeBytes { try codec.decompress($0, maximumSize: 1 << 20, into: &output) }
        }
        #expect(output.readableBytes == 0)
        // ByteBuffer rounds capacities up to a power of two: 1 MiB + 1 byte becomes 2 MiB.
        #expect(output.capacity <= 2 << 20, "the output grew to \(output.capacity) bytes")
    }

    /// xerial chunks that each fit the limit but together pass it.
    @Test func xerialChunksCountTowardsTheLimit() throws {
        let chunk = try compressed([UInt8](repeating: 0, count: 512 * 1024), .snappy)
        var stream: [UInt8] = [0x82, 0x53, 0x4E, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1]
        for _ in 0..<4 {
            stream += withUnsafeBytes(of: UInt32(chunk.count).bigEndian) { Array($0) } + chunk
        }
        #expect(try decompressed(stream, .snappy, maximumSize: 2 << 20).count == 2 << 20)
        var output = ByteBuffer()
        expectDecompressionFailure("xerial bomb") {
            try stream.withUnsafeBytes { try Codec.snappy.decompress($0, maximumSize: 1 << 20, into: &output) }
        }
        #expect(output.readableBytes == 0)
        #expect(output.capacity <= 2 << 20)
    }
}

/// xxHash32 for inputs shorter than 16 bytes (all the lz4 header check needs), written from
/// the xxHash specification.
func xxh32(_ input: [UInt8], seed: UInt32) -> UInt32 {
    precondition(input.count < 16)
    let prime1: UInt32 = 2_654_435_761
    let prime2: UInt32 = 2_246_822_519
    let prime3: UInt32 = 3_266_489_917
    let prime4: UInt32 = 668_265_263
    let prime5: UInt32 = 374_761_393
    func rotl(_ x: UInt32, _ r: UInt32) -> UInt32 { (x << r) | (x >> (32 - r)) }
    var hash = seed &+ prime5 &+ UInt32(input.count)
    var index = 0
    while index + 4 <= input.count {
        let lane = input[index..<index + 4].reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        hash = rotl(hash &+ lane &* prime3, 17) &* prime4
        index += 4
    }
    while index < input.count {
        hash = rotl(hash &+ UInt32(input[index]) &* prime5, 11) &* prime1
        index += 1
    }
    hash ^= hash >> 15
    hash = hash &* prime2
    hash ^= hash >> 13
    hash = hash &* prime3
    hash ^= hash >> 16
    return hash
}
