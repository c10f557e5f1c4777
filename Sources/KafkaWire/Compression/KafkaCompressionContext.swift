import CKafkaLZ4
import CKafkaZlib
import CKafkaZstd

/// Compression state kept between batches: a deflate stream, an lz4 frame context and a zstd
/// context, made on first use. Reusing them saves an allocation and a full table reset per batch, which for
/// batch-sized inputs (16 KiB by default) costs as much as the compression itself.
///
/// Not thread-safe: give each thread (a producer's event loop) its own.
public final class KafkaCompressionContext {
    private var lz4: OpaquePointer?
    private var zstd: OpaquePointer?
    private var deflateStream: UnsafeMutablePointer<z_stream>?
    private var deflateLevel: Int?

    public init() {}

    deinit {
        if let lz4 { LZ4F_freeCompressionContext(lz4) }
        if let zstd { ZSTD_freeCCtx(zstd) }
        endDeflate()
    }

    /// A deflate stream (gzip wrapper) at `level`, reset for a new member; created on first use
    /// and re-created when the level changes.
    func deflate(level: Int, windowBits: Int32) throws -> UnsafeMutablePointer<z_stream> {
        if let deflateStream, deflateLevel == level {
            guard deflateReset(deflateStream) == Z_OK else {
                throw CodecFailure.compression(.gzip, "deflateReset failed")
            }
            return deflateStream
        }
        endDeflate()
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let result = deflateInit2_(
            stream, Int32(level), Z_DEFLATED, windowBits, 8, Z_DEFAULT_STRATEGY, zlibVersion(),
            Int32(MemoryLayout<z_stream>.size))
        guard result == Z_OK else {
            stream.deinitialize(count: 1)
            stream.deallocate()
            throw CodecFailure.compression(.gzip, "deflateInit2 returned \(result)")
        }
        deflateStream = stream
        deflateLevel = level
        return stream
    }

    private func endDeflate() {
        guard let deflateStream else { return }
        deflateEnd(deflateStream)
        deflateStream.deinitialize(count: 1)
        deflateStream.deallocate()
        self.deflateStream = nil
        deflateLevel = nil
    }

    /// The lz4 frame compression context, created on first use.
    func lz4Context() throws -> OpaquePointer {
        if let lz4 { return lz4 }
        var context: OpaquePointer?
        let created = LZ4F_createCompressionContext(&context, UInt32(LZ4F_VERSION))
        guard LZ4F_isError(created) == 0, let context else {
            throw CodecFailure.compression(.lz4, "cannot create a compression context")
        }
        lz4 = context
        return context
    }

    /// The zstd compression context, created on first use.
    func zstdContext() throws -> OpaquePointer {
        if let zstd { return zstd }
        guard let context = ZSTD_createCCtx() else {
            throw CodecFailure.compression(.zstd, "cannot create a compression context")
        }
        zstd = context
        return context
    }
}
