import Atomics
import CoreMetrics
import KafkaWire
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A Kafka producer: serialize, partition, batch, send, retry, report — the way Kafka's own
/// producer works, in Swift, without librdkafka.
///
/// ```swift
/// var configuration = KafkaProducerConfiguration(bootstrapServers: [.init(host: "127.0.0.1", port: 9092)])
/// configuration.compression = .lz4
/// let producer = try KafkaProducer(configuration: configuration)
/// let metadata = try await producer.send(KafkaProducerRecord(topic: "logs", value: ByteBuffer(string: "hello")))
/// try await producer.close()
/// ```
///
/// Three ways in:
/// - `send(_:)` waits for the record's own `KafkaRecordMetadata`;
/// - `enqueue(_:)` and `enqueue(contentsOf:)` return as soon as the records are buffered; their
///   outcomes arrive, one report per batch, on `deliveryReports` (which such callers must read);
/// - `enqueue(contentsOf:)` takes many records under one lock, without allocating per record.
///
/// `flush()` waits until every record accepted so far has its result; `close(timeout:)` flushes,
/// then releases the connections. As a swift-service-lifecycle `Service`, `run()` waits for
/// graceful shutdown and then closes within `shutdownTimeout`.
public final class KafkaProducer: Service, Sendable {
    /// The settings in force.
    public let configuration: KafkaProducerConfiguration
    /// One report per completed batch of records accepted by `enqueue`. Records sent with
    /// `send` report only to their caller. Finishes after `close`.
    public let deliveryReports: AsyncStream<KafkaDeliveryReport>
    /// How long graceful shutdown may spend flushing before it gives up. Default: 30 s.
    public let shutdownTimeout: Duration

    private let accumulator: RecordAccumulator
    private let sender: Sender
    private let eventLoopGroup: any EventLoopGroup
    private let ownsEventLoopGroup: Bool
    private let reportContinuation: AsyncStream<KafkaDeliveryReport>.Continuation
    private let nextRecordID = ManagedAtomic<UInt64>(0)
    private let isClosed = ManagedAtomic(false)
    private let logger: Logger

    private static let instanceCounter = ManagedAtomic<Int>(0)

    /// Creates a producer. Fails with `.invalidConfiguration` naming the keys when the settings
    /// contradict each other. Connections are made on first use.
    ///
    /// - Parameters:
    ///   - eventLoopGroup: where the producer's I/O runs; by default a group of one thread owned
    ///     (and shut down) by the producer.
    ///   - shutdownTimeout: how long graceful shutdown may spend flushing.
    ///   - metricsFactory: where the producer's counters go (records sent and failed, batches,
    ///     retries, Produce requests; dimension `client_id`); by default the process's
    ///     `MetricsSystem` backend.
    public init(
        configuration: KafkaProducerConfiguration, eventLoopGroup: (any EventLoopGroup)? = nil,
        shutdownTimeout: Duration = .seconds(30), logger: Logger = Logger(label: "tributary.producer"),
        metricsFactory: (any MetricsFactory)? = nil
    ) throws {
        try configuration.validate()
        var configuration = configuration
        if configuration.clientId.isEmpty {
            let n = Self.instanceCounter.loadThenWrappingIncrement(ordering: .relaxed) + 1
            configuration.clientId = "tributary-producer-\(n)"
        }
        self.configuration = configuration
        self.shutdownTimeout = shutdownTimeout
        var logger = logger
        logger[metadataKey: "client.id"] = "\(configuration.clientId)"
        self.logger = logger
        if let eventLoopGroup {
            self.eventLoopGroup = eventLoopGroup
            self.ownsEventLoopGroup = false
        } else {
            self.eventLoopGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            self.ownsEventLoopGroup = true
        }
        let (stream, continuation) = AsyncStream<KafkaDeliveryReport>.makeStream()
        self.deliveryReports = stream
        self.reportContinuation = continuation
        self.accumulator = RecordAccumulator(settings: .init(configuration: configuration))
        self.sender = Sender(
            configuration: configuration, accumulator: accumulator, eventLoop: self.eventLoopGroup.next(),
            logger: logger,
            metrics: ProducerMetrics(
                clientId: configuration.clientId, factory: metricsFactory ?? MetricsSystem.factory),
            deliver: { continuation.yield($0) })
        // As Java's sender does: the producer id is fetched right away, not on the first send.
        if configuration.enableIdempotence { sender.wakeup() }
    }

    deinit {
        if !isClosed.load(ordering: .relaxed) && ownsEventLoopGroup {
            eventLoopGroup.shutdownGracefully { _ in }
        }
    }

    // MARK: - Sending

    /// Sends a record and waits until Kafka acknowledged it (or it failed).
    ///
    /// Waits up to `max.block.ms` for the topic's metadata and for room in `buffer.memory`, then
    /// up to `delivery.timeout.ms` for delivery.
    public func send(_ record: KafkaProducerRecord) async throws -> KafkaRecordMetadata {
        let records = [record]
        let deadline = NIODeadline.now() + TimeAmount(configuration.maxBlock)
        var reservation = 0
        let id = nextRecordID.loadThenWrappingIncrement(ordering: .relaxed)
        while true {
            do {
                return try await withCheckedThrowingContinuation { continuation in
                    let progress = accumulator.append(
                        records, from: 0, firstID: id, nowMillis: Self.nowMillis(), now: .now(),
                        reservation: &reservation, completion: { _ in .continuation(continuation) })
                    if progress.wakeSender { sender.wakeup() }
                    if let stop = progress.stop {
                        continuation.resume(throwing: Deferred(outcome: stop))
                    }
                }
            } catch let deferred as Deferred {
                reservation = try await wait(for: deferred.outcome, until: deadline)
            }
        }
    }

    /// Buffers a record without waiting for its delivery; its outcome arrives on
    /// `deliveryReports`. Waits only for metadata and memory (up to `max.block.ms`).
    @discardableResult
    public func enqueue(_ record: KafkaProducerRecord) async throws -> KafkaRecordID {
        try await enqueue(contentsOf: [record])
    }

    /// Buffers many records at once, in order, under one lock: the bulk path. Returns the id of
    /// the first record; the others follow consecutively. If a record cannot be accepted (too
    /// large, unknown partition, closed producer, `max.block.ms` ran out), the records before it
    /// stay accepted and will be reported, and the error's message says how many that was.
    @discardableResult
    public func enqueue(contentsOf records: [KafkaProducerRecord]) async throws -> KafkaRecordID {
        guard !records.isEmpty else { return nextRecordID.load(ordering: .relaxed) }
        let firstID = nextRecordID.loadThenWrappingIncrement(by: UInt64(records.count), ordering: .relaxed)
        let deadline = NIODeadline.now() + TimeAmount(configuration.maxBlock)
        var next = 0
        var reservation = 0
        while next < records.count {
            let progress = accumulator.append(
                records, from: next, firstID: firstID + UInt64(next), nowMillis: Self.nowMillis(), now: .now(),
                reservation: &reservation, completion: { _ in .report })
            if progress.wakeSender { sender.wakeup() }
            next = progress.next
            guard let stop = progress.stop else { break }
            do {
                reservation = try await wait(for: stop, until: deadline)
            } catch let error as KafkaProducerError {
                throw records.count > 1 ? Self.annotate(error, stoppedAt: next, of: records.count) : error
            }
        }
        return firstID
    }

    /// Buffers a block of records (one topic, keys and values as ranges of one buffer): the
    /// cheapest bulk path, with no per-record reference counting. Returns the id of the first
    /// record; the others follow consecutively. Errors as for `enqueue(contentsOf:)`; a block
    /// with a range outside its buffer fails with `.serializationFailed` before anything is
    /// accepted.
    @discardableResult
    public func enqueue(_ block: KafkaRecordBlock) async throws -> KafkaRecordID {
        guard !block.records.isEmpty else { return nextRecordID.load(ordering: .relaxed) }
        guard block.rangesAreValid else {
            throw KafkaProducerError(
                .serializationFailed,
                "a record block for \(block.topic) has ranges outside its \(block.bytes.readableBytes) bytes")
        }
        let count = block.records.count
        let firstID = nextRecordID.loadThenWrappingIncrement(by: UInt64(count), ordering: .relaxed)
        let deadline = NIODeadline.now() + TimeAmount(configuration.maxBlock)
        var next = 0
        var reservation = 0
        while next < count {
            let progress = accumulator.append(
                block: block, from: next, firstID: firstID + UInt64(next), nowMillis: Self.nowMillis(), now: .now(),
                reservation: &reservation)
            if progress.wakeSender { sender.wakeup() }
            next = progress.next
            guard let stop = progress.stop else { break }
            do {
                reservation = try await wait(for: stop, until: deadline)
            } catch let error as KafkaProducerError {
                throw Self.annotate(error, stoppedAt: next, of: count)
            }
        }
        return firstID
    }

    /// Says in a bulk call's error how many of its records were accepted before it stopped.
    private static func annotate(_ error: KafkaProducerError, stoppedAt next: Int, of count: Int) -> KafkaProducerError
    {
        var error = error
        error.acceptedRecordCount = next
        error.message +=
            next == 0
            ? " (none of the \(count) records was accepted)"
            : " (at record \(next) of \(count); the \(next) before it were accepted)"
        return error
    }

    /// Handles why an append stopped: waits for metadata or memory (returning a memory
    /// reservation), or throws the record's error.
    private func wait(for outcome: RecordAccumulator.AppendOutcome, until deadline: NIODeadline) async throws -> Int {
        switch outcome {
        case .appended:
            return 0
        case .failed(let error):
            throw error
        case .needsMetadata(let topic):
            try await sender.awaitMetadata(topic: topic, deadline: deadline)
            return 0
        case .needsMemory(let bytes):
            return try await reserveMemory(bytes: bytes, until: deadline)
        }
    }

    private func reserveMemory(bytes: Int, until deadline: NIODeadline) async throws -> Int {
        let eventLoop = sender.eventLoop
        let timeout = ScheduledTimeout()
        defer { timeout.cancel() }
        let configuration = self.configuration
        let accumulator = self.accumulator
        return try await accumulator.reserveMemory(bytes: bytes) { id in
            timeout.set(
                eventLoop.scheduleTask(deadline: deadline) {
                    accumulator.failMemoryWaiter(
                        id: id,
                        error: KafkaProducerError(
                            .bufferExhausted,
                            "buffer.memory (\(configuration.bufferMemory) bytes) stayed full for max.block.ms (\(configuration.maxBlock.milliseconds) ms)"
                        ))
                })
        }
    }

    // MARK: - Flush and close

    /// Waits until every record accepted before this call has its result (delivered or failed).
    /// Batches are sent at once, without waiting for `linger.ms`.
    public func flush() async {
        await accumulator.flush(wakeSender: { sender.wakeup() })
    }

    /// Stops accepting records, flushes, and closes the connections. Records still undelivered
    /// when `timeout` runs out fail with `.producerClosed` (and are reported): nothing accepted is
    /// dropped silently. Calling it again does nothing.
    public func close(timeout: Duration = .seconds(30)) async {
        guard isClosed.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
        else { return }
        accumulator.close()
        sender.stopAcceptingRecords()
        // The timeout is a timer on the sender's loop, not a task racing the flush: a flush
        // cannot be cancelled, and a task group would wait for it anyway (a broker that never
        // answers would hold close until delivery.timeout.ms).
        let sender = self.sender
        let logger = self.logger
        let abort = sender.eventLoop.scheduleTask(in: TimeAmount(timeout)) {
            logger.warning("close timed out; failing what was not delivered", metadata: ["timeout": "\(timeout)"])
            _ = sender.abort(
                error: KafkaProducerError(
                    .producerClosed,
                    "the producer closed before these records were delivered (close timeout \(timeout))"))
        }
        // Once aborted, every batch ends: queued ones at once, in-flight ones as their
        // connections close.
        await flush()
        abort.cancel()
        try? await sender.closeConnections().get()
        reportContinuation.finish()
        if ownsEventLoopGroup {
            try? await eventLoopGroup.shutdownGracefully()
        }
    }

    /// Runs until graceful shutdown, then closes within `shutdownTimeout`.
    public func run() async throws {
        try? await gracefulShutdown()
        await close(timeout: shutdownTimeout)
    }

    // MARK: - Helpers

    /// Carries an append's stop reason out of a continuation closure.
    private struct Deferred: Error {
        var outcome: RecordAccumulator.AppendOutcome
    }

    static func nowMillis() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000
    }

}

/// The max.block.ms timer of one memory wait; set from inside the accumulator's lock, cancelled
/// by the waiting task.
private final class ScheduledTimeout: Sendable {
    private let task = Mutex<Scheduled<Void>?>(nil)
    func set(_ scheduled: Scheduled<Void>) { task.withLock { $0 = scheduled } }
    func cancel() { task.withLock { $0?.cancel() } }
}
