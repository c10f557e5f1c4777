import NIOCore

// The codec entry points the record-batch writer and reader call. Each codec lives in its own
// file (`GzipCodec`, `SnappyCodec`, `LZ4Codec`, `ZstdCodec`) and writes straight into the
// ByteBuffer's writable space: compression reserves the library's worst-case bound, and
// decompression grows the output in steps that never pass `maximumSize + 1` bytes.
//
// Speed follow-up: every call creates its own library context (z_stream, LZ4F and ZSTD
// contexts). Caching one per sender thread would save an allocation per batch.

extension KafkaCompression {
    /// Appends the compressed form of `input` to `output` (one codec stream, no length prefix).
    ///
    /// `.none` copies. The level is checked with `validate()` first; a nil level means the
    /// codec's `defaultLevel`.
    ///
    /// - Throws: `KafkaWireError` `.invalidValue` for a level outside the codec's range,
    ///   `.compressionFailed` when the library refuses.
    public func compress(_ input: UnsafeRawBufferPointer, into output: inout ByteBuffer) throws {
        try compress(input, into: &output, context: nil)
    }

    /// The same, reusing `context`'s compression state across calls.
    public func compress(
        _ input: UnsafeRawBufferPointer, into output: inout ByteBuffer, context: KafkaCompressionContext?
    ) throws {
        try validate()
        let level = self.level ?? codec.defaultLevel
        switch codec {
        case .none:
            output.writeBytes(input)
        case .gzip:
            try GzipCodec.compress(
                input, level: level ?? -1, into: &output, context: context ?? KafkaCompressionContext())
        case .snappy:
            try SnappyCodec.compress(input, into: &output)
        case .lz4:
            if let context {
                try LZ4Codec.compress(
                    input, level: level ?? LZ4Codec.javaDefaultLevel, into: &output, context: context)
            } else {
                try LZ4Codec.compress(input, level: level ?? LZ4Codec.javaDefaultLevel, into: &output)
            }
        case .zstd:
            if let context {
                try ZstdCodec.compress(input, level: level ?? 3, into: &output, context: context)
            } else {
                try ZstdCodec.compress(input, level: level ?? 3, into: &output)
            }
        }
    }
}

extension KafkaCompression.Codec {
    /// Appends the decompressed form of `input` to `output`; throws .decompressionFailed when the
    /// input is malformed or would expand beyond `maximumSize` bytes (decompression-bomb guard:
    /// never allocate more than maximumSize + a small constant).
    ///
    /// `.none` copies (and also refuses more than `maximumSize` bytes). The output grows in
    /// steps capped at `maximumSize + 1` bytes beyond its writer index, so its capacity stays
    /// below ByteBuffer's power-of-two rounding of that; the libraries' own state adds a
    /// constant (the zstd window is capped, see `ZstdCodec`). An empty input is malformed for
    /// every codec except `.none`: each real codec writes at least a header.
    ///
    /// - Precondition: `maximumSize >= 0`.
    public func decompress(
        _ input: UnsafeRawBufferPointer, maximumSize: Int, into output: inout ByteBuffer
    ) throws {
        precondition(maximumSize >= 0, "maximumSize must not be negative, got \(maximumSize)")
        switch self {
        case .none:
            guard input.count <= maximumSize else {
                throw CodecFailure.tooLarge(.none, limit: maximumSize)
            }
            output.writeBytes(input)
        case .gzip:
            try GzipCodec.decompress(input, maximumSize: maximumSize, into: &output)
        case .snappy:
            try SnappyCodec.decompress(input, maximumSize: maximumSize, into: &output)
        case .lz4:
            try LZ4Codec.decompress(input, maximumSize: maximumSize, into: &output)
        case .zstd:
            try ZstdCodec.decompress(input, maximumSize: maximumSize, into: &output)
        }
    }
}

/// The errors the codecs throw, worded the same way for every codec.
enum CodecFailure {
    static func malformed(_ codec: KafkaCompression.Codec, _ detail: String) -> KafkaWireError {
        KafkaWireError(.decompressionFailed, "\(codec) input is malformed: \(detail)")
    }

    static func truncated(_ codec: KafkaCompression.Codec) -> KafkaWireError {
        KafkaWireError(.decompressionFailed, "\(codec) input ends before the end of its stream")
    }

    static func tooLarge(_ codec: KafkaCompression.Codec, limit: Int) -> KafkaWireError {
        KafkaWireError(
            .decompressionFailed, "\(codec) input expands beyond the maximum of \(limit) bytes")
    }

    static func compression(_ codec: KafkaCompression.Codec, _ detail: String) -> KafkaWireError {
        KafkaWireError(.compressionFailed, "\(codec) compression failed: \(detail)")
    }
}

/// What a streaming decoder step reports: bytes written into the window, and whether the
/// stream (every frame or member of it) has ended.
struct DecodeStep {
    var written: Int
    var isFinished: Bool
}

extension ByteBuffer {
    /// Drives a streaming decoder into this buffer without ever offering it more than
    /// `maximumSize + 1` bytes of space in total.
    ///
    /// `step` gets a window of writable bytes and must return when the window is full or the
    /// stream has ended; when the input runs out first it throws. The windows grow
    /// geometrically from `initialSize`. Producing the byte after `maximumSize` means the
    /// stream is too large, and decoding stops there. On any error the writer index goes back
    /// to where it was.
    mutating func writeDecompressed(
        codec: KafkaCompression.Codec,
        maximumSize: Int,
        initialSize: Int,
        _ step: (UnsafeMutableRawBufferPointer) throws -> DecodeStep
    ) throws {
        let start = self.writerIndex
        do {
            let allowance = maximumSize + 1  // the extra byte tells "exactly full" from "too large"
            var produced = 0
            var nextWindow = Swift.max(1, initialSize)
            while true {
                let remaining = allowance - produced
                let windowSize = Swift.min(nextWindow, remaining, 1 << 30)
                var isFinished = false
                produced += try self.writeWithUnsafeMutableBytes(minimumWritableBytes: windowSize) {
                    writable in
                    let window = UnsafeMutableRawBufferPointer(
                        rebasing: writable.prefix(Swift.min(remaining, 1 << 30)))
                    let result = try step(window)
                    isFinished = result.isFinished
                    return result.written
                }
                if produced > maximumSize { throw CodecFailure.tooLarge(codec, limit: maximumSize) }
                if isFinished { return }
                nextWindow = Swift.max(produced, 64 * 1024)
            }
        } catch {
            // Leave the caller's buffer as it was: no half-decoded bytes.
            self.moveWriterIndex(to: start)
            throw error
        }
    }
}
