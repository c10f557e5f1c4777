import CKafkaLZ4
import CKafkaZstd

/// Compression state kept between batches: an lz4 frame context and a zstd context, made on
/// first use. Reusing them saves an allocation and a full table reset per batch, which for
/// batch-sized inputs (16 KiB by default) costs as much as the compression itself.
///
/// Not thread-safe: give each thread (a producer's event loop) its own.
public final class KafkaCompressionContext {
    private var lz4: OpaquePointer?
    private var zstd: OpaquePointer?

    public init() {}

    deinit {
        if let lz4 { LZ4F_freeCompressionContext(lz4) }
        if let zstd { ZSTD_freeCCtx(zstd) }
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
