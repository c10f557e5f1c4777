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
    /// Produce requests awaiting a response, per node.
    private var inFlightRequests: [Int32: Int] = [:]
    /// Partitions with a batch in flight, when ordering requires one at a time.
    private var mutedPartitions: Set<TopicPartition> = []
    private var timer: Scheduled<Void>?
    private var timerDeadline: NIODeadline?
    /// Set by a forced close: in-flight failures end batches, with this error, instead of
    /// retrying them.
    private var abortError: KafkaProducerError?
    private var isAborting: Bool { abortError != nil }
    /// Set once the connections are closed for good: the loop does nothing more.
    private var isShutDown = false
    /// The acks values Produce requests are built for (the producer's and the topics').
    private lazy var acksInUse: [KafkaAcks] = configuration.acksInUse
    /// Requests drained per node whose batches are still being compressed, in drain order.
    private var pendingProduces: [Int32: [PendingProduce]] = [:]
    /// Compresses batches off the event loop.
    let encoder = BatchEncoder(threads: 1)
    /// Compression state reused from batch to batch (batches without compression, and
    /// re-stamping).
    private let compressionContext = KafkaCompressionContext()
    /// Producer id, epoch and sequences; nil without `enable.idempotence`.
    private var idempotence: IdempotenceStateMachine?
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
        if configuration.needsProducerId { idempotence = IdempotenceStateMachine() }
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
        let check = accumulator.ready(now: now, canDrain: canDrain)
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

    /// The ordering rules a partition's first batch must pass to be drained: one batch in
    /// flight per partition when `max.in.flight.requests.per.connection` is 1, and the
    /// idempotent producer's sequence order.
    private func canDrain(_ batch: ProducerBatch) -> Bool {
        if !mutedPartitions.isEmpty && mutedPartitions.contains(batch.topicPartition) { return false }
        guard batch.settings.isIdempotent else { return true }
        return idempotence?.canDrain(batch) ?? true
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

    private func sendProduceRequests(on connection: BrokerConnection, node: Int32, now: NIODeadline) {
        let produceVersion = connection.apiVersions[.produce]
        guard let produceVersion else {
            logger.error(
                "broker does not support any Produce version this client speaks", metadata: ["node": "\(node)"])
            return
        }
        // One request per acks value in turn (a request carries one); they share the connection.
        var exhausted: Set<KafkaAcks> = []
        while (inFlightRequests[node] ?? 0) < configuration.maxInFlightRequestsPerConnection,
            exhausted.count < acksInUse.count
        {
            for acks in acksInUse where !exhausted.contains(acks) {
                guard (inFlightRequests[node] ?? 0) < configuration.maxInFlightRequestsPerConnection else { return }
                let batches = accumulator.drain(
                    node: node, acks: acks, now: now, maxSize: configuration.maxRequestSize, canDrain: canDrain)
                if batches.isEmpty {
                    exhausted.insert(acks)
                    continue
                }
                if idempotence != nil {
                    for batch in batches where batch.settings.isIdempotent { idempotence!.stamp(batch) }
                }
                prepareProduce(batches, acks: acks, on: connection, node: node, version: produceVersion)
            }
        }
    }

    /// A Produce request whose batches are being compressed on the `BatchEncoder`. A partition's
    /// requests go out in the order they were drained (sequence order for idempotent
    /// partitions), so a ready request waits only for earlier ones that share a partition with
    /// it; other topics' requests overtake it. Owned by the event loop.
    private final class PendingProduce {
        let batches: [ProducerBatch]
        let acks: KafkaAcks
        let connection: BrokerConnection
        let version: Int16
        var remainingEncodes = 0
        var encodeErrors: [UInt64: any Error] = [:]

        init(batches: [ProducerBatch], acks: KafkaAcks, connection: BrokerConnection, version: Int16) {
            self.batches = batches
            self.acks = acks
            self.connection = connection
            self.version = version
        }
    }

    /// Counts the request as in flight and mutes its partitions at once (the ordering rules
    /// hold from the drain on), sends it when no batch needs compressing, else compresses its
    /// new compressed batches off the loop and sends it when they are done.
    private func prepareProduce(
        _ batches: [ProducerBatch], acks: KafkaAcks, on connection: BrokerConnection, node: Int32, version: Int16
    ) {
        inFlightRequests[node, default: 0] += 1
        if configuration.maxInFlightRequestsPerConnection == 1 {
            for batch in batches { mutedPartitions.insert(batch.topicPartition) }
        }
        let pending = PendingProduce(batches: batches, acks: acks, connection: connection, version: version)
        pendingProduces[node, default: []].append(pending)
        // Cheap codecs are finished inline at send time: the pool is for what would stall the loop
        // (and a cheap batch queued behind expensive ones on the pool would wait for them).
        for batch in batches where batch.needsEncoding && batch.settings.compression.isExpensive {
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
        pending.removeAll { request in
            let partitions = request.batches.map(\.topicPartition)
            guard request.remainingEncodes == 0, waitingPartitions.isDisjoint(with: partitions) else {
                waitingPartitions.formUnion(partitions)
                return false
            }
            ready.append(request)
            return true
        }
        pendingProduces[node] = pending.isEmpty ? nil : pending
        for request in ready { sendProduce(request, node: node) }
    }

    private func sendProduce(_ pending: PendingProduce, node: Int32) {
        let acks = pending.acks
        let connection = pending.connection
        let version = pending.version
        var topics: [String: [ProduceRequest.PartitionProduceData]] = [:]
        var sendable: [ProducerBatch] = []
        for batch in pending.batches {
            if let error = pending.encodeErrors[batch.serial] {
                // Its records went to the encoder and did not come back: it cannot be retried.
                let failure =
                    abortError
                    ?? KafkaProducerError(
                        .encodingFailed, "could not encode the batch for \(batch.topicPartition)",
                        cause: error as? KafkaWireError)
                finish([batch], error: { _ in failure })
                unmute([batch])
                continue
            }
            do {
                let bytes = try batch.encode(context: compressionContext)
                topics[batch.topicPartition.topic, default: []].append(
                    .init(index: batch.topicPartition.partition, records: bytes))
                sendable.append(batch)
            } catch {
                finish(
                    [batch],
                    error: { _ in
                        KafkaProducerError(
                            .encodingFailed, "could not encode the batch for \(batch.topicPartition)",
                            cause: error as? KafkaWireError)
                    })
            }
        }
        guard !sendable.isEmpty else {
            inFlightRequests[node, default: 1] -= 1
            unmute(pending.batches)
            wakeup()
            return
        }
        let batches = sendable
        let request = ProduceRequest(
            acks: acks.rawValue, timeoutMs: Int32(clamping: configuration.requestTimeout.milliseconds),
            topicData: topics.map { .init(name: $0.key, partitionData: $0.value) })
        for batch in sendable { batch.attempts += 1 }
        metrics.produceRequests.increment()

        if acks == .none {
            connection.sendWithoutResponse(request, version: version).whenComplete { result in
                self.inFlightRequests[node, default: 1] -= 1
                self.unmute(batches)
                switch result {
                case .success:
                    self.complete(batches.map { ($0, Int64(-1), Int64(-1)) })
                case .failure(let error):
                    self.retryOrFail(batches, error: self.producerError(error, node: node), refreshMetadata: true)
                }
                self.wakeup()
            }
        } else {
            connection.send(request, version: version, expecting: ProduceResponse.self).whenComplete { result in
                self.inFlightRequests[node, default: 1] -= 1
                self.unmute(batches)
                switch result {
                case .success(let response):
                    self.handle(response, for: batches, node: node)
                case .failure(let error):
                    self.retryOrFail(batches, error: self.producerError(error, node: node), refreshMetadata: true)
                }
                self.wakeup()
            }
        }
    }

    private func unmute(_ batches: [ProducerBatch]) {
        guard !mutedPartitions.isEmpty else { return }
        for batch in batches { mutedPartitions.remove(batch.topicPartition) }
    }

    private func handle(_ response: ProduceResponse, for batches: [ProducerBatch], node: Int32) {
        var answers: [TopicPartition: ProduceResponse.PartitionProduceResponse] = [:]
        for topic in response.responses {
            for partition in topic.partitionResponses {
                answers[TopicPartition(topic: topic.name, partition: partition.index)] = partition
            }
        }
        var completed: [(ProducerBatch, Int64, Int64)] = []
        for batch in batches {
            guard let answer = answers[batch.topicPartition] else {
                retryOrFail(
                    [batch],
                    error: KafkaProducerError(
                        .protocolError, "broker \(node) answered a Produce request without \(batch.topicPartition)"),
                    refreshMetadata: false)
                continue
            }
            let code = KafkaErrorCode(rawValue: answer.errorCode)
            if code == .none {
                if batch.settings.isIdempotent { _ = idempotence?.handleResponse(batch, error: .none, mayRetry: false) }
                completed.append((batch, answer.baseOffset, answer.logAppendTimeMs))
                continue
            }
            if code == .messageTooLarge, !isAborting, let halves = accumulator.splitForRetry(batch) {
                // As Java does: a batch refused as too large is split in two and sent again (this
                // does not count as a retry); a single record that is too large fails below.
                if batch.settings.isIdempotent { idempotence?.replace(batch, with: halves) }
                logger.info(
                    "splitting a batch the broker refused as too large",
                    metadata: ["partition": "\(batch.topicPartition)", "records": "\(batch.recordCount)"])
                continue
            }
            var message = "broker \(node) rejected \(batch.recordCount) records for \(batch.topicPartition)"
            if let detail = answer.errorMessage { message += ": \(detail)" }
            let error = KafkaProducerError(.brokerError, message, brokerErrorCode: code)
            if idempotence != nil && batch.settings.isIdempotent {
                switch idempotence!.handleResponse(batch, error: code, mayRetry: mayRetry(batch, now: .now())) {
                case .complete:
                    completed.append((batch, answer.baseOffset, answer.logAppendTimeMs))
                case .completeAsDuplicate:
                    logger.debug(
                        "the broker already had this batch (DUPLICATE_SEQUENCE_NUMBER); its offset is unknown",
                        metadata: ["partition": "\(batch.topicPartition)", "records": "\(batch.recordCount)"])
                    completed.append((batch, -1, -1))
                case .retry:
                    retry(batch, error: error, refreshMetadata: code.invalidatesMetadata)
                case .fail:
                    finish([batch], error: { _ in self.finalError(error, for: batch) })
                }
            } else if code.isRetriable {
                retryOrFail([batch], error: error, refreshMetadata: code.invalidatesMetadata)
            } else {
                finish([batch], error: { _ in error })
            }
        }
        complete(completed)
        handleFatalErrorIfAny()
    }

    /// Retries batches after a retriable failure, unless retries or the delivery timeout are
    /// used up (or the producer is aborting), in which case they fail with `error`.
    private func retryOrFail(_ batches: [ProducerBatch], error: KafkaProducerError, refreshMetadata: Bool) {
        let now = NIODeadline.now()
        var failed: [ProducerBatch] = []
        for batch in batches {
            if mayRetry(batch, now: now) {
                retry(batch, error: error, refreshMetadata: refreshMetadata)
            } else {
                failed.append(batch)
            }
        }
        if refreshMetadata { isMetadataRefreshNeeded = true }
        if !failed.isEmpty {
            finish(failed, error: { batch in self.finalError(error, for: batch, now: now) })
        }
    }

    /// Whether the retry budget allows another attempt: `retries`, `delivery.timeout.ms`, and not
    /// aborting.
    private func mayRetry(_ batch: ProducerBatch, now: NIODeadline) -> Bool {
        let deadline = batch.createdAt + TimeAmount(configuration.deliveryTimeout)
        return !isAborting && batch.attempts <= configuration.retries && deadline > now
    }

    /// Queues a batch again after the retry backoff (or fails it, once idempotence failed for
    /// good: it could never be sent again).
    private func retry(_ batch: ProducerBatch, error: KafkaProducerError, refreshMetadata: Bool) {
        if let fatal = idempotence?.fatalError {
            finish([batch], error: { _ in fatal })
            return
        }
        if refreshMetadata { isMetadataRefreshNeeded = true }
        let backoff = retryBackoff(attempts: batch.attempts)
        logger.debug(
            "retrying batch",
            metadata: [
                "partition": "\(batch.topicPartition)", "attempt": "\(batch.attempts)",
                "backoff_ms": "\(backoff.nanoseconds / 1_000_000)", "error": "\(error)",
            ])
        metrics.retries.increment()
        accumulator.reenqueue(batch, retryAfter: .now() + backoff)
    }

    /// The error a batch that may not be retried ends with: a delivery timeout naming the last
    /// error once `delivery.timeout.ms` has passed, else `error` itself.
    private func finalError(_ error: KafkaProducerError, for batch: ProducerBatch, now: NIODeadline = .now())
        -> KafkaProducerError
    {
        if let abortError {
            // What was in flight when close gave up: the caller learns it was the close.
            var closed = abortError
            closed.message += "; last error: \(error.message)"
            closed.cause = error
            return closed
        }
        guard batch.createdAt + TimeAmount(configuration.deliveryTimeout) <= now else { return error }
        return KafkaProducerError(
            .deliveryTimeout,
            "\(batch.recordCount) records for \(batch.topicPartition) not delivered within delivery.timeout.ms; last error: \(error.message)",
            brokerErrorCode: error.brokerErrorCode, cause: error)
    }

    /// `retry.backoff.ms` doubled per attempt up to `retry.backoff.max.ms`, with ±20 % jitter.
    private func retryBackoff(attempts: Int) -> TimeAmount {
        let base = Double(configuration.retryBackoff.milliseconds)
        let cap = Double(max(configuration.retryBackoffMax.milliseconds, configuration.retryBackoff.milliseconds))
        let exponential = min(cap, base * pow2(max(attempts - 1, 0)))
        let jittered = exponential * Double.random(in: 0.8...1.2)
        return .milliseconds(Int64(min(jittered, cap)))
    }

    private func pow2(_ n: Int) -> Double { n >= 62 ? .greatestFiniteMagnitude : Double(1 << n) }

    private func complete(_ results: [(ProducerBatch, Int64, Int64)]) {
        guard !results.isEmpty else { return }
        for (batch, baseOffset, logAppendTime) in results {
            // Asked before completing: completing hands the waiting sends their results.
            for (reports, report) in batch.complete(baseOffset: baseOffset, logAppendTime: logAppendTime) {
                reports.deliver(report)
            }
            metrics.recordsSent.increment(by: batch.recordCount)
            metrics.batchesSent.increment()
        }
        accumulator.complete(results.map(\.0))
    }

    private func finish(_ batches: [ProducerBatch], error: (ProducerBatch) -> KafkaProducerError) {
        guard !batches.isEmpty else { return }
        for batch in batches {
            let failure = error(batch)
            // Batches the state machine already accounted for (a refused answer) are left alone;
            // for the others only the broker's code says whether their sequences were written.
            if batch.settings.isIdempotent { idempotence?.batchFailed(batch, brokerError: failure.brokerErrorCode) }
            logger.warning(
                "records failed", metadata: ["partition": "\(batch.topicPartition)", "error": "\(failure)"])
            for (reports, report) in batch.fail(failure) { reports.deliver(report) }
            metrics.recordsFailed.increment(by: batch.recordCount)
        }
        accumulator.complete(batches)
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
        producerIdRetryAt = .now() + retryBackoff(attempts: producerIdFailures)
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
                self.metadataRetryAt = .now() + self.retryBackoff(attempts: self.metadataFailures)
            case .failure(let error):
                self.metadataFailures += 1
                self.isMetadataRefreshNeeded = true
                self.metadataRetryAt = .now() + self.retryBackoff(attempts: self.metadataFailures)
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
            metadataRetryAt = now + retryBackoff(attempts: metadataFailures)
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
            self.abortError = error
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

    // MARK: - Helpers

    private func producerError(_ error: any Error, node: Int32) -> KafkaProducerError {
        if let error = error as? KafkaProducerError { return error }
        return KafkaProducerError(
            .connectionFailed, "request to broker \(node) failed: \(error)", cause: error)
    }

}
