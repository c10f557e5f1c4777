import Atomics
import KafkaWire
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Compresses record batches on threads of its own, off the sender's event loop: a gzip-9 or
/// zstd-19 batch takes milliseconds, and on the loop it would stall the reads, writes and
/// timers of every connection (another topic's acknowledgements among them).
///
/// Each thread uses its own `KafkaCompressionContext` (they are not thread-safe), taken from a
/// small free list and put back after each batch, so contexts are still reused batch to batch.
/// `@unchecked Sendable`: a context is used by one thread at a time (taken and returned under
/// the lock); everything else is Sendable.
final class BatchEncoder: @unchecked Sendable {
    private let pool: NIOThreadPool
    private let contexts = NIOLockedValueBox<[KafkaCompressionContext]>([])
    /// Batches compressed here, and those that found themselves on an event loop (tests).
    let encodedBatches = ManagedAtomic(0)
    let encodedOnEventLoop = ManagedAtomic(0)
    /// Compress on the caller's event loop instead, as the sender did before this type existed:
    /// for the side-by-side figure and to show the tests can tell the difference.
    let compressesOnEventLoop = ManagedAtomic(false)

    init(threads: Int) {
        pool = NIOThreadPool(numberOfThreads: max(threads, 1))
        pool.start()
    }

    /// Finishes `writer` (compression, header with `producerState`, CRC) on the pool; the
    /// future completes on `eventLoop`.
    func encode(
        _ writer: RecordBatchWriter, compression: KafkaCompression, producerState: KafkaProducerState,
        on eventLoop: any EventLoop
    ) -> EventLoopFuture<ByteBuffer> {
        if compressesOnEventLoop.load(ordering: .relaxed) {
            return eventLoop.submit { [self] in
                try finish(writer, compression: compression, producerState: producerState)
            }
        }
        return pool.runIfActive(eventLoop: eventLoop) { [self] in
            try finish(writer, compression: compression, producerState: producerState)
        }
    }

    private func finish(
        _ writer: RecordBatchWriter, compression: KafkaCompression, producerState: KafkaProducerState
    ) throws -> ByteBuffer {
        if MultiThreadedEventLoopGroup.currentEventLoop != nil {
            encodedOnEventLoop.wrappingIncrement(ordering: .relaxed)
        }
        encodedBatches.wrappingIncrement(ordering: .relaxed)
        let context = contexts.withLockedValue { $0.popLast() } ?? KafkaCompressionContext()
        defer { contexts.withLockedValue { $0.append(context) } }
        let open = writer
        return try open.finish(compression: compression, producerState: producerState, context: context)
    }

    func shutdown() {
        pool.shutdownGracefully { _ in }
    }
}

extension KafkaCompression {
    /// Whether compressing a batch costs enough to stall an event loop: gzip at any level (tens
    /// of MB/s), zstd above level 3 and lz4's high-compression levels (above 9). lz4, snappy and
    /// zstd up to level 3 run at hundreds of MB/s and are finished inline.
    var isExpensive: Bool {
        switch codec {
        case .none, .snappy: false
        case .gzip: true
        case .lz4: (level ?? 9) > 9
        case .zstd: (level ?? 3) > 3
        }
    }
}
