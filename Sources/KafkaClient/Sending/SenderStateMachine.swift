import KafkaWire
import NIOCore

/// The sender's decisions about Produce requests, without sockets, timers or clocks (every
/// method takes `now`): which batches make the next request to a node, what each answer or
/// failure means for each batch (complete, retry after a backoff, split, fail), the retry budget,
/// the ordering rules (muted partitions, idempotent sequences) and the idempotent producer's
/// state. `Sender` performs what it returns; the tests drive it directly.
///
/// Owned by the sender's event loop. The accumulator it drains and re-queues into is the
/// producer's (its own lock guards it).
struct SenderStateMachine {
    /// What to do with one batch after an answer or a failure.
    enum Outcome {
        /// Stored (offset −1 when unknown: acks=0, or a duplicate the broker already had).
        case complete(ProducerBatch, baseOffset: Int64, logAppendTime: Int64, isDuplicate: Bool)
        /// Back in its partition's queue, sendable after `backoff`; `error` says why.
        case retry(ProducerBatch, error: KafkaProducerError, backoff: TimeAmount)
        /// Replaced in its queue by two halves (MESSAGE_TOO_LARGE).
        case split(ProducerBatch)
        /// Done with `error` (the idempotent state already knows).
        case fail(ProducerBatch, KafkaProducerError)
    }

    /// A request's batches, drained for one node and one `acks` value.
    struct Request {
        var node: Int32
        var acks: KafkaAcks
        var batches: [ProducerBatch]
    }

    let configuration: KafkaProducerConfiguration
    let accumulator: RecordAccumulator
    /// Producer id, epoch and sequences; nil when no topic is idempotent.
    var idempotence: IdempotenceStateMachine?
    /// Produce requests drained and not yet finished, per node (being compressed, or awaiting
    /// a response).
    private(set) var inFlightRequests: [Int32: Int] = [:]
    /// Partitions with a batch in flight, when `max.in.flight.requests.per.connection` is 1.
    private(set) var mutedPartitions: Set<TopicPartition> = []
    /// Set by a forced close: failures end batches with this error instead of retrying them.
    private(set) var abortError: KafkaProducerError?
    /// The `acks` values requests are built for (the producer's and the topics').
    let acksInUse: [KafkaAcks]
    /// Where the retry backoff's ±20 % jitter comes from (a seeded one in tests).
    var jitter: () -> Double = { Double.random(in: 0.8...1.2) }

    init(configuration: KafkaProducerConfiguration, accumulator: RecordAccumulator) {
        self.configuration = configuration
        self.accumulator = accumulator
        self.acksInUse = configuration.acksInUse
        if configuration.needsProducerId { idempotence = IdempotenceStateMachine() }
    }

    var isAborting: Bool { abortError != nil }

    mutating func abort(with error: KafkaProducerError) {
        abortError = error
    }

    // MARK: - What to send next

    /// The ordering rules a partition's first batch must pass to be drained: one batch in
    /// flight per partition when `max.in.flight.requests.per.connection` is 1, and the
    /// idempotent producer's sequence order.
    func canDrain(_ batch: ProducerBatch) -> Bool {
        if !mutedPartitions.isEmpty && mutedPartitions.contains(batch.topicPartition) { return false }
        guard batch.settings.isIdempotent else { return true }
        return idempotence?.canDrain(batch) ?? true
    }

    /// The next requests for `node`, one `acks` value in turn, while it has fewer than
    /// `max.in.flight.requests.per.connection` in flight. Their batches are stamped with
    /// sequences (idempotent topics), their attempts counted, the request counted in flight and,
    /// with one in flight per connection, their partitions muted, all from now on.
    mutating func nextRequests(node: Int32, now: NIODeadline) -> [Request] {
        var requests: [Request] = []
        var exhausted: Set<KafkaAcks> = []
        let limit = configuration.maxInFlightRequestsPerConnection
        while (inFlightRequests[node] ?? 0) < limit, exhausted.count < acksInUse.count {
            for acks in acksInUse where !exhausted.contains(acks) {
                guard (inFlightRequests[node] ?? 0) < limit else { break }
                // `self` itself, not a copy: a copy alive while `stamp` mutates the idempotent
                // state would make every stamp copy that state.
                let batches = accumulator.drain(
                    node: node, acks: acks, now: now, maxSize: configuration.maxRequestSize,
                    canDrain: { self.canDrain($0) })
                if batches.isEmpty {
                    exhausted.insert(acks)
                    continue
                }
                if idempotence != nil {
                    for batch in batches where batch.settings.isIdempotent { idempotence!.stamp(batch) }
                }
                // An attempt counts from the drain: the ordering rules ask about it before the
                // request is written (it may still be compressing).
                for batch in batches { batch.attempts += 1 }
                inFlightRequests[node, default: 0] += 1
                if limit == 1 {
                    for batch in batches { mutedPartitions.insert(batch.topicPartition) }
                }
                requests.append(Request(node: node, acks: acks, batches: batches))
            }
        }
        return requests
    }

    /// The request is off the books (answered, failed, or nothing of it could be sent).
    mutating func requestFinished(node: Int32, batches: [ProducerBatch]) {
        inFlightRequests[node, default: 1] -= 1
        unmute(batches)
    }

    /// A batch leaves a request before it is sent (its encoding failed): its partition may go on.
    mutating func unmute(_ batches: [ProducerBatch]) {
        guard !mutedPartitions.isEmpty else { return }
        for batch in batches { mutedPartitions.remove(batch.topicPartition) }
    }

    // MARK: - Answers

    /// What a Produce response means for each batch of its request (acks ≠ 0). Retries are
    /// already back in their queues, splits replaced by their halves; completions and failures
    /// are for the caller to perform.
    mutating func produceAnswered(
        _ response: ProduceResponse, batches: [ProducerBatch], node: Int32, now: NIODeadline
    ) -> [Outcome] {
        var answers: [TopicPartition: ProduceResponse.PartitionProduceResponse] = [:]
        for topic in response.responses {
            for partition in topic.partitionResponses {
                answers[TopicPartition(topic: topic.name, partition: partition.index)] = partition
            }
        }
        var outcomes: [Outcome] = []
        for batch in batches {
            guard let answer = answers[batch.topicPartition] else {
                outcomes += produceFailed(
                    [batch],
                    error: KafkaProducerError(
                        .protocolError, "broker \(node) answered a Produce request without \(batch.topicPartition)"),
                    now: now)
                continue
            }
            outcomes.append(outcome(of: batch, answer: answer, node: node, now: now))
        }
        return outcomes
    }

    private mutating func outcome(
        of batch: ProducerBatch, answer: ProduceResponse.PartitionProduceResponse, node: Int32, now: NIODeadline
    ) -> Outcome {
        let code = KafkaErrorCode(rawValue: answer.errorCode)
        let idempotent = batch.settings.isIdempotent && idempotence != nil
        if code == .none {
            if idempotent { _ = idempotence!.handleResponse(batch, error: .none, mayRetry: false) }
            return .complete(
                batch, baseOffset: answer.baseOffset, logAppendTime: answer.logAppendTimeMs, isDuplicate: false)
        }
        if code == .messageTooLarge, !isAborting, let halves = accumulator.splitForRetry(batch) {
            // As Java does: a batch refused as too large is split in two and sent again (this
            // does not count as a retry); a single record that is too large fails below.
            if idempotent { idempotence!.replace(batch, with: halves) }
            return .split(batch)
        }
        var message = "broker \(node) rejected \(batch.recordCount) records for \(batch.topicPartition)"
        if let detail = answer.errorMessage { message += ": \(detail)" }
        let error = KafkaProducerError(.brokerError, message, brokerErrorCode: code)
        if idempotent {
            switch idempotence!.handleResponse(batch, error: code, mayRetry: mayRetry(batch, now: now)) {
            case .complete:
                return .complete(
                    batch, baseOffset: answer.baseOffset, logAppendTime: answer.logAppendTimeMs, isDuplicate: false)
            case .completeAsDuplicate:
                return .complete(batch, baseOffset: -1, logAppendTime: -1, isDuplicate: true)
            case .retry:
                return retry(batch, error: error, now: now)
            case .fail:
                return .fail(batch, finalError(error, for: batch, now: now))
            }
        }
        if code.isRetriable { return produceFailed([batch], error: error, now: now)[0] }
        return fail(batch, error)
    }

    /// What a request that got no usable answer (connection lost, timeout) means for its
    /// batches: retried while the budget allows, else failed.
    mutating func produceFailed(_ batches: [ProducerBatch], error: KafkaProducerError, now: NIODeadline) -> [Outcome] {
        batches.map { batch in
            mayRetry(batch, now: now)
                ? retry(batch, error: error, now: now) : fail(batch, finalError(error, for: batch, now: now))
        }
    }

    /// A batch ends with `error` outside an answer (expired, aborted, not encodable): the
    /// idempotent state learns that its sequences may or may not have been written.
    mutating func fail(_ batch: ProducerBatch, _ error: KafkaProducerError) -> Outcome {
        if batch.settings.isIdempotent { idempotence?.batchFailed(batch, brokerError: error.brokerErrorCode) }
        return .fail(batch, error)
    }

    // MARK: - The producer id

    /// What an InitProducerId answer means.
    enum ProducerIdOutcome {
        /// The id is in use; partitions whose sequences restart are listed.
        case received(IdempotenceStateMachine.ProducerIdAndEpoch, [IdempotenceStateMachine.SequenceReset])
        /// Asked again after a backoff.
        case retry(KafkaProducerError)
        /// Idempotence cannot go on (`idempotence.fatalError` is set).
        case fatal(KafkaProducerError)
    }

    private(set) var isProducerIdRequestInFlight = false
    /// No InitProducerId before this (backoff after a failure).
    private(set) var producerIdRetryAt: NIODeadline?
    private(set) var producerIdFailures = 0
    /// Why the last InitProducerId attempt failed, for error messages.
    private(set) var lastProducerIdError: KafkaProducerError?

    /// Whether an InitProducerId request should go out now.
    func isProducerIdRequestDue(now: NIODeadline) -> Bool {
        guard idempotence?.needsProducerId == true, !isProducerIdRequestInFlight else { return false }
        if let producerIdRetryAt, producerIdRetryAt > now { return false }
        return true
    }

    /// A request goes out to `node`, which offers InitProducerId at `version` (nil: it does not,
    /// which is fatal). Returns whether to send it.
    mutating func producerIdRequestStarting(node: Int32, address: KafkaBrokerAddress, version: Int16?) -> Bool {
        guard version != nil else {
            idempotence?.failFatally(
                KafkaProducerError(
                    .idempotenceFailed,
                    "broker \(node) at \(address) does not support InitProducerId (Kafka 0.11+ needed), so the "
                        + "producer cannot be idempotent; set enable.idempotence=false to produce without it"))
            return false
        }
        isProducerIdRequestInFlight = true
        producerIdRetryAt = nil
        return true
    }

    /// What an InitProducerId answer from `node` means: an id (checked: negative ids or epochs
    /// are retried), a retriable error, or a refusal, which is fatal.
    mutating func producerIdAnswered(_ response: InitProducerIdResponse, node: Int32, now: NIODeadline)
        -> ProducerIdOutcome
    {
        isProducerIdRequestInFlight = false
        let code = KafkaErrorCode(rawValue: response.errorCode)
        if code == .none, response.producerId < 0 || response.producerEpoch < 0 {
            return producerIdFailed(
                KafkaProducerError(
                    .protocolError,
                    "broker \(node) answered InitProducerId with producer id \(response.producerId) and epoch \(response.producerEpoch), which cannot be used"
                ), now: now)
        }
        if code == .none {
            producerIdFailures = 0
            lastProducerIdError = nil
            producerIdRetryAt = nil
            let id = IdempotenceStateMachine.ProducerIdAndEpoch(
                producerId: response.producerId, epoch: response.producerEpoch)
            return .received(id, idempotence?.producerIdReceived(id) ?? [])
        }
        if code.isRetriable {
            return producerIdFailed(
                KafkaProducerError(.brokerError, "InitProducerId failed on broker \(node)", brokerErrorCode: code),
                now: now)
        }
        let error = KafkaProducerError(
            .idempotenceFailed,
            "broker \(node) refused a producer id (InitProducerId: \(code)), so the "
                + "producer cannot be idempotent; set enable.idempotence=false to produce without it",
            brokerErrorCode: code)
        idempotence?.failFatally(error)
        return .fatal(error)
    }

    /// The request got no answer, or a retriable one: ask again after a backoff.
    mutating func producerIdFailed(_ error: KafkaProducerError, now: NIODeadline) -> ProducerIdOutcome {
        isProducerIdRequestInFlight = false
        producerIdFailures += 1
        lastProducerIdError = error
        producerIdRetryAt = now + retryBackoff(attempts: producerIdFailures)
        return .retry(error)
    }

    // MARK: - Retries

    /// Whether the retry budget allows another attempt: `retries`, `delivery.timeout.ms`, and not
    /// aborting.
    func mayRetry(_ batch: ProducerBatch, now: NIODeadline) -> Bool {
        let deadline = batch.createdAt + TimeAmount(configuration.deliveryTimeout)
        return !isAborting && batch.attempts <= configuration.retries && deadline > now
    }

    /// Queues a batch again after the retry backoff (or fails it, once idempotence failed for
    /// good: it could never be sent again).
    private mutating func retry(_ batch: ProducerBatch, error: KafkaProducerError, now: NIODeadline) -> Outcome {
        if let fatal = idempotence?.fatalError, batch.settings.isIdempotent { return fail(batch, fatal) }
        let backoff = retryBackoff(attempts: batch.attempts)
        accumulator.reenqueue(batch, retryAfter: now + backoff)
        return .retry(batch, error: error, backoff: backoff)
    }

    /// The error a batch that may not be retried ends with: the close's error when aborting, a
    /// delivery timeout naming the last error once `delivery.timeout.ms` has passed, else
    /// `error` itself.
    func finalError(_ error: KafkaProducerError, for batch: ProducerBatch, now: NIODeadline) -> KafkaProducerError {
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
    func retryBackoff(attempts: Int) -> TimeAmount {
        let base = Double(configuration.retryBackoff.milliseconds)
        let cap = Double(max(configuration.retryBackoffMax.milliseconds, configuration.retryBackoff.milliseconds))
        let exponential = min(cap, base * Self.pow2(max(attempts - 1, 0)))
        return .milliseconds(Int64(min(exponential * jitter(), cap)))
    }

    private static func pow2(_ n: Int) -> Double { n >= 62 ? .greatestFiniteMagnitude : Double(1 << n) }
}
