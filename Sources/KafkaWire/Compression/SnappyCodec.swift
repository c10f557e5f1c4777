import CKafkaSnappy
import NIOCore

/// snappy (codec 2): written as ONE raw snappy block, as librdkafka writes it; every Java and
/// librdkafka reader accepts that.
///
/// Reading also accepts the "xerial" framing of Java's snappy-java `SnappyOutputStream`:
/// magic `82 53 4E 41 50 50 59 00`, int32 BE version, int32 BE minimum compatible version,
/// then repeated (int32 BE length, raw block). Like Kafka's reader, anything that does not
/// start with the magic is one raw block. Google's snappy framing format is not Kafka's and is
/// not accepted.
enum SnappyCodec {
    static let xerialMagic: [UInt8] = [0x82, 0x53, 0x4E, 0x41, 0x50, 0x50, 0x59, 0x00]
    /// Magic, version, minimum compatible version.
    static let xerialHeaderSize = 16

    static func compress(_ input: UnsafeRawBufferPointer, into output: inout ByteBuffer) throws {
        let bound = snappy_max_compressed_length(input.count)
        try output.writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { writable in
            var length = writable.count
            // snappy reads nothing for an empty input, but wants a non-null pointer.
            let source = input.baseAddress ?? UnsafeRawPointer(writable.baseAddress!)
            let status = snappy_compress(
                source.assumingMemoryBound(to: CChar.self), input.count,
                writable.baseAddress!.assumingMemoryBound(to: CChar.self), &length)
            guard status == SNAPPY_OK else {
                throw CodecFailure.compression(.snappy, "snappy_compress returned \(status.rawValue)")
            }
            return length
        }
    }

    static func decompress(
        _ input: UnsafeRawBufferPointer, maximumSize: Int, into output: inout ByteBuffer
    ) throws {
        guard input.count >= xerialMagic.count, input.prefix(xerialMagic.count).elementsEqual(xerialMagic)
        else {
            try decompressBlock(input, maximumSize: maximumSize, into: &output)
            return
        }
        let start = output.writerIndex
        do {
            try decompressXerial(input, maximumSize: maximumSize, into: &output)
        } catch {
            output.moveWriterIndex(to: start)
            throw error
        }
    }

    private static func decompressXerial(
        _ input: UnsafeRawBufferPointer, maximumSize: Int, into output: inout ByteBuffer
    ) throws {
        guard input.count >= xerialHeaderSize else {
            throw CodecFailure.truncated(.snappy)
        }
        // snappy-java checks only that it can read the stream's minimum compatible version (1).
        let minimumCompatibleVersion = readInt32BE(input, at: 12)
        guard minimumCompatibleVersion <= 1 else {
            throw CodecFailure.malformed(
                .snappy, "xerial framing needs reader version \(minimumCompatibleVersion), only 1 is known")
        }
        var offset = xerialHeaderSize
        var produced = 0
        while offset < input.count {
            guard input.count - offset >= 4 else { throw CodecFailure.truncated(.snappy) }
            let length = Int(readInt32BE(input, at: offset))
            offset += 4
            guard length >= 0 else {
                throw CodecFailure.malformed(.snappy, "xerial chunk length \(length) is negative")
            }
            guard length <= input.count - offset else { throw CodecFailure.truncated(.snappy) }
            let block = UnsafeRawBufferPointer(rebasing: input[offset..<offset + length])
            produced += try decompressBlock(block, maximumSize: maximumSize - produced, into: &output)
            offset += length
        }
    }

    /// Decodes one raw block; checks its announced length against the limit before reserving
    /// any space. Returns the decoded length.
    @discardableResult
    private static func decompressBlock(
        _ block: UnsafeRawBufferPointer, maximumSize: Int, into output: inout ByteBuffer
    ) throws -> Int {
        guard let base = block.baseAddress, block.count > 0 else {
            throw CodecFailure.truncated(.snappy)
        }
        let compressed = base.assumingMemoryBound(to: CChar.self)
        var length = 0
        guard snappy_uncompressed_length(compressed, block.count, &length) == SNAPPY_OK else {
            throw CodecFailure.malformed(.snappy, "the block's length prefix is unreadable")
        }
        guard length <= maximumSize else {
            throw CodecFailure.tooLarge(.snappy, limit: maximumSize)
        }
        return try output.writeWithUnsafeMutableBytes(minimumWritableBytes: Swift.max(length, 1)) { writable in
            var written = writable.count
            let status = snappy_uncompress(
                compressed, block.count, writable.baseAddress!.assumingMemoryBound(to: CChar.self),
                &written)
            guard status == SNAPPY_OK, written == length else {
                throw CodecFailure.malformed(.snappy, "snappy_uncompress returned \(status.rawValue)")
            }
            return written
        }
    }

    private static func readInt32BE(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> Int32 {
        var value: UInt32 = 0
        for byte in bytes[offset..<offset + 4] { value = value << 8 | UInt32(byte) }
        return Int32(bitPattern: value)
    }
}
