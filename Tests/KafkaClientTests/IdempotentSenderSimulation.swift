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

/// Drives the real `SenderStateMachine` (and through it the `RecordAccumulator` and the
/// `IdempotenceStateMachine`) against a broker model, over one simulated connection to one broker
/// whose requests are handled and answered in order. It does only what `Sender`'s shell does —
/// encode what the state machine drained, turn the broker's answers into a `ProduceResponse`,
/// record the outcomes — and no deciding of its own. No sockets, no clock.
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
    var sender: SenderStateMachine
    /// The idempotent producer's state inside the sender's state machine.
    var machine: IdempotenceStateMachine {
        get { sender.idempotence! }
        _modify { yield &sender.idempotence! }
    }
    var broker = SequenceCheckingBroker()
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
    private let configuration: KafkaProducerConfiguration
    /// When requests are drained: an hour ahead of the answers, so that no linger or retry
    /// backoff holds a batch back.
    private var drainAt: NIODeadline { .now() + .hours(1) }

    /// `batchSize` 1 puts every record in its own batch.
    init(partitions: Int, maxInFlight: Int = 5, batchSize: Int = 1, producerId: Int64 = 7000, epoch: Int16 = 0) {
        var configuration = KafkaProducerConfiguration(bootstrapServers: [.init(host: "127.0.0.1", port: 9092)])
        configuration.batchSize = batchSize
        configuration.linger = .zero
        configuration.maxInFlightRequestsPerConnection = maxInFlight
        configuration.maxRequestSize = .max
        // Ten days: the simulated clock (an hour ahead) stays inside it unless a test says not.
        configuration.deliveryTimeout = .seconds(864_000)
        self.configuration = configuration
        accumulator = RecordAccumulator(settings: .init(configuration: configuration))
        sender = SenderStateMachine(configuration: configuration, accumulator: accumulator)
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

    /// What `Sender.runOnce` does for the one broker: bump the epoch if needed, then send the
    /// requests the state machine drains. Returns the requests sent.
    @discardableResult
    func pump() -> [Request] {
        resets += machine.prepareToDrain()
        var requests: [Request] = []
        for drained in sender.nextRequests(node: 1, now: drainAt) {
            var sent: [KafkaProducerState] = []
            for batch in drained.batches {
                sent.append(Self.producerState(in: try! batch.encode(context: compressionContext)))
            }
            let request = Request(batches: drained.batches, sent: sent)
            inFlight.append(request)
            sentRequests.append(request)
            requests.append(request)
        }
        return requests
    }

    /// The broker handles the oldest request in flight, with `fault` if given. `mayRetry` false
    /// answers after `delivery.timeout.ms` has passed for its batches.
    func deliverOldest(_ fault: Fault? = nil, mayRetry: Bool = true) {
        guard !inFlight.isEmpty else {
            Issue.record("nothing in flight to answer")
            return
        }
        let expiry: TimeAmount = .milliseconds(configuration.deliveryTimeout.milliseconds) + .hours(1)
        let answeredAt: NIODeadline = mayRetry ? .now() : .now() + expiry
        let request = inFlight.removeFirst()
        switch fault {
        case .lostAfterWrite, .lostBeforeWrite:
            if fault == .lostAfterWrite {
                for (batch, state) in zip(request.batches, request.sent) {
                    _ = broker.append(
                        partition: batch.topicPartition.partition, state: state, records: batch.records.map(\.id))
                }
            }
            // The connection drops: every request in flight on it fails unanswered.
            let dropped = [request] + inFlight
            inFlight = []
            for lost in dropped {
                sender.requestFinished(node: 1, batches: lost.batches)
                record(
                    sender.produceFailed(
                        lost.batches, error: KafkaProducerError(.connectionFailed, "connection lost"), now: answeredAt))
            }
        case .error(let code):
            let answers = zip(request.batches, request.sent).map { batch, state -> (Int16, Int64) in
                let partition = batch.topicPartition.partition
                if !code.isRetriable
                    && broker.hasWritten(partition: partition, state: state, recordCount: batch.recordCount)
                {
                    // A broker refuses for good only what it never wrote; a repeat of a written
                    // batch is answered as the duplicate it is.
                    let (answer, offset) = broker.append(
                        partition: partition, state: state, records: batch.records.map(\.id))
                    return (answer.rawValue, offset)
                }
                return (code.rawValue, -1)
            }
            answer(request, with: answers, at: answeredAt)
        case nil:
            let answers = zip(request.batches, request.sent).map { batch, state -> (Int16, Int64) in
                let (code, offset) = broker.append(
                    partition: batch.topicPartition.partition, state: state, records: batch.records.map(\.id))
                return (code.rawValue, offset)
            }
            answer(request, with: answers, at: answeredAt)
        }
    }

    /// Builds the broker's `ProduceResponse` and hands it to the state machine.
    private func answer(_ request: Request, with answers: [(Int16, Int64)], at now: NIODeadline) {
        let partitions = zip(request.batches, answers).map { batch, answer in
            ProduceResponse.PartitionProduceResponse(
                index: batch.topicPartition.partition, errorCode: answer.0, baseOffset: answer.1)
        }
        let response = ProduceResponse(responses: [.init(name: topic, partitionResponses: partitions)])
        sender.requestFinished(node: 1, batches: request.batches)
        record(sender.produceAnswered(response, batches: request.batches, node: 1, now: now))
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

    /// What `Sender.perform` does with the outcomes, minus reports and logs.
    private func record(_ outcomes: [SenderStateMachine.Outcome]) {
        for outcome in outcomes {
            switch outcome {
            case .complete(let batch, let baseOffset, _, let isDuplicate):
                for (index, record) in batch.records.enumerated() {
                    acknowledged[record.id] = isDuplicate ? -1 : baseOffset + Int64(index)
                }
                accumulator.complete([batch])
            case .retry, .split:
                break
            case .fail(let batch, let error):
                failed.append((batch, error.brokerErrorCode))
                accumulator.complete([batch])
            }
        }
    }

    static func producerState(in bytes: ByteBuffer) -> KafkaProducerState {
        let start = bytes.readerIndex
        return KafkaProducerState(
            producerId: bytes.getInteger(at: start + RecordBatchLayout.producerId)!,
            producerEpoch: bytes.getInteger(at: start + RecordBatchLayout.producerEpoch)!,
            baseSequence: bytes.getInteger(at: start + RecordBatchLayout.baseSequence)!)
    }
}
