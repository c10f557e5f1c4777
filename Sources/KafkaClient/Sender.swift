import Atomics
import KafkaWire
import Logging
import NIOCore

/// Moves ready batches from the accumulator to the brokers, and everything that needs: metadata,
/// connections, retries, timeouts.
///
/// All mutable state is owned by `eventLoop`: every method except `wakeup()` and
/// `awaitMetadata` runs there. The accumulator is the only state shared with callers of `send`.
final class Sender: @unchecked Sendable {
    private struct MetadataWaiter {
        var id: UInt64
        var continuation: CheckedContinuation<Void, any Error>
        var deadline: NIODeadline
    }

    let eventLoop: any EventLoop
    let configuration: KafkaProducerConfiguration
    let accumulator: RecordAccumulator
    let logger: Logger
    let metrics: ProducerMetrics
    private let wakeupPending = ManagedAtomic(false)

    // Owned by eventLoop.
    /// What to send, and what answers mean: in-flight counts, muted partitions, retries,
    /// idempotence.
    var machine: SenderStateMachine
    /// Producer id, epoch and sequences (the state machine's); nil when no topic is idempotent.
    var idempotence: IdempotenceStateMachine? {
        get { machine.idempotence }
        _modify { yield &machine.idempotence }
    }
    private var metadata = ClusterMetadata.empty
    private var wantedTopics: [String: NIODeadline] = [:]
    private var metadataWaiters: [String: [MetadataWaiter]] = [:]
    private var nextMetadataWaiterID: UInt64 = 0
    /// Set when the producer starts closing: no new metadata waits.
    private var isClosing = false
    private var isMetadataRequestInFlight = false
    private var isMetadataRefreshNeeded = true
    private var lastMetadataRefresh: NIODeadline?
    private var metadataRetryAt: NIODeadline?
    private var metadataFailures = 0
    /// Why the last Metadata request failed (cleared by an answer), for max.block.ms errors.
    private var lastMetadataError: KafkaProducerError?
    private var nextBootstrapIndex = 0
    /// One connection per node (bootstrap servers get negative ids), with reconnect backoff and
    /// idle close.
    private let pool: BrokerConnectionPool
    /// Nodes whose connection the pool is making (or waiting to retry).
    private var connectingNodes: Set<Int32> = []
    /// Why the last connection attempt to a node failed, for error messages.
    private var lastConnectionErrors: [Int32: KafkaProducerError] = [:]
    private var timer: Scheduled<Void>?
    private var timerDeadline: NIODeadline?
    /// Set once the connections are closed for good: the loop does nothing more.
    private var isShutDown = false
    /// Requests drained per node whose batches are still being compressed, in drain order.
    private var pendingProduces: [Int32: [PendingProduce]] = [:]
    /// Compresses batches off the event loop.
    let encoder = BatchEncoder(threads: 1)
    /// Compression state reused from batch to batch (batches without compression, and
    /// re-stamping).
    private let compressionContext = KafkaCompressionContext()
    private var isProducerIdRequestInFlight = false
    private var producerIdRetryAt: NIODeadline?
    private var producerIdFailures = 0
    /// Why the last InitProducerId attempt failed, for error messages.
    private var lastProducerIdError: KafkaProducerError?
    /// Set once a fatal idempotence error has failed everything queued.
    private var isFatalErrorHandled = false

    init(
        configuration: KafkaProducerConfiguration, accumulator: RecordAccumulator, eventLoop: any EventLoop,
        logger: Logger, metrics: ProducerMetrics
    ) {
        self.metrics = metrics
        self.configuration = configuration
        self.accumulator = accumulator
        self.eventLoop = eventLoop
        self.logger = logger
        self.pool = BrokerConnectionPool(configuration: configuration, eventLoop: eventLoop)
        self.machine = SenderStateMachine(configuration: configuration, accumulator: accumulator)
    }

    /// Asks the event loop to look for work. Cheap to call often: wakeups coalesce.
    func wakeup() {
        if wakeupPending.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged {
            eventLoop.execute { self.runOnce() }
        }
    }

    // MARK: - The loop

    private func runOnce() {
        eventLoop.preconditionInEventLoop()
        wakeupPending.store(false, ordering: .releasing)
        guard !isShutDown else { return }
        let now = NIODeadline.now()

        if let last = lastMetadataRefresh, last + TimeAmount(configuration.metadataMaxAge) <= now {
            isMetadataRefreshNeeded = true
        }
        let machine = self.machine
        let check = accumulator.ready(now: now, canDrain: { machine.canDrain($0) })
        if !check.expired.isEmpty {
            finish(
                check.expired,
                error: { batch in
                    KafkaProducerError(
                        .deliveryTimeout,
                        "\(batch.recordCount) records for \(batch.topicPartition) not delivered within delivery.timeout.ms (\(self.configuration.deliveryTimeout.milliseconds) ms)\(self.lastConnectionError(for: batch.topicPartition))"
                    )
                })
        }
        failExpiredMetadataWaiters(now: now)

        if check.hasUnknownLeaders { isMetadataRefreshNeeded = true }
        if isMetadataRefreshNeeded || !metadataWaiters.isEmpty { requestMetadata(now: now) }
        if idempotence != nil { prepareIdempotence(now: now) }

        for node in check.readyNodes {
            guard let connection = readyConnection(node: node, now: now) else { continue }
            sendProduceRequests(on: connection, node: node, now: now)
        }
        scheduleTimer(now: now, nextReadyAt: check.nextReadyAt, hasIncompleteBatches: check.hasIncompleteBatches)
    }

    private func scheduleTimer(now: NIODeadline, nextReadyAt: NIODeadline?, hasIncompleteBatches: Bool) {
        var next = now + TimeAmount(min(configuration.connectionsMaxIdle, configuration.metadataMaxAge) / 2)
        if let nextReadyAt { next = min(next, nextReadyAt) }
        // A retry time is cleared when its request goes out; one still in the past would spin.
        if let metadataRetryAt, metadataRetryAt > now { next = min(next, metadataRetryAt) }
        if let producerIdRetryAt, producerIdRetryAt > now { next = min(next, producerIdRetryAt) }
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

    // MARK: - Produce

    /// Drains the node's next requests (the state machine decides which) and prepares them.
    private func sendProduceRequests(on connection: BrokerConnection, node: Int32, now: NIODeadline) {
        guard let produceVersion = connection.apiVersions[.produce] else {
            logger.error(
                "broker does not support any Produce version this client speaks", metadata: ["node": "\(node)"])
            return
        }
        for request in machine.nextRequests(node: node, now: now) {
            prepareProduce(request, on: connection, version: produceVersion)
        }
    }

    /// A Produce request whose batches are being compressed on the `BatchEncoder`. A partition's
    /// requests go out in the order they were drained (sequence order for idempotent
    /// partitions), so a ready request waits only for earlier ones that share a partition with
    /// it; other topics' requests overtake it. Owned by the event loop.
    final class PendingProduce {
        let request: SenderStateMachine.Request
        let connection: BrokerConnection
        let version: Int16
        var remainingEncodes = 0
        var encodeErrors: [UInt64: any Error] = [:]

        init(request: SenderStateMachine.Request, connection: BrokerConnection, version: Int16) {
            self.request = request
            self.connection = connection
            self.version = version
        }
    }

    /// Sends the request when no batch needs expensive compression, else compresses those batches
    /// off the loop and sends it when they are done.
    private func prepareProduce(_ request: SenderStateMachine.Request, on connection: BrokerConnection, version: Int16)
    {
        let node = request.node
        let pending = PendingProduce(request: request, connection: connection, version: version)
        pendingProduces[node, default: []].append(pending)
        // Cheap codecs are finished inline at send time: the pool is for what would stall the loop
        // (and a cheap batch queued behind expensive ones on the pool would wait for them).
        for batch in request.batches where batch.needsEncoding && batch.settings.compression.isExpensive {
            pending.remainingEncodes += 1
            let (writer, producerState) = batch.takeWriterForEncoding()
            encoder.encode(writer, compression: batch.settings.compression, producerState: producerState, on: eventLoop)
                .whenComplete { result in
                    switch result {
                    case .success(let bytes): batch.installEncoded(bytes, producerState: producerState)
                    case .failure(let error): pending.encodeErrors[batch.serial] = error
                    }
                    pending.remainingEncodes -= 1
                    if pending.remainingEncodes == 0 { self.sendReadyProduces(node: node) }
                }
        }
        if pending.remainingEncodes == 0 { sendReadyProduces(node: node) }
    }

    /// Sends the node's prepared requests that are ready and have no earlier unsent request for
    /// one of their partitions.
    private func sendReadyProduces(node: Int32) {
        guard var pending = pendingProduces[node] else { return }
        var waitingPartitions: Set<TopicPartition> = []
        var ready: [PendingProduce] = []
        pending.removeAll { prepared in
            let partitions = prepared.request.batches.map(\.topicPartition)
            guard prepared.remainingEncodes == 0, waitingPartitions.isDisjoint(with: partitions) else {
                waitingPartitions.formUnion(partitions)
                return false
            }
            ready.append(prepared)
            return true
        }
        pendingProduces[node] = pending.isEmpty ? nil : pending
        for prepared in ready { sendProduce(prepared) }
    }

    private func sendProduce(_ pending: PendingProduce) {
        let node = pending.request.node
        let acks = pending.request.acks
        var topics: [String: [ProduceRequest.PartitionProduceData]] = [:]
        var sendable: [ProducerBatch] = []
        var unsendable: [SenderStateMachine.Outcome] = []
        for batch in pending.request.batches {
            do {
                if let error = pending.encodeErrors[batch.serial] { throw error }
                let bytes = try batch.encode(context: compressionContext)
                topics[batch.topicPartition.topic, default: []].append(
                    .init(index: batch.topicPartition.partition, records: bytes))
                sendable.append(batch)
            } catch {
                // Its records went to the encoder and did not come back: it cannot be retried.
                let failure =
                    machine.abortError
                    ?? KafkaProducerError(
                        .encodingFailed, "could not encode the batch for \(batch.topicPartition)",
                        cause: error as? KafkaWireError)
                unsendable.append(machine.fail(batch, failure))
                machine.unmute([batch])
            }
        }
        perform(unsendable)
        guard !sendable.isEmpty else {
            machine.requestFinished(node: node, batches: [])
            wakeup()
            return
        }
        let batches = sendable
        let request = ProduceRequest(
            acks: acks.rawValue, timeoutMs: Int32(clamping: configuration.requestTimeout.milliseconds),
            topicData: topics.map { .init(name: $0.key, partitionData: $0.value) })
        metrics.produceRequests.increment()

        if acks == .none {
            pending.connection.sendWithoutResponse(request, version: pending.version).whenComplete { result in
                self.machine.requestFinished(node: node, batches: batches)
                switch result {
                case .success:
                    self.perform(batches.map { .complete($0, baseOffset: -1, logAppendTime: -1, isDuplicate: false) })
                case .failure(let error):
                    self.isMetadataRefreshNeeded = true
                    self.perform(
                        self.machine.produceFailed(batches, error: self.producerError(error, node: node), now: .now()))
                }
                self.wakeup()
            }
        } else {
            pending.connection.send(request, version: pending.version, expecting: ProduceResponse.self).whenComplete {
                result in
                self.machine.requestFinished(node: node, batches: batches)
                switch result {
                case .success(let response):
                    self.perform(self.machine.produceAnswered(response, batches: batches, node: node, now: .now()))
                case .failure(let error):
                    self.isMetadataRefreshNeeded = true
                    self.perform(
                        self.machine.produceFailed(batches, error: self.producerError(error, node: node), now: .now()))
                }
                self.handleFatalErrorIfAny()
                self.wakeup()
            }
        }
    }

    /// Performs the state machine's outcomes: reports and waiting sends for completions and
    /// failures, logs and counters for retries and splits.
    private func perform(_ outcomes: [SenderStateMachine.Outcome]) {
        guard !outcomes.isEmpty else { return }
        var done: [ProducerBatch] = []
        for outcome in outcomes {
            switch outcome {
            case .complete(let batch, let baseOffset, let logAppendTime, let isDuplicate):
                if isDuplicate {
                    logger.debug(
                        "the broker already had this batch (DUPLICATE_SEQUENCE_NUMBER); its offset is unknown",
                        metadata: ["partition": "\(batch.topicPartition)", "records": "\(batch.recordCount)"])
                }
                for (reports, report) in batch.complete(baseOffset: baseOffset, logAppendTime: logAppendTime) {
                    reports.deliver(report)
                }
                metrics.recordsSent.increment(by: batch.recordCount)
                metrics.batchesSent.increment()
                done.append(batch)
            case .retry(let batch, let error, let backoff):
                if error.brokerErrorCode?.invalidatesMetadata == true { isMetadataRefreshNeeded = true }
                logger.debug(
                    "retrying batch",
                    metadata: [
                        "partition": "\(batch.topicPartition)", "attempt": "\(batch.attempts)",
                        "backoff_ms": "\(backoff.nanoseconds / 1_000_000)", "error": "\(error)",
                    ])
                metrics.retries.increment()
            case .split(let batch):
                logger.info(
                    "splitting a batch the broker refused as too large",
                    metadata: ["partition": "\(batch.topicPartition)", "records": "\(batch.recordCount)"])
            case .fail(let batch, let error):
                logger.warning(
                    "records failed", metadata: ["partition": "\(batch.topicPartition)", "error": "\(error)"])
                for (reports, report) in batch.fail(error) { reports.deliver(report) }
                metrics.recordsFailed.increment(by: batch.recordCount)
                done.append(batch)
            }
        }
        accumulator.complete(done)
    }

    /// Ends batches that never got an answer (expired, aborted, fatal) with `error`.
    private func finish(_ batches: [ProducerBatch], error: (ProducerBatch) -> KafkaProducerError) {
        perform(batches.map { machine.fail($0, error($0)) })
    }

    // MARK: - Idempotence

    /// Before draining: bumps the epoch if a partition needs its sequences reset, asks for a
    /// producer id when there is none, and fails everything once idempotence cannot go on.
    private func prepareIdempotence(now: NIODeadline) {
        let resets = idempotence!.prepareToDrain()
        report(resets)
        if idempotence!.needsProducerId { requestProducerId(now: now) }
        handleFatalErrorIfAny()
    }

    private func report(_ resets: [IdempotenceStateMachine.SequenceReset]) {
        for reset in resets {
            metrics.sequenceResets[reset.reason]?.increment()
            logger.warning(
                "sequences of a partition restart at 0 under a new producer epoch",
                metadata: [
                    "partition": "\(reset.topicPartition)", "reason": "\(reset.reason.rawValue)",
                    "producer_id": "\(reset.producerIdAndEpoch.producerId)",
                    "producer_epoch": "\(reset.producerIdAndEpoch.epoch)",
                    "rewritten_batches": "\(reset.rewrittenBatches)",
                ])
        }
    }

    /// InitProducerId with no transactional id (and producer id/epoch −1, so a broker hands out
    /// a fresh id; epochs are bumped locally) to the least busy broker. Retriable failures are
    /// retried with the retry backoff; a refusal is fatal.
    private func requestProducerId(now: NIODeadline) {
        guard !isProducerIdRequestInFlight else { return }
        if let producerIdRetryAt, producerIdRetryAt > now { return }
        guard let connection = metadataConnection(now: now) else { return }
        guard let version = connection.apiVersions[.initProducerId] else {
            idempotence!.failFatally(
                KafkaProducerError(
                    .idempotenceFailed,
                    "broker \(connection.nodeId) at \(connection.address) does not support InitProducerId (Kafka 0.11+ needed), so the "
                        + "producer cannot be idempotent; set enable.idempotence=false to produce without it"))
            return
        }
        isProducerIdRequestInFlight = true
        producerIdRetryAt = nil
        let request = InitProducerIdRequest()
        connection.send(request, version: version, expecting: InitProducerIdResponse.self).whenComplete { result in
            self.isProducerIdRequestInFlight = false
            switch result {
            case .success(let response):
                let code = KafkaErrorCode(rawValue: response.errorCode)
                if code == .none, response.producerId < 0 || response.producerEpoch < 0 {
                    self.producerIdFailed(
                        KafkaProducerError(
                            .protocolError,
                            "broker \(connection.nodeId) answered InitProducerId with producer id \(response.producerId) and epoch \(response.producerEpoch), which cannot be used"
                        ))
                } else if code == .none {
                    self.producerIdFailures = 0
                    self.lastProducerIdError = nil
                    self.producerIdRetryAt = nil
                    let id = IdempotenceStateMachine.ProducerIdAndEpoch(
                        producerId: response.producerId, epoch: response.producerEpoch)
                    self.logger.debug("producer id received", metadata: ["producer_id": "\(id)"])
                    self.report(self.idempotence!.producerIdReceived(id))
                } else if code.isRetriable {
                    self.producerIdFailed(
                        KafkaProducerError(
                            .brokerError, "InitProducerId failed on broker \(connection.nodeId)",
                            brokerErrorCode: code))
                } else {
                    self.idempotence!.failFatally(
                        KafkaProducerError(
                            .idempotenceFailed,
                            "broker \(connection.nodeId) refused a producer id (InitProducerId: \(code)), so the "
                                + "producer cannot be idempotent; set enable.idempotence=false to produce without it",
                            brokerErrorCode: code))
                }
            case .failure(let error):
                self.producerIdFailed(self.producerError(error, node: connection.nodeId))
            }
            self.handleFatalErrorIfAny()
            self.wakeup()
        }
    }

    private func producerIdFailed(_ error: KafkaProducerError) {
        producerIdFailures += 1
        lastProducerIdError = error
        producerIdRetryAt = .now() + machine.retryBackoff(attempts: producerIdFailures)
        logger.warning("could not get a producer id", metadata: ["error": "\(error)"])
    }

    /// Fails every queued record, and every later send, with the fatal error; batches in flight
    /// fail as their answers come back (they cannot be retried).
    private func handleFatalErrorIfAny() {
        guard !isFatalErrorHandled, let fatal = idempotence?.fatalError else { return }
        isFatalErrorHandled = true
        logger.error("the idempotent producer cannot go on", metadata: ["error": "\(fatal)"])
        finish(accumulator.failFatally(fatal), error: { _ in fatal })
    }

    // MARK: - Metadata

    /// Waits until `topic`'s partitions are known, or fails at `deadline` (max.block.ms), when
    /// the producer closes, or when the task is cancelled.
    func awaitMetadata(topic: String, deadline: NIODeadline) async throws {
        let wait = CancellableWait()
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                eventLoop.execute {
                    self.registerMetadataWaiter(
                        topic: topic, deadline: deadline, wait: wait, continuation: continuation)
                }
            }
        } onCancel: {
            if let id = wait.cancel() {
                eventLoop.execute { self.cancelMetadataWaiter(topic: topic, id: id) }
            }
        }
    }

    private func registerMetadataWaiter(
        topic: String, deadline: NIODeadline, wait: CancellableWait, continuation: CheckedContinuation<Void, any Error>
    ) {
        if isClosing || isShutDown {
            continuation.resume(
                throwing: KafkaProducerError(.producerClosed, "the producer closed while waiting for metadata"))
            return
        }
        if metadata.topics[topic] != nil {
            wantedTopics[topic] = .now()
            continuation.resume()
            return
        }
        if let error = metadata.topicErrors[topic], !error.isRetriable {
            continuation.resume(
                throwing: KafkaProducerError(
                    .brokerError, "topic \(topic) cannot be produced to", brokerErrorCode: error))
            return
        }
        let id = nextMetadataWaiterID
        nextMetadataWaiterID += 1
        guard wait.register(id) else {
            continuation.resume(throwing: CancellableWait.cancelledError("metadata of \(topic)"))
            return
        }
        wantedTopics[topic] = .now()
        metadataWaiters[topic, default: []].append(
            MetadataWaiter(id: id, continuation: continuation, deadline: deadline))
        isMetadataRefreshNeeded = true
        runOnce()
    }

    private func cancelMetadataWaiter(topic: String, id: UInt64) {
        guard var waiters = metadataWaiters[topic], let index = waiters.firstIndex(where: { $0.id == id }) else {
            return
        }
        let waiter = waiters.remove(at: index)
        metadataWaiters[topic] = waiters.isEmpty ? nil : waiters
        waiter.continuation.resume(throwing: CancellableWait.cancelledError("metadata of \(topic)"))
    }

    /// The producer is closing: waits for metadata end now (nothing will be accepted after them).
    func stopAcceptingRecords() {
        eventLoop.execute {
            self.isClosing = true
            self.failMetadataWaiters(
                error: KafkaProducerError(.producerClosed, "the producer closed while waiting for metadata"))
        }
    }

    /// Ends every metadata wait with `error` (an encoding failure, close, abort).
    private func failMetadataWaiters(error: KafkaProducerError) {
        let waiters = metadataWaiters
        metadataWaiters = [:]
        for list in waiters.values {
            for waiter in list { waiter.continuation.resume(throwing: error) }
        }
    }

    private func failExpiredMetadataWaiters(now: NIODeadline) {
        for (topic, waiters) in metadataWaiters {
            let (expired, waiting) = (waiters.filter { $0.deadline <= now }, waiters.filter { $0.deadline > now })
            guard !expired.isEmpty else { continue }
            metadataWaiters[topic] = waiting.isEmpty ? nil : waiting
            let error = KafkaProducerError(
                .metadataTimeout,
                "topic \(topic) not present in metadata after max.block.ms (\(configuration.maxBlock.milliseconds) ms)\(metadata.topicErrors[topic].map { "; last error: \($0)" } ?? "")\(metadata.topicProblems[topic].map { "; \($0)" } ?? "")\(lastMetadataError.map { "; last error: \($0.message)" } ?? "")",
                brokerErrorCode: metadata.topicErrors[topic])
            for waiter in expired { waiter.continuation.resume(throwing: error) }
        }
    }

    private func requestMetadata(now: NIODeadline) {
        guard !isMetadataRequestInFlight else { return }
        if let metadataRetryAt, metadataRetryAt > now { return }
        guard let connection = metadataConnection(now: now) else { return }
        guard let version = connection.apiVersions[.metadata] else {
            logger.error("broker does not support any Metadata version this client speaks")
            return
        }
        isMetadataRequestInFlight = true
        isMetadataRefreshNeeded = false
        metadataRetryAt = nil
        let topics = wantedTopics.keys.sorted()
        // As Java's producer asks: auto-creation allowed, so the broker's auto.create.topics.enable
        // decides (and Metadata v1–v3, which cannot say "not allowed", can be used at all).
        let request = MetadataRequest(topicNames: topics, allowAutoTopicCreation: true)
        connection.send(request, version: version, expecting: MetadataResponse.self).whenComplete { result in
            self.isMetadataRequestInFlight = false
            switch result {
            case .success(let response):
                self.apply(response, requested: topics)
            case .failure(let error as KafkaProducerError) where error.code == .encodingFailed:
                // Asking again would fail the same way: the waiters learn it now, not at max.block.ms.
                self.logger.error("metadata request could not be encoded", metadata: ["error": "\(error)"])
                // The topics nobody has metadata for yet are the ones that can have made it fail.
                for topic in self.metadataWaiters.keys { self.wantedTopics[topic] = nil }
                self.failMetadataWaiters(error: error)
                self.metadataFailures += 1
                self.metadataRetryAt = .now() + self.machine.retryBackoff(attempts: self.metadataFailures)
            case .failure(let error):
                self.metadataFailures += 1
                self.isMetadataRefreshNeeded = true
                self.metadataRetryAt = .now() + self.machine.retryBackoff(attempts: self.metadataFailures)
                self.lastMetadataError = self.producerError(error, node: connection.nodeId)
                self.logger.debug("metadata request failed", metadata: ["error": "\(error)"])
            }
            self.wakeup()
        }
    }

    private func apply(_ response: MetadataResponse, requested: [String]) {
        let now = NIODeadline.now()
        metadata = metadata.updated(with: response)
        accumulator.updateMetadata(metadata)
        lastMetadataError = nil
        for problem in metadata.brokerProblems {
            logger.warning("ignoring a broker entry of a metadata response", metadata: ["problem": "\(problem)"])
        }
        for (topic, problem) in metadata.topicProblems {
            logger.warning(
                "ignoring a topic of a metadata response", metadata: ["topic": "\(topic)", "problem": "\(problem)"])
        }
        lastMetadataRefresh = now
        var missing = false
        for topic in requested where metadata.topics[topic] == nil {
            missing = true
            if let error = metadata.topicErrors[topic], !error.isRetriable, let waiters = metadataWaiters[topic] {
                metadataWaiters[topic] = nil
                let failure = KafkaProducerError(
                    .brokerError, "topic \(topic) cannot be produced to", brokerErrorCode: error)
                for waiter in waiters { waiter.continuation.resume(throwing: failure) }
            }
        }
        for (topic, waiters) in metadataWaiters where metadata.topics[topic] != nil {
            metadataWaiters[topic] = nil
            for waiter in waiters { waiter.continuation.resume() }
        }
        if missing || ClusterMetadata.hasMissingLeaders(response, in: metadata) {
            // Topics being created, or leaders being elected: ask again after a backoff.
            metadataFailures += 1
            isMetadataRefreshNeeded = true
            metadataRetryAt = now + machine.retryBackoff(attempts: metadataFailures)
        } else {
            metadataFailures = 0
            metadataRetryAt = nil
        }
        // Forget topics nobody produced to for metadata.max.idle.ms.
        let idle = TimeAmount(configuration.metadataMaxIdle)
        wantedTopics = wantedTopics.filter { $0.value + idle > now || metadataWaiters[$0.key] != nil }
    }

    /// A ready connection to send Metadata on: the least busy known broker, else a bootstrap
    /// server (connecting to one if none is being connected).
    private func metadataConnection(now: NIODeadline) -> BrokerConnection? {
        // Known brokers first, then the bootstrap list; bootstrap servers get negative ids.
        var candidates: [(Int32, KafkaBrokerAddress)] = metadata.brokers.sorted { $0.key < $1.key }.map {
            ($0.key, $0.value)
        }
        for (index, address) in configuration.bootstrapServers.enumerated() {
            candidates.append((-1 - Int32(index), address))
        }
        var best: BrokerConnection?
        for (node, _) in candidates {
            if let connection = pool.activeConnection(to: node),
                best == nil || connection.inFlightCount < best!.inFlightCount
            {
                best = connection
            }
        }
        if let best { return best }
        guard connectingNodes.isEmpty, !candidates.isEmpty else { return nil }
        // Rotate through the candidates, preferring one not in reconnect backoff.
        let ordered = (0..<candidates.count).map { candidates[(nextBootstrapIndex + $0) % candidates.count] }
        let (node, address) = ordered.first { pool.connectionDelay(to: $0.0, now: now) == .zero } ?? ordered[0]
        nextBootstrapIndex = (nextBootstrapIndex + 1) % candidates.count
        requestConnection(node: node, address: address)
        return nil
    }

    // MARK: - Connections

    private func readyConnection(node: Int32, now: NIODeadline) -> BrokerConnection? {
        if let connection = pool.activeConnection(to: node) { return connection }
        guard let address = metadata.brokers[node] else {
            isMetadataRefreshNeeded = true
            return nil
        }
        requestConnection(node: node, address: address)
        return nil
    }

    /// Asks the pool for a connection (it waits out the reconnect backoff itself) and looks for
    /// work again once it is there or has failed.
    private func requestConnection(node: Int32, address: KafkaBrokerAddress) {
        guard !isShutDown, !connectingNodes.contains(node) else { return }
        connectingNodes.insert(node)
        pool.connection(to: node, at: address).whenComplete { result in
            self.connectingNodes.remove(node)
            switch result {
            case .success(let connection):
                self.lastConnectionErrors[node] = nil
                connection.closeFuture.whenComplete { _ in
                    // Leaders may have moved; in-flight requests on it are retried.
                    self.isMetadataRefreshNeeded = true
                    self.wakeup()
                }
            case .failure(let error):
                let failure = self.producerError(error, node: node)
                self.lastConnectionErrors[node] = failure
                self.isMetadataRefreshNeeded = true
                self.logger.warning(
                    "could not connect to broker",
                    metadata: ["node": "\(node)", "address": "\(address)", "error": "\(failure)"])
            }
            self.wakeup()
        }
    }

    private func lastConnectionError(for topicPartition: TopicPartition) -> String {
        if idempotence?.needsProducerId == true, configuration.settings(forTopic: topicPartition.topic).isIdempotent {
            return "; no producer id yet\(lastProducerIdError.map { " (last error: \($0.message))" } ?? "")"
        }
        guard let leader = metadata.leader(for: topicPartition) else { return "; its leader is unknown" }
        if let error = lastConnectionErrors[leader] { return "; last error: \(error.message)" }
        return ""
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

    private func producerError(_ error: any Error, node: Int32) -> KafkaProducerError {
        if let error = error as? KafkaProducerError { return error }
        return KafkaProducerError(
            .connectionFailed, "request to broker \(node) failed: \(error)", cause: error)
    }

}
