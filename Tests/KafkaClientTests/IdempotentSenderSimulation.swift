import KafkaWire
import NIOCore
import Testing

@testable import KafkaClient

/// The broker side of idempotence, as Kafka's `ProducerStateManager` checks it for one producer
/// and reduced to what a producer can observe: per partition the producer's epoch and its last 5
/// batches. A batch of a newer epoch must start at sequence 0, an older epoch is refused, a
/// repeat of a cached batch is answered with its original offset and not written again, and any
/// other sequence than the next one is out of order.
struct SequenceCheckingBroker {
    private struct CachedBatch {
        var firstSequence: Int32
        var lastSequence: Int32
        var offset: Int64
    }

    private struct ProducerEntry {
        var producerId: Int64
        var epoch: Int16
        var batches: [CachedBatch] = []
    }

    private var entries: [Int32: ProducerEntry] = [:]
    /// Record ids in log order, per partition.
    private(set) var logs: [Int32: [KafkaRecordID]] = [:]
    /// The producer state of every batch written, per partition, in log order.
    private(set) var written: [Int32: [KafkaProducerState]] = [:]

    /// Appends a batch, or says why not. Returns the error and the batch's base offset.
    mutating func append(
        partition: Int32, state: KafkaProducerState, records: [KafkaRecordID]
    ) -> (KafkaErrorCode, Int64) {
        let lastSequence = ProducerBatch.sequence(state.baseSequence, plus: records.count - 1)
        var entry = entries[partition]
        if let current = entry, current.producerId == state.producerId {
            if state.producerEpoch < current.epoch { return (.invalidProducerEpoch, -1) }
            if state.producerEpoch == current.epoch {
                if let duplicate = current.batches.first(where: {
                    $0.firstSequence == state.baseSequence && $0.lastSequence == lastSequence
                }) {
                    return (.none, duplicate.offset)
                }
                let expected = ProducerBatch.sequence(current.batches.last?.lastSequence ?? -1, plus: 1)
                if state.baseSequence != expected { return (.outOfOrderSequenceNumber, -1) }
            } else {
                if state.baseSequence != 0 { return (.outOfOrderSequenceNumber, -1) }
                entry = nil
            }
        } else {
            if state.baseSequence != 0 { return (.outOfOrderSequenceNumber, -1) }
            entry = nil
        }
        var updated = entry ?? ProducerEntry(producerId: state.producerId, epoch: state.producerEpoch)
        let offset = Int64(logs[partition]?.count ?? 0)
        updated.batches.append(
            CachedBatch(firstSequence: state.baseSequence, lastSequence: lastSequence, offset: offset))
        if updated.batches.count > 5 { updated.batches.removeFirst() }
        entries[partition] = updated
        logs[partition, default: []] += records
        written[partition, default: []].append(state)
        return (.none, offset)
    }

    /// Forgets the producer's state for a partition (retention removed its last records).
    mutating func forgetProducer(partition: Int32) {
        entries[partition] = nil
    }

    /// Whether the batch is one of the cached (already written) ones.
    func hasWritten(partition: Int32, state: KafkaProducerState, recordCount: Int) -> Bool {
        guard let entry = entries[partition], entry.producerId == state.producerId,
            entry.epoch == state.producerEpoch
        else { return false }
        let lastSequence = ProducerBatch.sequence(state.baseSequence, plus: recordCount - 1)
        return entry.batches.contains { $0.firstSequence == state.baseSequence && $0.lastSequence == lastSequence }
    }
}

/// Drives the real `RecordAccumulator` and `IdempotenceStateMachine` exactly the way `Sender`
/// does — prepare, drain through `canDrain`, stamp, encode, send; apply the state machine's
/// decision to each answer — over one simulated connection to one broker (requests are handled
/// and answered in order). No sockets, no clock.
final class IdempotentSenderSimulation {
    struct Request {
        var batches: [ProducerBatch]
        /// The producer state each batch carried on the wire (read from its encoded bytes).
        var sent: [KafkaProducerState]
    }

    enum Fault: Equatable {
        /// The broker answers with this error for every batch of the request and writes nothing.
        case error(KafkaErrorCode)
        /// The broker handles the request, then the connection drops before the answer; every
        /// request in flight fails unanswered.
        case lostAfterWrite
        /// The connection drops before the broker reads the request.
        case lostBeforeWrite
    }

    let topic = "t"
    /// Where the simulated appends report (nothing reads it: outcomes are taken from the batches).
    static let reports = KafkaDeliveryReports(capacity: .max)
    let accumulator: RecordAccumulator
    var machine = IdempotenceStateMachine()
    var broker = SequenceCheckingBroker()
    let maxInFlight: Int
    /// Requests in flight, oldest first.
    private(set) var inFlight: [Request] = []
    /// Record ids in append order, per partition.
    private(set) var appended: [Int32: [KafkaRecordID]] = [:]
    /// Offset per acknowledged record (−1 for DUPLICATE_SEQUENCE_NUMBER).
    private(set) var acknowledged: [KafkaRecordID: Int64] = [:]
    private(set) var failed: [(batch: ProducerBatch, error: KafkaErrorCode?)] = []
    private(set) var resets: [IdempotenceStateMachine.SequenceReset] = []
    /// Every request sent, in order.
    private(set) var sentRequests: [Request] = []
    private var nextID: KafkaRecordID = 0
    private let compressionContext = KafkaCompressionContext()

    /// `batchSize` 1 puts every record in its own batch.
    init(partitions: Int, maxInFlight: Int = 5, batchSize: Int = 1, producerId: Int64 = 7000, epoch: Int16 = 0) {
        var configuration = KafkaProducerConfiguration(bootstrapServers: [.init(host: "127.0.0.1", port: 9092)])
        configuration.batchSize = batchSize
        configuration.linger = .zero
        accumulator = RecordAccumulator(settings: .init(configuration: configuration))
        self.maxInFlight = maxInFlight
        var metadata = ClusterMetadata()
        metadata.brokers[1] = KafkaBrokerAddress(host: "127.0.0.1", port: 9092)
        metadata.topics[topic] = ClusterMetadata.Topic(
            partitions: Array(repeating: .init(leader: 1, leaderEpoch: 0), count: partitions),
            availablePartitions: (0..<Int32(partitions)).map { $0 })
        accumulator.updateMetadata(metadata)
        resets += machine.producerIdReceived(.init(producerId: producerId, epoch: epoch))
    }

    /// Appends `count` one-byte records to `partition`.
    func append(partition: Int32, count: Int = 1) {
        var block = KafkaRecordBlock(topic: topic, partition: partition, bytes: ByteBuffer(string: "v"))
        for _ in 0..<count { block.append(value: 0..<1) }
        var reservation = 0
        let progress = accumulator.append(
            block: block, from: 0, firstID: nextID, nowMillis: 0, now: .now(), reservation: &reservation,
            reportingTo: Self.reports)
        precondition(progress.next == count)
        appended[partition, default: []] += (0..<count).map { nextID + KafkaRecordID($0) }
        nextID += KafkaRecordID(count)
    }

    /// `Sender.runOnce` for the one broker: bump the epoch if needed, then drain and send while
    /// fewer than `maxInFlight` requests are in flight. Returns the requests sent.
    @discardableResult
    func pump() -> [Request] {
        resets += machine.prepareToDrain()
        var requests: [Request] = []
        while inFlight.count < maxInFlight {
            let batches = accumulator.drain(
                node: 1, acks: .all, now: .now() + .hours(1), maxSize: .max, canDrain: { self.machine.canDrain($0) })
            if batches.isEmpty { break }
            var sent: [KafkaProducerState] = []
            for batch in batches {
                machine.stamp(batch)
                batch.attempts += 1
                sent.append(Self.producerState(in: try! batch.encode(context: compressionContext)))
            }
            let request = Request(batches: batches, sent: sent)
            inFlight.append(request)
            sentRequests.append(request)
            requests.append(request)
        }
        return requests
    }

    /// The broker handles the oldest request in flight, with `fault` if given. `mayRetry` is what
    /// the retry budget says for its batches (false: `delivery.timeout.ms` has passed).
    func deliverOldest(_ fault: Fault? = nil, mayRetry: Bool = true) {
        guard !inFlight.isEmpty else {
            Issue.record("nothing in flight to answer")
            return
        }
        let request = inFlight.removeFirst()
        switch fault {
        case .lostAfterWrite, .lostBeforeWrite:
            if fault == .lostAfterWrite {
                for (batch, state) in zip(request.batches, request.sent) {
                    _ = broker.append(
                        partition: batch.topicPartition.partition, state: state, records: batch.records.map(\.id))
                }
            }
            let dropped = [request] + inFlight
            inFlight = []
            for batch in dropped.flatMap(\.batches) {
                if mayRetry {
                    accumulator.reenqueue(batch, retryAfter: .now())
                } else {
                    fail(batch, error: nil)
                }
            }
        case .error(let code):
            for (batch, state) in zip(request.batches, request.sent) {
                let partition = batch.topicPartition.partition
                if !code.isRetriable
                    && broker.hasWritten(partition: partition, state: state, recordCount: batch.recordCount)
                {
                    // A broker refuses for good only what it never wrote; a repeat of a written
                    // batch is answered as the duplicate it is.
                    let (answer, offset) = broker.append(
                        partition: partition, state: state, records: batch.records.map(\.id))
                    apply(
                        machine.handleResponse(batch, error: answer, mayRetry: mayRetry), batch, offset: offset, answer)
                    continue
                }
                if code == .messageTooLarge, let halves = accumulator.splitForRetry(batch) {
                    machine.replace(batch, with: halves)
                    continue
                }
                apply(machine.handleResponse(batch, error: code, mayRetry: mayRetry), batch, offset: -1, code)
            }
        case nil:
            for (batch, state) in zip(request.batches, request.sent) {
                let (code, offset) = broker.append(
                    partition: batch.topicPartition.partition, state: state, records: batch.records.map(\.id))
                apply(machine.handleResponse(batch, error: code, mayRetry: mayRetry), batch, offset: offset, code)
            }
        }
    }

    /// Pumps and delivers without faults until nothing is in flight; records an issue if
    /// batches are then still queued (the sender would be stuck).
    func runToCompletion(maxRequests: Int = 10_000) {
        var steps = 0
        while steps < maxRequests {
            pump()
            if inFlight.isEmpty { break }
            deliverOldest()
            steps += 1
        }
        if accumulator.hasIncompleteBatches && machine.fatalError == nil && !machine.needsProducerId {
            Issue.record("stuck: batches are queued but none may be drained")
        }
    }

    private func apply(
        _ decision: IdempotenceStateMachine.Decision, _ batch: ProducerBatch, offset: Int64, _ code: KafkaErrorCode
    ) {
        switch decision {
        case .complete, .completeAsDuplicate:
            for (index, record) in batch.records.enumerated() {
                acknowledged[record.id] = decision == .complete ? offset + Int64(index) : -1
            }
            accumulator.complete([batch])
        case .retry:
            accumulator.reenqueue(batch, retryAfter: .now())
        case .fail:
            fail(batch, error: code)
        }
    }

    /// What `Sender.finish` does.
    private func fail(_ batch: ProducerBatch, error: KafkaErrorCode?) {
        machine.batchFailed(batch, brokerError: error)
        failed.append((batch, error))
        accumulator.complete([batch])
    }

    static func producerState(in bytes: ByteBuffer) -> KafkaProducerState {
        let start = bytes.readerIndex
        return KafkaProducerState(
            producerId: bytes.getInteger(at: start + RecordBatchLayout.producerId)!,
            producerEpoch: bytes.getInteger(at: start + RecordBatchLayout.producerEpoch)!,
            baseSequence: bytes.getInteger(at: start + RecordBatchLayout.baseSequence)!)
    }
}
