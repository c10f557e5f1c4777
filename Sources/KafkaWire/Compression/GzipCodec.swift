import CKafkaZlib
import NIOCore

/// gzip (codec 1): an RFC 1952 stream written with zlib's deflate, as Java's GZIPOutputStream
/// and librdkafka write it.
///
/// Reading accepts only the gzip wrapper (Java's GZIPInputStream requires the 1F 8B magic, so
/// raw deflate or a zlib wrapper would be rejected by brokers too) and any number of
/// concatenated members.
enum GzipCodec {
    /// windowBits 15 (32 KiB window) + 16 selects the gzip wrapper in zlib.
    private static let gzipWindowBits: Int32 = 15 + 16

    static func compress(_ input: UnsafeRawBufferPointer, level: Int, into output: inout ByteBuffer) throws {
        // A context of its own: the stream is set up, used once and released.
        try compress(input, level: level, into: &output, context: KafkaCompressionContext())
    }

    /// Compresses with `context`'s deflate stream, reset instead of set up anew per batch.
    static func compress(
        _ input: UnsafeRawBufferPointer, level: Int, into output: inout ByteBuffer, context: KafkaCompressionContext
    ) throws {
        guard input.count <= Int(UInt32.max) else {
            throw CodecFailure.compression(.gzip, "input of \(input.count) bytes exceeds zlib's 4 GiB limit")
        }
        // level −1 is Z_DEFAULT_COMPRESSION (zlib's 6), Java's Deflater default.
        let stream = try context.deflate(level: level, windowBits: gzipWindowBits)

        let bound = Int(deflateBound(stream, uLong(input.count)))
        try output.writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { writable in
            stream.pointee.next_in = input.baseAddress.map {
                UnsafeMutablePointer(mutating: $0.assumingMemoryBound(to: Bytef.self))
            }
            stream.pointee.avail_in = uInt(input.count)
            stream.pointee.next_out = writable.baseAddress!.assumingMemoryBound(to: Bytef.self)
            stream.pointee.avail_out = uInt(Swift.min(writable.count, Int(UInt32.max)))
            // With deflateBound bytes of space one Z_FINISH call completes the stream.
            let result = deflate(stream, Z_FINISH)
            guard result == Z_STREAM_END else {
                throw CodecFailure.compression(.gzip, "deflate returned \(result)")
            }
            return Int(stream.pointee.total_out)
        }
    }

    static func decompress(
        _ input: UnsafeRawBufferPointer, maximumSize: Int, into output: inout ByteBuffer
    ) throws {
        guard input.count <= Int(UInt32.max) else {
            throw CodecFailure.malformed(.gzip, "input of \(input.count) bytes exceeds zlib's 4 GiB limit")
        }
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        defer {
            stream.deinitialize(count: 1)
            stream.deallocate()
        }
        let initResult = inflateInit2_(
            stream, gzipWindowBits, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard initResult == Z_OK else {
            throw KafkaWireError(.decompressionFailed, "gzip: inflateInit2 returned \(initResult)")
        }
        defer { inflateEnd(stream) }

        stream.pointee.next_in = input.baseAddress.map {
            UnsafeMutablePointer(mutating: $0.assumingMemoryBound(to: Bytef.self))
        }
        stream.pointee.avail_in = uInt(input.count)
        // Batches of text usually shrink 3–10×; start at 4× and let the windows grow.
        try output.writeDecompressed(
            codec: .gzip, maximumSize: maximumSize, initialSize: input.count * 4
        ) { window in
            stream.pointee.next_out = window.baseAddress!.assumingMemoryBound(to: Bytef.self)
            stream.pointee.avail_out = uInt(window.count)
            while true {
                let result = inflate(stream, Z_NO_FLUSH)
                let written = window.count - Int(stream.pointee.avail_out)
                switch result {
                case Z_STREAM_END:
                    // Another member may follow; Java's GZIPInputStream reads those too.
                    if stream.pointee.avail_in == 0 { return DecodeStep(written: written, isFinished: true) }
                    guard inflateReset(stream) == Z_OK else {
                        throw CodecFailure.malformed(.gzip, "cannot start the next member")
                    }
                case Z_OK:
                    if stream.pointee.avail_out == 0 { return DecodeStep(written: written, isFinished: false) }
                case Z_BUF_ERROR:
                    // No progress possible: the output window is full, or the input ended early.
                    if stream.pointee.avail_out == 0 { return DecodeStep(written: written, isFinished: false) }
                    throw CodecFailure.truncated(.gzip)
                default:
                    let detail = stream.pointee.msg.map { String(cString: $0) } ?? "zlib error \(result)"
                    throw CodecFailure.malformed(.gzip, detail)
                }
            }
        }
    }
}
