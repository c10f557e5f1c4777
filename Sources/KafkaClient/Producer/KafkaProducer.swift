import Atomics
import CoreMetrics
import KafkaWire
import Logging
import NIOConcurrencyHelpers
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
/// - `enqueue(contentsOf:firstID:reportingTo:)` returns as soon as the records are buffered;
///   their outcomes arrive on the caller's own `KafkaDeliveryReports` (from
///   `makeDeliveryReports(capacity:)`), naming the records by the ids the caller gave them. Any
///   number of callers share one producer, each with its own reports, in bounded memory;
/// - `enqueue(_:firstID:reportingTo:)` takes a `KafkaRecordBlock` (one buffer, many records): the
///   bulk path, without allocating per record.
///
/// `flush()` waits until every record accepted so far has its result; `close(timeout:)` flushes,
/// then releases the connections and ends every report stream. As a swift-service-lifecycle
/// `Service`, `run()` waits for graceful shutdown and then closes within `shutdownTimeout`.
public final class KafkaProducer: Service, Sendable {
    /// The settings in force.
    public let configuration: KafkaProducerConfiguration
    /// How long graceful shutdown may spend flushing before it gives up. Default: 30 s.
    public let shutdownTimeout: Duration

    private let accumulator: RecordAccumulator
    /// Internal for tests (the encoder's counters).
    let sender: Sender
    private let eventLoopGroup: any EventLoopGroup
    private let ownsEventLoopGroup: Bool
    /// Every report stream made, to end them at close (weak: a caller that drops its stream
    /// drops it).
    private let reportStreams = NIOLockedValueBox<[WeakReports]>([])
    private let isClosed = ManagedAtomic(false)
    private let logger: Logger

    private static let instanceCounter = ManagedAtomic<Int>(0)

    /// Creates a producer. Fails with `.invalidConfiguration` naming the keys when the settings
    /// contradict each other, or naming the setting and file when a TLS file cannot be read (the
    /// PEM files are read here, once). Connections are made on first use.
    ///
    /// - Parameters:
    ///   - eventLoopGroup: where the producer's I/O runs; by default a group of one thread owned
    ///     (and shut down) by the producer.
    ///   - shutdownTimeout: how long graceful shutdown may spend flushing.
    ///   - metricsFactory: where the producer's instruments go (records sent and failed and
    ///     bytes sent per topic; batches, retries, Produce requests, their latency; buffer use
    ///     and open connections, see `exportStatistics()`; dimension `client_id`); by default
    ///     the process's `MetricsSystem` backend.
    public init(
        configuration: KafkaProducerConfiguration, eventLoopGroup: (any EventLoopGroup)? = nil,
        shutdownTimeout: Duration = .seconds(30), logger: Logger = Logger(label: "tributary.producer"),
        metricsFactory: (any MetricsFactory)? = nil
    ) throws {
        try configuration.validate()
        // Before any thread starts: a TLS file that cannot be read fails here.
        let security = try BrokerSecurity(configuration: configuration)
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
        self.accumulator = RecordAccumulator(settings: .init(configuration: configuration))
        self.sender = Sender(
            configuration: configuration, accumulator: accumulator, eventLoop: self.eventLoopGroup.next(),
            logger: logger,
            metrics: ProducerMetrics(
                clientId: configuration.clientId, factory: metricsFactory ?? MetricsSystem.factory),
            security: security)
        // As Java's sender does: the producer id is fetched right away, not on the first send.
        if configuration.enableIdempotence { sender.wakeup() }
    }

    deinit {
        guard !isClosed.load(ordering: .relaxed) else { return }
        sender.encoder.shutdown()
        if ownsEventLoopGroup {
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
        while true {
            do {
                return try await withCheckedThrowingContinuation { continuation in
                    let progress = accumulator.append(
                        records, from: 0, firstID: 0, nowMillis: Self.nowMillis(), now: .now(),
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

    /// A new stream for one caller's delivery reports, holding at most `capacity` records
    /// (appended and not yet read) before that caller's appends wait. Records count from their
    /// append, so the capacity should cover what `buffer.memory` can hold of that caller's
    /// records, or it throttles before memory does. A report takes 16 bytes per record (id and
    /// timestamp): the default of 1,048,576 records bounds a caller's unread reports to 16 MiB.
    public func makeDeliveryReports(capacity: Int = 1_048_576) -> KafkaDeliveryReports {
        let reports = KafkaDeliveryReports(capacity: capacity)
        let closed = reportStreams.withLockedValue { streams in
            streams.removeAll { $0.core == nil }
            streams.append(WeakReports(core: reports.core))
            return isClosed.load(ordering: .acquiring)
        }
        if closed { reports.finish() }
        return reports
    }

    /// Buffers a record without waiting for its delivery; its outcome arrives on `reports`
    /// under `id`. Waits only for room (metadata, memory, unread reports: up to `max.block.ms`).
    public func enqueue(_ record: KafkaProducerRecord, id: KafkaRecordID, reportingTo reports: KafkaDeliveryReports)
        async throws
    {
        try await enqueue(contentsOf: [record], firstID: id, reportingTo: reports)
    }

    /// Buffers many records at once, in order, under one lock: the bulk path. The records are
    /// reported on `reports` under the ids `firstID`, `firstID + 1`, …. If a record cannot be
    /// accepted (too large, unknown partition, closed producer, cancelled, `max.block.ms` ran
    /// out), the records before it stay accepted and will be reported, and the error's
    /// `acceptedRecordCount` and message say how many that was.
    public func enqueue(
        contentsOf records: [KafkaProducerRecord], firstID: KafkaRecordID, reportingTo reports: KafkaDeliveryReports
    ) async throws {
        try await appendAll(count: records.count, reportingTo: reports) { next, reservation in
            accumulator.append(
                records, from: next, firstID: firstID &+ UInt64(next), nowMillis: Self.nowMillis(), now: .now(),
                reservation: &reservation, completion: { _ in .report(reports) })
        }
    }

    /// Buffers a block of records (one topic, keys and values as ranges of one buffer): the
    /// cheapest bulk path, with no per-record reference counting. Ids and errors as for
    /// `enqueue(contentsOf:firstID:reportingTo:)`; a block with a range outside its buffer fails
    /// with `.serializationFailed` before anything is accepted.
    public func enqueue(_ block: KafkaRecordBlock, firstID: KafkaRecordID, reportingTo reports: KafkaDeliveryReports)
        async throws
    {
        guard !block.records.isEmpty else { return }
        guard block.rangesAreValid else {
            throw KafkaProducerError(
                .serializationFailed,
                "a record block for \(block.topic) has ranges outside its \(block.bytes.readableBytes) bytes")
        }
        try await appendAll(count: block.records.count, reportingTo: reports) { next, reservation in
            accumulator.append(
                block: block, from: next, firstID: firstID &+ UInt64(next), nowMillis: Self.nowMillis(), now: .now(),
                reservation: &reservation, reportingTo: reports)
        }
    }

    /// The bulk paths' loop: takes report room for `count` records, appends from where the last
    /// slice stopped, waits for metadata or memory when asked, and gives back the room of the
    /// records that were not accepted. `append(next, &reservation)` appends from record `next`.
    private func appendAll(
        count: Int, reportingTo reports: KafkaDeliveryReports,
        append: (Int, inout Int) -> RecordAccumulator.AppendProgress
    ) async throws {
        guard count > 0 else { return }
        let deadline = NIODeadline.now() + TimeAmount(configuration.maxBlock)
        try await takeReportRoom(reports, count: count, until: deadline)
        var next = 0
        var reservation = 0
        defer { reports.release(count: count - next) }
        while next < count {
            let progress = append(next, &reservation)
            if progress.wakeSender { sender.wakeup() }
            next = progress.next
            guard let stop = progress.stop else { break }
            do {
                reservation = try await wait(for: stop, until: deadline)
            } catch let error as KafkaProducerError {
                throw Self.annotate(error, stoppedAt: next, of: count)
            }
        }
    }

    /// Takes places for `count` records in `reports`, waiting up to `deadline` for the caller
    /// to read what is outstanding.
    private func takeReportRoom(_ reports: KafkaDeliveryReports, count: Int, until deadline: NIODeadline) async throws {
        if reports.hasRoom(for: count) { return }
        let eventLoop = sender.eventLoop
        let timeout = ScheduledTimeout()
        defer { timeout.cancel() }
        let capacity = reports.capacity
        let maxBlock = configuration.maxBlock
        do {
            try await reports.acquire(count: count) { id in
                timeout.set(
                    eventLoop.scheduleTask(deadline: deadline) {
                        reports.failCreditWaiter(
                            id: id,
                            error: KafkaProducerError(
                                .deliveryReportsFull,
                                "delivery reports were not read: \(reports.outstandingRecords) records outstanding (capacity \(capacity)) for max.block.ms (\(maxBlock.milliseconds) ms)"
                            ))
                    })
            }
        } catch let error as KafkaProducerError {
            throw Self.annotate(error, stoppedAt: 0, of: count)
        }
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

    /// Waits until the cluster has answered with `topic`'s partitions and their leaders, the
    /// metadata a first send needs: a caller's way to learn that the brokers answer.
    ///
    /// - Throws: `.metadataTimeout` after `timeout` (the message says what the brokers did
    ///   answer), `.producerClosed` once the producer is closed.
    public func waitForMetadata(topic: String, timeout: Duration) async throws {
        try await sender.awaitMetadata(topic: topic, deadline: .now() + TimeAmount(timeout))
    }

    // MARK: - Statistics

    /// Buffer use and broker reachability now.
    public var statistics: KafkaProducerStatistics {
        KafkaProducerStatistics(
            bufferMemoryUsed: accumulator.memoryInUse, bufferMemory: configuration.bufferMemory,
            connectionsOpen: sender.connectionsOpen.load(ordering: .relaxed),
            connectionError: sender.connectionFailure.withLockedValue { $0 })
    }

    /// Brings the producer's gauges (buffer use, open connections) up to date; its counters
    /// and the request latency histogram are always current. Call it as often as the gauges
    /// should move, e.g. once a second.
    @discardableResult
    public func exportStatistics() -> KafkaProducerStatistics {
        let statistics = self.statistics
        sender.metrics.bufferMemoryUsed.record(statistics.bufferMemoryUsed)
        sender.metrics.bufferMemory.record(statistics.bufferMemory)
        sender.metrics.connectionsOpen.record(statistics.connectionsOpen)
        return statistics
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
        for stream in reportStreams.withLockedValue({ $0 }) {
            if let core = stream.core { KafkaDeliveryReports.finish(core) }
        }
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

private struct WeakReports: Sendable {
    weak var core: KafkaDeliveryReports.Core?
}

/// The max.block.ms timer of one memory wait; set from inside the accumulator's lock, cancelled
/// by the waiting task.
private final class ScheduledTimeout: Sendable {
    private let task = Mutex<Scheduled<Void>?>(nil)
    func set(_ scheduled: Scheduled<Void>) { task.withLock { $0 = scheduled } }
    func cancel() { task.withLock { $0?.cancel() } }
}
