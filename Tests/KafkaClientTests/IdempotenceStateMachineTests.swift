import Foundation
import KafkaWire
import NIOCore
import Testing

@testable import KafkaClient

/// The idempotent sender's ordering, without sockets: the real accumulator and state machine,
/// driven as `Sender` drives them, against a broker model that checks sequences the way Kafka
/// does (`SequenceCheckingBroker`). What the broker's log holds — not what the client believes —
/// is what the tests check.
@Suite("Idempotent sender state machine (no sockets)")
struct IdempotenceStateMachineTests {
    typealias Simulation = IdempotentSenderSimulation

    /// Seeds of the random schedules: 200 in `make test`; `make stress` sets
    /// TRIBUTARY_STRESS_SEEDS for a long run.
    static let seeds: ClosedRange<UInt64> = {
        let count = ProcessInfo.processInfo.environment["TRIBUTARY_STRESS_SEEDS"].flatMap { UInt64($0) } ?? 200
        return 1...max(count, 1)
    }()

    static func baseSequences(_ requests: [Simulation.Request]) -> [Int32] {
        requests.flatMap { $0.sent.map(\.baseSequence) }
    }

    @Test("five requests in flight: contiguous sequences from 0 per partition, one producer id and epoch")
    func contiguousSequences() {
        let simulation = Simulation(partitions: 3)
        for i in 0..<30 { simulation.append(partition: Int32(i % 3)) }
        let first = simulation.pump()
        #expect(first.count == 5, "five requests go out before any answer")
        simulation.runToCompletion()
        for partition in Int32(0)..<3 {
            #expect(simulation.broker.logs[partition] == simulation.appended[partition])
            let written = simulation.broker.written[partition] ?? []
            #expect(written.map(\.baseSequence) == (0..<10).map { Int32($0) })
            #expect(Set(written.map(\.producerId)) == [7000])
            #expect(Set(written.map(\.producerEpoch)) == [0])
        }
        #expect(simulation.failed.isEmpty && simulation.resets.isEmpty)
    }

    /// The first of five batches in flight is refused with a retriable error; the broker then
    /// sees a gap and answers OUT_OF_ORDER_SEQUENCE_NUMBER for the other four. All five go back
    /// in sequence order with their sequences, one at a time, and land once each, in order.
    @Test("retries keep their sequences and go out in sequence order, one at a time")
    func retriesKeepSequencesInOrder() {
        let simulation = Simulation(partitions: 1)
        for _ in 0..<5 { simulation.append(partition: 0) }
        simulation.pump()
        #expect(Self.baseSequences(simulation.sentRequests) == [0, 1, 2, 3, 4])
        simulation.deliverOldest(.error(.notLeaderOrFollower))
        for _ in 0..<4 { simulation.deliverOldest() }
        #expect(simulation.broker.logs[0] == nil, "nothing written: the gap made the broker refuse the rest")

        // Only the first outstanding batch may go; each next one after the previous succeeded.
        for expected in Int32(0)..<5 {
            let sent = simulation.pump()
            #expect(Self.baseSequences(sent) == [expected], "retry \(expected)")
            simulation.deliverOldest()
        }
        #expect(simulation.broker.logs[0] == simulation.appended[0])
        #expect(simulation.broker.written[0]?.map(\.baseSequence) == [0, 1, 2, 3, 4])
        #expect(simulation.resets.isEmpty, "no epoch bump: every gap resolved itself")
        #expect(simulation.failed.isEmpty)
    }

    /// When an earlier batch fails for good (INVALID_RECORD: never written), the later batches
    /// in flight cannot keep their sequences (the broker would wait for the missing one forever):
    /// the epoch is bumped and they restart from 0, in order.
    @Test("a batch failing for good resets the later batches' sequences under a new epoch")
    func sequenceReuseAfterFailure() {
        let simulation = Simulation(partitions: 1)
        for _ in 0..<3 { simulation.append(partition: 0) }
        simulation.pump()
        simulation.deliverOldest(.error(.invalidRecord))
        simulation.deliverOldest()  // sequence 1: out of order at the broker, retried
        simulation.deliverOldest()  // sequence 2: likewise
        #expect(simulation.failed.map(\.error) == [.invalidRecord])

        let sent = simulation.pump()
        #expect(simulation.resets.map(\.reason) == [.failedBatch])
        #expect(simulation.resets.first?.rewrittenBatches == 2)
        #expect(sent.flatMap(\.sent) == [KafkaProducerState(producerId: 7000, producerEpoch: 1, baseSequence: 0)])
        simulation.runToCompletion()
        simulation.append(partition: 0)
        simulation.runToCompletion()

        let appended = simulation.appended[0]!
        #expect(simulation.broker.logs[0] == Array(appended.dropFirst()), "the failed record alone is missing")
        #expect(simulation.broker.written[0]?.map(\.baseSequence) == [0, 1, 2])
        #expect(simulation.broker.written[0]?.map(\.producerEpoch) == [1, 1, 1])
    }

    /// A reset waits for the batches before its gap: sequence 0 is being retried when sequence 1
    /// fails for good. Re-stamping sequence 0 while its retry may be written would let it be
    /// written twice (once per epoch) — what the random schedules found. It keeps its sequence
    /// until it is done; only the batches after the gap restart under the new epoch.
    @Test("a reset waits until the batches before the gap are done, so none is written twice")
    func resetWaitsForBatchesBeforeTheGap() {
        let simulation = Simulation(partitions: 1)
        for _ in 0..<3 { simulation.append(partition: 0) }
        simulation.pump()
        simulation.deliverOldest(.error(.notLeaderOrFollower))  // sequence 0: retried
        simulation.deliverOldest(.error(.invalidRecord))  // sequence 1: fails for good
        simulation.deliverOldest()  // sequence 2: out of order at the broker, retried
        let retry = simulation.pump()
        #expect(retry.flatMap(\.sent) == [KafkaProducerState(producerId: 7000, producerEpoch: 0, baseSequence: 0)])
        #expect(simulation.resets.isEmpty, "no reset while sequence 0 may still be written")
        simulation.deliverOldest(.lostAfterWrite)  // written, answer lost: retried as it is
        let again = simulation.pump()
        #expect(again.flatMap(\.sent) == [KafkaProducerState(producerId: 7000, producerEpoch: 0, baseSequence: 0)])
        simulation.deliverOldest()  // the broker recognises the duplicate
        simulation.runToCompletion()
        #expect(simulation.resets.map(\.reason) == [.failedBatch])
        let appended = simulation.appended[0]!
        #expect(simulation.broker.logs[0] == [appended[0], appended[2]])
        #expect(
            simulation.broker.written[0] == [
                KafkaProducerState(producerId: 7000, producerEpoch: 0, baseSequence: 0),
                KafkaProducerState(producerId: 7000, producerEpoch: 1, baseSequence: 0),
            ])
    }

    /// A batch the broker wrote but whose answer was lost is retried; new batches wait behind the
    /// retry instead of being pipelined after it. Were they written first, enough of them would
    /// push the retry out of the broker's duplicate window (its last 5 batches), and the retry
    /// would then be written again — what 20,000 random schedules (`make stress`) found.
    @Test("new batches are not pipelined behind a retry")
    func noNewBatchesBehindARetry() {
        let simulation = Simulation(partitions: 1)
        simulation.append(partition: 0)
        simulation.pump()
        simulation.deliverOldest(.lostAfterWrite)
        for _ in 0..<6 { simulation.append(partition: 0) }
        let retry = simulation.pump()
        #expect(retry.flatMap(\.sent).map(\.baseSequence) == [0], "only the retry goes")
        simulation.deliverOldest(.error(.notLeaderOrFollower))
        #expect(simulation.pump().flatMap(\.sent).map(\.baseSequence) == [0], "the retry again, alone")
        simulation.deliverOldest()  // recognised as the duplicate it is
        #expect(simulation.pump().flatMap(\.sent).map(\.baseSequence) == [1, 2, 3, 4, 5])
        simulation.runToCompletion()
        #expect(simulation.broker.logs[0] == simulation.appended[0])
        #expect(simulation.resets.isEmpty)
    }

    /// The broker lost the producer's state (retention removed its records) and answers
    /// OUT_OF_ORDER_SEQUENCE_NUMBER for the very next sequence: a real gap, so the partition
    /// restarts under a new epoch and the batch is written.
    @Test("OUT_OF_ORDER_SEQUENCE_NUMBER for the next expected batch bumps the epoch")
    func outOfOrderForNextBatch() {
        let simulation = Simulation(partitions: 1)
        simulation.append(partition: 0, count: 1)
        simulation.append(partition: 0, count: 1)
        simulation.runToCompletion()
        simulation.broker.forgetProducer(partition: 0)
        simulation.append(partition: 0)
        simulation.runToCompletion()
        #expect(simulation.resets.map(\.reason) == [.outOfOrderSequence])
        #expect(
            simulation.broker.written[0] == [
                KafkaProducerState(producerId: 7000, producerEpoch: 0, baseSequence: 0),
                KafkaProducerState(producerId: 7000, producerEpoch: 0, baseSequence: 1),
                KafkaProducerState(producerId: 7000, producerEpoch: 1, baseSequence: 0),
            ])
        #expect(simulation.broker.logs[0] == simulation.appended[0])
        #expect(simulation.failed.isEmpty)
    }

    /// UNKNOWN_PRODUCER_ID for two batches in flight: the first answer resets the partition; the
    /// second answers for sequences the batch no longer has, so it is retried without another
    /// bump.
    @Test("UNKNOWN_PRODUCER_ID bumps the epoch once, not again for batches already re-stamped")
    func unknownProducerId() {
        let simulation = Simulation(partitions: 1)
        simulation.append(partition: 0)
        simulation.append(partition: 0)
        simulation.pump()
        simulation.deliverOldest(.error(.unknownProducerId))
        let sent = simulation.pump()
        #expect(sent.flatMap(\.sent) == [KafkaProducerState(producerId: 7000, producerEpoch: 1, baseSequence: 0)])
        simulation.deliverOldest(.error(.unknownProducerId))  // the second batch's old request
        simulation.runToCompletion()
        #expect(simulation.resets.map(\.reason) == [.unknownProducerId])
        #expect(simulation.broker.written[0]?.map(\.baseSequence) == [0, 1])
        #expect(simulation.broker.written[0]?.map(\.producerEpoch) == [1, 1])
        #expect(simulation.broker.logs[0] == simulation.appended[0])
    }

    /// DUPLICATE_SEQUENCE_NUMBER: the broker has the batch but no longer its offset. It counts as
    /// delivered (offset −1) and the sequence moves on.
    @Test("DUPLICATE_SEQUENCE_NUMBER completes the batch with offset −1 and keeps the sequence going")
    func duplicateSequence() {
        let simulation = Simulation(partitions: 1)
        simulation.append(partition: 0)
        simulation.pump()
        simulation.deliverOldest(.error(.duplicateSequenceNumber))
        simulation.append(partition: 0)
        let sent = simulation.pump()
        #expect(sent.flatMap(\.sent).map(\.baseSequence) == [1])
        #expect(simulation.acknowledged[simulation.appended[0]![0]] == -1)
        #expect(simulation.resets.isEmpty && simulation.failed.isEmpty)
    }

    /// A batch that fails without an answer (lost connection after `delivery.timeout.ms`) may or
    /// may not be written. New batches wait until nothing of the partition is outstanding; if no
    /// later batch was acknowledged to settle it, the partition restarts under a new epoch.
    @Test("an unresolved sequence holds new batches back, then bumps the epoch")
    func unresolvedSequenceBumps() {
        let simulation = Simulation(partitions: 1)
        simulation.append(partition: 0)
        simulation.pump()
        simulation.deliverOldest(.lostAfterWrite, mayRetry: false)
        #expect(simulation.failed.count == 1 && simulation.failed[0].error == nil)
        #expect(simulation.machine.hasUnresolvedSequence(TopicPartition(topic: "t", partition: 0)))
        simulation.append(partition: 0)
        let sent = simulation.pump()
        #expect(simulation.resets.map(\.reason) == [.unresolvedSequence])
        #expect(sent.flatMap(\.sent) == [KafkaProducerState(producerId: 7000, producerEpoch: 1, baseSequence: 0)])
        simulation.runToCompletion()
        #expect(simulation.broker.logs[0] == simulation.appended[0], "written once each: the first by its lost request")
    }

    @Test("an unresolved sequence settled by a later acknowledged batch needs no bump")
    func unresolvedSequenceResolved() {
        let simulation = Simulation(partitions: 1)
        let partition = TopicPartition(topic: "t", partition: 0)
        simulation.append(partition: 0)
        simulation.append(partition: 0)
        simulation.pump()
        let first = simulation.inFlight[0].batches[0]
        let second = simulation.inFlight[1].batches[0]
        // The first request timed out after its delivery timeout; the second was answered.
        simulation.machine.batchFailed(first, brokerError: nil)
        simulation.append(partition: 0)
        #expect(simulation.machine.hasUnresolvedSequence(partition))
        #expect(
            simulation.accumulator.drain(
                node: 1, acks: .all, now: .now(), maxSize: .max, canDrain: simulation.machine.canDrain
            )
            .isEmpty)
        #expect(simulation.machine.handleResponse(second, error: .none, mayRetry: true) == .complete)
        #expect(simulation.machine.prepareToDrain().isEmpty, "sequence 1 acknowledged proves sequence 0 was written")
        #expect(!simulation.machine.hasUnresolvedSequence(partition))
        #expect(simulation.machine.nextSequence(partition) == 2)
    }

    /// INVALID_PRODUCER_EPOCH: the broker knows a newer epoch of this producer id. The batch
    /// fails with that error and a new producer id is fetched; the partition restarts under it.
    @Test("INVALID_PRODUCER_EPOCH fails the batch and asks for a new producer id")
    func invalidProducerEpoch() {
        let simulation = Simulation(partitions: 1)
        simulation.append(partition: 0)
        simulation.pump()
        simulation.deliverOldest(.error(.invalidProducerEpoch))
        #expect(simulation.failed.map(\.error) == [.invalidProducerEpoch])
        simulation.append(partition: 0)
        #expect(simulation.pump().isEmpty, "nothing goes without a producer id")
        #expect(simulation.machine.needsProducerId)
        let resets = simulation.machine.producerIdReceived(.init(producerId: 8000, epoch: 0))
        #expect(resets.map(\.reason) == [.invalidProducerEpoch])
        simulation.runToCompletion()
        #expect(
            simulation.broker.written[0] == [KafkaProducerState(producerId: 8000, producerEpoch: 0, baseSequence: 0)])
    }

    @Test(
        "refusals of idempotent writes are fatal: nothing more is drained",
        arguments: [
            KafkaErrorCode.clusterAuthorizationFailed, .transactionalIdAuthorizationFailed, .producerFenced,
            .unsupportedVersion, .unsupportedForMessageFormat,
        ])
    func fatalErrors(_ code: KafkaErrorCode) {
        let simulation = Simulation(partitions: 2)
        simulation.append(partition: 0)
        simulation.pump()
        simulation.deliverOldest(.error(code))
        #expect(simulation.failed.map(\.error) == [code])
        #expect(simulation.machine.fatalError?.code == .idempotenceFailed)
        #expect(simulation.machine.fatalError?.brokerErrorCode == code)
        simulation.append(partition: 1)
        #expect(simulation.pump().isEmpty)
        #expect(!simulation.machine.needsProducerId)
    }

    @Test("an epoch at its maximum is not bumped: a new producer id is fetched instead")
    func epochExhausted() {
        let simulation = Simulation(partitions: 1, epoch: .max)
        simulation.append(partition: 0)
        simulation.pump()
        simulation.deliverOldest(.error(.invalidRecord))
        simulation.append(partition: 0)
        #expect(simulation.pump().isEmpty)
        #expect(simulation.machine.needsProducerId)
        #expect(
            simulation.machine.producerIdReceived(.init(producerId: 9000, epoch: 0)).map(\.reason) == [.failedBatch])
        simulation.runToCompletion()
        #expect(
            simulation.broker.written[0]?.last
                == KafkaProducerState(producerId: 9000, producerEpoch: 0, baseSequence: 0))
    }

    /// A batch refused as too large is split; the halves carry its sequences (0–1 and 2–3) and
    /// go before the batch behind them (4).
    @Test("split halves keep the batch's sequences")
    func splitKeepsSequences() {
        let simulation = Simulation(partitions: 1, batchSize: 16_384)
        simulation.append(partition: 0, count: 4)
        simulation.pump()
        simulation.append(partition: 0, count: 1)
        simulation.deliverOldest(.error(.messageTooLarge))
        let partition = TopicPartition(topic: "t", partition: 0)
        #expect(simulation.machine.outstandingBatches(partition).map(\.producerState.baseSequence) == [0, 2])
        simulation.runToCompletion()
        #expect(simulation.broker.written[0]?.map(\.baseSequence) == [0, 2, 4])
        #expect(simulation.broker.logs[0] == simulation.appended[0])
    }

    /// After an epoch bump caused by partition 0, partition 1 still has a batch of the old epoch
    /// in flight: its next batch waits (a new epoch starts at 0, which must not overtake it),
    /// then restarts at 0 under the new epoch.
    @Test("new batches wait while their partition has batches of an older epoch outstanding")
    func newBatchesWaitForOlderEpoch() {
        let simulation = Simulation(partitions: 2)
        simulation.append(partition: 0)
        simulation.pump()
        simulation.append(partition: 1)
        simulation.pump()
        simulation.append(partition: 1)
        simulation.deliverOldest(.error(.invalidRecord))  // partition 0's batch fails for good
        #expect(simulation.pump().isEmpty, "partition 1 waits for its epoch-0 batch")
        #expect(simulation.resets.map(\.topicPartition.partition) == [0])
        simulation.runToCompletion()
        #expect(
            simulation.broker.written[1] == [
                KafkaProducerState(producerId: 7000, producerEpoch: 0, baseSequence: 0),
                KafkaProducerState(producerId: 7000, producerEpoch: 1, baseSequence: 0),
            ])
        #expect(simulation.broker.logs[1] == simulation.appended[1])
    }

    /// Random schedules of appends and faults (retriable refusals, connections lost before and
    /// after the broker wrote a request) over three partitions with five requests in flight: the
    /// broker's log must end up holding every record once, in append order, with no epoch bump.
    @Test("random fault schedules: every record once, in order, no epoch bump", arguments: Self.seeds)
    func randomSchedules(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        let simulation = Simulation(partitions: 3)
        for _ in 0..<400 {
            switch random.next() % 10 {
            case 0...3:
                simulation.append(partition: Int32(random.next() % 3), count: 1 + Int(random.next() % 2))
            case 4...5:
                simulation.pump()
            default:
                guard !simulation.inFlight.isEmpty else { continue }
                let fault: Simulation.Fault? =
                    switch random.next() % 10 {
                    case 0: .error(.notLeaderOrFollower)
                    case 1: .lostAfterWrite
                    case 2: .lostBeforeWrite
                    default: nil
                    }
                simulation.deliverOldest(fault)
            }
        }
        simulation.runToCompletion()
        for partition in Int32(0)..<3 {
            #expect(simulation.broker.logs[partition] == simulation.appended[partition], "partition \(partition)")
        }
        #expect(simulation.failed.isEmpty)
        #expect(simulation.resets.isEmpty)
        let ids = simulation.appended.values.flatMap { $0 }
        #expect(ids.allSatisfy { simulation.acknowledged[$0] != nil })
    }

    /// Random schedules with the faults that bump the epoch too: batches refused for good
    /// (INVALID_RECORD), the broker forgetting the producer (retention) or answering as if it had
    /// (UNKNOWN_PRODUCER_ID, OUT_OF_ORDER_SEQUENCE_NUMBER), and requests lost after their delivery
    /// timeout (written or not). Records may fail then, but the broker's log must
    /// never hold a record twice or out of append order, every acknowledged offset must hold
    /// its record, every record must end acknowledged or failed, and nothing may get stuck.
    @Test(
        "random schedules with epoch bumps: no duplicates, no reordering, nothing lost silently", arguments: Self.seeds)
    func randomSchedulesWithBumps(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        let simulation = Simulation(partitions: 2)
        for _ in 0..<400 {
            switch random.next() % 20 {
            case 0...7:
                simulation.append(partition: Int32(random.next() % 2), count: 1 + Int(random.next() % 3))
            case 8...10:
                simulation.pump()
            case 11:
                // Retention removes a producer's state only once its batches are old: never while
                // one of them is unacknowledged.
                let partition = Int32(random.next() % 2)
                if simulation.machine.outstandingBatches(TopicPartition(topic: "t", partition: partition)).isEmpty {
                    simulation.broker.forgetProducer(partition: partition)
                }
            default:
                guard !simulation.inFlight.isEmpty else { continue }
                switch random.next() % 14 {
                case 0: simulation.deliverOldest(.error(.notLeaderOrFollower))
                case 1: simulation.deliverOldest(.error(.invalidRecord))
                case 2: simulation.deliverOldest(.lostAfterWrite)
                case 3: simulation.deliverOldest(.lostAfterWrite, mayRetry: false)
                case 4: simulation.deliverOldest(.lostBeforeWrite, mayRetry: false)
                // The broker lost its state for the producer (answers for batches it does not have).
                case 5: simulation.deliverOldest(.error(.unknownProducerId))
                case 6: simulation.deliverOldest(.error(.outOfOrderSequenceNumber))
                default: simulation.deliverOldest()
                }
            }
        }
        simulation.runToCompletion()

        let failed = Set(simulation.failed.flatMap { $0.batch.records.map(\.id) })
        for partition in Int32(0)..<2 {
            let appended = simulation.appended[partition] ?? []
            let log = simulation.broker.logs[partition] ?? []
            #expect(Set(log).count == log.count, "partition \(partition): a record written twice")
            let position = Dictionary(uniqueKeysWithValues: appended.enumerated().map { ($1, $0) })
            let positions = log.map { position[$0]! }
            #expect(positions == positions.sorted(), "partition \(partition): log out of append order")
            for id in appended {
                if let offset = simulation.acknowledged[id] {
                    #expect(!failed.contains(id), "record \(id) both acknowledged and failed")
                    #expect(
                        offset >= 0 && offset < log.count && log[Int(offset)] == id, "record \(id) offset \(offset)")
                } else {
                    #expect(failed.contains(id), "record \(id) neither acknowledged nor failed")
                }
            }
        }
        #expect(!simulation.accumulator.hasIncompleteBatches)
    }

    @Test("sequences wrap from Int32.max to 0, as Kafka's incrementSequence")
    func sequenceWraps() {
        #expect(ProducerBatch.sequence(.max, plus: 1) == 0)
        #expect(ProducerBatch.sequence(.max - 1, plus: 3) == 1)
        #expect(ProducerBatch.sequence(5, plus: 10) == 15)
    }
}
