import CKafkaZstd
import NIOCore

/// zstd (codec 4): one standard zstd frame holding the whole records section. Needs Produce v7+
/// (older versions get UNSUPPORTED_COMPRESSION_TYPE).
///
/// Reading uses the streaming decoder, so frames without a content-size field (what Java's
/// zstd-jni `ZstdOutputStream` writes) and concatenated frames are fine.
enum ZstdCodec {
    /// The decoder's window is capped at `max(log2(maximumSize), 23)` bits, at most zstd's
    /// default limit of 27. 2^23 = 8 MiB covers every level up to 19 when the compressor did
    /// not know the input size (Java's streaming writer); the "ultra" levels 20–22 use larger
    /// windows and then need a `maximumSize` of that order. Bounds the decoder's memory for a
    /// hostile frame that announces a huge window.
    static func windowLogMax(maximumSize: Int) -> Int32 {
        var bits: Int32 = 23
        while bits < 27 && (1 << Int(bits)) < maximumSize { bits += 1 }
        return bits
    }

    /// Compresses with a reused context (one frame, as `ZSTD_compress` writes).
    static func compress(
        _ input: UnsafeRawBufferPointer, level: Int, into output: inout ByteBuffer, context: KafkaCompressionContext
    ) throws {
        let cctx = try context.zstdContext()
        let bound = ZSTD_compressBound(input.count)
        guard ZSTD_isError(bound) == 0 else {
            throw CodecFailure.compression(.zstd, "input of \(input.count) bytes is too large")
        }
        try output.writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { writable in
            let written = ZSTD_compressCCtx(
                cctx, writable.baseAddress!, writable.count, input.baseAddress, input.count, Int32(level))
            guard ZSTD_isError(written) == 0 else {
                throw CodecFailure.compression(.zstd, String(cString: ZSTD_getErrorName(written)))
            }
            return written
        }
    }

    static func compress(_ input: UnsafeRawBufferPointer, level: Int, into output: inout ByteBuffer) throws {
        let bound = ZSTD_compressBound(input.count)
        guard ZSTD_isError(bound) == 0 else {
            throw CodecFailure.compression(.zstd, "input of \(input.count) bytes is too large")
        }
        try output.writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { writable in
            let written = ZSTD_compress(
                writable.baseAddress!, writable.count, input.baseAddress, input.count, Int32(level))
            guard ZSTD_isError(written) == 0 else {
                throw CodecFailure.compression(.zstd, String(cString: ZSTD_getErrorName(written)))
            }
            return written
        }
    }

    static func decompress(
        _ input: UnsafeRawBufferPointer, maximumSize: Int, into output: inout ByteBuffer
    ) throws {
        guard let context = ZSTD_createDCtx() else {
            throw KafkaWireError(.decompressionFailed, "zstd: cannot create a decompression context")
        }
        defer { ZSTD_freeDCtx(context) }
        let limit = ZSTD_DCtx_setParameter(
            context, ZSTD_d_windowLogMax, windowLogMax(maximumSize: maximumSize))
        guard ZSTD_isError(limit) == 0 else {
            throw KafkaWireError(.decompressionFailed, "zstd: cannot limit the window size")
        }

        var source = ZSTD_inBuffer(src: input.baseAddress, size: input.count, pos: 0)
        try output.writeDecompressed(
            codec: .zstd, maximumSize: maximumSize, initialSize: input.count * 4
        ) { window in
            var destination = ZSTD_outBuffer(dst: window.baseAddress, size: window.count, pos: 0)
            while true {
                let inputBefore = source.pos
                let outputBefore = destination.pos
                let hint = ZSTD_decompressStream(context, &destination, &source)
                guard ZSTD_isError(hint) == 0 else {
                    throw CodecFailure.malformed(.zstd, String(cString: ZSTD_getErrorName(hint)))
                }
                if hint == 0 {
                    // A frame ended and is fully flushed; another may follow.
                    if source.pos == source.size {
                        return DecodeStep(written: destination.pos, isFinished: true)
                    }
                    continue
                }
                if destination.pos == destination.size {
                    return DecodeStep(written: destination.pos, isFinished: false)
                }
                if source.pos == inputBefore && destination.pos == outputBefore {
                    throw CodecFailure.truncated(.zstd)
                }
            }
        }
    }
}
