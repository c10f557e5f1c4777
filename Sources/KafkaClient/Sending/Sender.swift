import Atomics
import KafkaWire
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// Moves ready batches from the accumulator to the brokers, and everything that needs: metadata,
/// connections, retries, timeouts.
///
/// All mutable state is owned by `eventLoop`: every method except `wakeup()` and
/// `awaitMetadata` runs there. The accumulator is the only state shared with callers of `send`.
/// The decisions about Produce requests are `SenderStateMachine`'s; this class performs them and
/// does the I/O. Its facets live in `Sender+Produce.swift`, `Sender+Metadata.swift`,
/// `Sender+ProducerId.swift` and `Sender+Connections.swift` (members are internal, not private,
/// only so that those files reach them).
final class Sender: @unchecked Sendable {
    struct MetadataWaiter {
        var id: UInt64
        var continuation: CheckedContinuation<Void, any Error>
        var deadline: NIODeadline
    }

    let eventLoop: any EventLoop
    let configuration: KafkaProducerConfiguration
    let accumulator: RecordAccumulator
    let logger: Logger
    let metrics: ProducerMetrics
    let wakeupPending = ManagedAtomic(false)

    // Owned by eventLoop.
    /// What to send, and what answers mean: in-flight counts, muted partitions, retries,
    /// idempotence.
    var machine: SenderStateMachine
    /// Producer id, epoch and sequences (the state machine's); nil when no topic is idempotent.
    var idempotence: IdempotenceStateMachine? {
        get { machine.idempotence }
        _modify { yield &machine.idempotence }
    }
    /// When to ask for metadata and what answers mean.
    var metadataState: MetadataStateMachine
    /// What the producer knows of the cluster (the metadata state machine's snapshot).
    var metadata: ClusterMetadata { metadataState.snapshot }
    var metadataWaiters: [String: [MetadataWaiter]] = [:]
    var nextMetadataWaiterID: UInt64 = 0
    /// Set when the producer starts closing: no new metadata waits.
    var isClosing = false
    var nextBootstrapIndex = 0
    /// One connection per node (bootstrap servers get negative ids), with reconnect backoff and
    /// idle close.
    let pool: BrokerConnectionPool
    /// Nodes whose connection the pool is making (or waiting to retry).
    var connectingNodes: Set<Int32> = []
    /// Why the last connection attempt to a node failed, for error messages.
    var lastConnectionErrors: [Int32: KafkaProducerError] = [:]
    var timer: Scheduled<Void>?
    var timerDeadline: NIODeadline?
    /// Set once the connections are closed for good: the loop does nothing more.
    var isShutDown = false
    /// Requests drained per node whose batches are still being compressed, in drain order.
    var pendingProduces: [Int32: [PendingProduce]] = [:]
    /// Compresses batches off the event loop.
    let encoder = BatchEncoder(threads: 1)
    /// Compression state reused from batch to batch (batches without compression, and
    /// re-stamping).
    let compressionContext = KafkaCompressionContext()
    /// Set once a fatal idempotence error has failed everything queued.
    var isFatalErrorHandled = false
    /// Each topic's counters, made at its first batch.
    var topicMetrics: [String: ProducerMetrics.Topic] = [:]
    /// Read from any thread (`KafkaProducer.statistics`); written on the event loop.
    let connectionsOpen = ManagedAtomic<Int>(0)
    /// The last connection attempt's failure, until a connection succeeds again.
    let connectionFailure = NIOLockedValueBox<String?>(nil)

    init(
        configuration: KafkaProducerConfiguration, accumulator: RecordAccumulator, eventLoop: any EventLoop,
        logger: Logger, metrics: ProducerMetrics, security: BrokerSecurity = .plaintext
    ) {
        self.metrics = metrics
        self.configuration = configuration
        self.accumulator = accumulator
        self.eventLoop = eventLoop
        self.logger = logger
        self.pool = BrokerConnectionPool(configuration: configuration, security: security, eventLoop: eventLoop)
        self.machine = SenderStateMachine(configuration: configuration, accumulator: accumulator)
        self.metadataState = MetadataStateMachine(configuration: configuration)
    }

    func topicCounters(_ topic: String) -> ProducerMetrics.Topic {
        if let known = topicMetrics[topic] { return known }
        let made = metrics.topic(topic)
        topicMetrics[topic] = made
        return made
    }

    /// Asks the event loop to look for work. Cheap to call often: wakeups coalesce.
    func wakeup() {
        if wakeupPending.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged {
            eventLoop.execute { self.runOnce() }
        }
    }

    // MARK: - The loop

    func runOnce() {
        eventLoop.preconditionInEventLoop()
        wakeupPending.store(false, ordering: .releasing)
        guard !isShutDown else { return }
        let now = NIODeadline.now()

        let check = accumulator.ready(now: now, canDrain: { self.machine.canDrain($0) })
        if !check.expired.isEmpty {
            finish(
                check.expired,
                error: { batch in
                    KafkaProducerError(
                        .deliveryTimeout,
                        "\(batch.recordCount) records for \(batch.topicPartition) not delivered within delivery.timeout.ms (\(self.configuration.deliveryTimeout.milliseconds) ms)\(self.lastConnectionError(for: batch))"
                    )
                })
        }
        failExpiredMetadataWaiters(now: now)

        if check.hasUnknownLeaders { metadataState.refreshNeeded() }
        if metadataState.isDue(now: now, hasWaiters: !metadataWaiters.isEmpty) { requestMetadata(now: now) }
        if idempotence != nil { prepareIdempotence(now: now) }

        for node in check.readyNodes {
            guard let connection = readyConnection(node: node, now: now) else { continue }
            sendProduceRequests(on: connection, node: node, now: now)
        }
        scheduleTimer(now: now, nextReadyAt: check.nextReadyAt, hasIncompleteBatches: check.hasIncompleteBatches)
    }

    func scheduleTimer(now: NIODeadline, nextReadyAt: NIODeadline?, hasIncompleteBatches: Bool) {
        var next = now + TimeAmount(min(configuration.connectionsMaxIdle, configuration.metadataMaxAge) / 2)
        if let nextReadyAt { next = min(next, nextReadyAt) }
        // A retry time is cleared when its request goes out; one still in the past would spin.
        if let metadataRetryAt = metadataState.retryAt, metadataRetryAt > now { next = min(next, metadataRetryAt) }
        if let producerIdRetryAt = machine.producerIdRetryAt, producerIdRetryAt > now {
            next = min(next, producerIdRetryAt)
        }
        for waiters in metadataWaiters.values {
            for waiter in waiters { next = min(next, waiter.deadline) }
        }
        if hasIncompleteBatches {
            // Delivery timeouts of queued batches are checked at least this often.
            next = min(next, now + .milliseconds(100))
        }
        // Never a deadline already due: a task that reschedules itself at once would starve I/O.
        next = max(next, now + .milliseconds(1))
        if let timerDeadline, timerDeadline <= next, timerDeadline > now { return }
        timer?.cancel()
        timerDeadline = next
        timer = eventLoop.scheduleTask(deadline: next) {
            self.timerDeadline = nil
            self.runOnce()
        }
    }

    // MARK: - Shutdown

    /// Ends everything still queued or in flight with `error` and closes all connections. Used
    /// when close's timeout runs out.
    func abort(error: KafkaProducerError) -> EventLoopFuture<Void> {
        eventLoop.submit {
            self.machine.abort(with: error)
            self.finish(self.accumulator.drainAll(), error: { _ in error })
            self.failMetadataWaiters(error: error)
        }.flatMap { self.closeConnections() }
    }

    /// Closes every connection (after a completed flush, or from `abort`).
    func closeConnections() -> EventLoopFuture<Void> {
        eventLoop.flatSubmit {
            self.isShutDown = true
            self.encoder.shutdown()
            self.failMetadataWaiters(
                error: KafkaProducerError(.producerClosed, "the producer closed while waiting for metadata"))
            self.timer?.cancel()
            self.timer = nil
            return self.pool.close()
        }
    }

    /// The nodes with an open connection, for tests (bootstrap servers have negative ids).
    func connectedNodes() -> EventLoopFuture<[Int32]> {
        eventLoop.submit { self.pool.connectedNodes }
    }

    // MARK: - Helpers

    func producerError(_ error: any Error, node: Int32) -> KafkaProducerError {
        if let error = error as? KafkaProducerError { return error }
        return KafkaProducerError(
            .connectionFailed, "request to broker \(node) failed: \(error)", cause: error)
    }

}
