import CKafkaLZ4
import NIOCore

/// lz4 (codec 3): the LZ4 *frame* format, laid out like Java's `Lz4BlockOutputStream`.
///
/// Frame descriptor: version 01, **independent blocks** (Java's reader rejects linked ones
/// with "Dependent block stream is unsupported"), no block checksum, no content size, no
/// content checksum, 64 KiB maximum block size. lz4frame writes the correct header checksum
/// (xxh32 of the descriptor), which magic-2 batches need.
enum LZ4Codec {
    /// `compression.lz4.level`'s default. Java uses lz4's *fast* compressor for it and the HC
    /// compressor at the configured level for every other value.
    static let javaDefaultLevel = 9

    /// The lz4frame preferences for a Kafka level.
    static func preferences(level: Int) -> LZ4F_preferences_t {
        var preferences = LZ4F_preferences_t()  // zeroed: the documented way to get defaults
        preferences.frameInfo.blockSizeID = LZ4F_max64KB
        preferences.frameInfo.blockMode = LZ4F_blockIndependent
        preferences.frameInfo.contentChecksumFlag = LZ4F_noContentChecksum
        preferences.frameInfo.blockChecksumFlag = LZ4F_noBlockChecksum
        preferences.frameInfo.contentSize = 0
        // lz4frame: 0 is the fast compressor; 3...12 is HC (higher values count as 12); 1 and 2
        // are below LZ4HC_CLEVEL_MIN and also select the fast compressor.
        preferences.compressionLevel = level == javaDefaultLevel ? 0 : Int32(level)
        return preferences
    }

    /// Compresses with a reused frame context (begin, one update, end): the same frame as
    /// `LZ4F_compressFrame` writes, without setting up a new context per batch.
    static func compress(
        _ input: UnsafeRawBufferPointer, level: Int, into output: inout ByteBuffer, context: KafkaCompressionContext
    ) throws {
        var preferences = preferences(level: level)
        let cctx = try context.lz4Context()
        let bound = LZ4F_compressFrameBound(input.count, &preferences)
        try output.writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { writable in
            let base = writable.baseAddress!
            let header = LZ4F_compressBegin(cctx, base, writable.count, &preferences)
            guard LZ4F_isError(header) == 0 else {
                throw CodecFailure.compression(.lz4, String(cString: LZ4F_getErrorName(header)))
            }
            let body = LZ4F_compressUpdate(
                cctx, base + header, writable.count - header, input.baseAddress, input.count, nil)
            guard LZ4F_isError(body) == 0 else {
                throw CodecFailure.compression(.lz4, String(cString: LZ4F_getErrorName(body)))
            }
            let end = LZ4F_compressEnd(cctx, base + header + body, writable.count - header - body, nil)
            guard LZ4F_isError(end) == 0 else {
                throw CodecFailure.compression(.lz4, String(cString: LZ4F_getErrorName(end)))
            }
            return header + body + end
        }
    }

    static func compress(_ input: UnsafeRawBufferPointer, level: Int, into output: inout ByteBuffer) throws {
        var preferences = preferences(level: level)
        let bound = LZ4F_compressFrameBound(input.count, &preferences)
        try output.writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { writable in
            let written = LZ4F_compressFrame(
                writable.baseAddress!, writable.count, input.baseAddress, input.count, &preferences)
            guard LZ4F_isError(written) == 0 else {
                throw CodecFailure.compression(.lz4, String(cString: LZ4F_getErrorName(written)))
            }
            return written
        }
    }

    static func decompress(
        _ input: UnsafeRawBufferPointer, maximumSize: Int, into output: inout ByteBuffer
    ) throws {
        var context: OpaquePointer?
        let created = LZ4F_createDecompressionContext(&context, UInt32(LZ4F_VERSION))
        guard LZ4F_isError(created) == 0, let context else {
            throw KafkaWireError(.decompressionFailed, "lz4: cannot create a decompression context")
        }
        defer { LZ4F_freeDecompressionContext(context) }

        var inputOffset = 0
        try output.writeDecompressed(
            codec: .lz4, maximumSize: maximumSize, initialSize: input.count * 4
        ) { window in
            var outputOffset = 0
            while true {
                var outputSize = window.count - outputOffset
                var inputSize = input.count - inputOffset
                let hint = LZ4F_decompress(
                    context, window.baseAddress! + outputOffset, &outputSize,
                    input.baseAddress.map { $0 + inputOffset }, &inputSize, nil)
                guard LZ4F_isError(hint) == 0 else {
                    throw CodecFailure.malformed(.lz4, String(cString: LZ4F_getErrorName(hint)))
                }
                outputOffset += outputSize
                inputOffset += inputSize
                if hint == 0 {
                    // A frame ended; the context is ready for a concatenated one.
                    if inputOffset == input.count {
                        return DecodeStep(written: outputOffset, isFinished: true)
                    }
                    continue
                }
                if outputOffset == window.count {
                    return DecodeStep(written: outputOffset, isFinished: false)
                }
                if inputSize == 0 && outputSize == 0 {
                    throw CodecFailure.truncated(.lz4)
                }
            }
        }
    }
}
