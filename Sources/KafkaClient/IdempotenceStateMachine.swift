import KafkaWire

/// The idempotent producer's bookkeeping: its producer id and epoch, and per partition the next
/// sequence to hand out, the last one acknowledged, and the batches holding sequences that are
/// not done yet (in flight or queued for a retry).
///
/// This is the idempotent half of Java's `TransactionManager` (with `TxnPartitionMap`) and its
/// KIP-360 rules: errors that leave a gap or lost state in a partition's sequences bump the
/// epoch locally and restart that partition's outstanding batches from sequence 0, instead of
/// failing the producer.
///
/// Pure: no I/O, no clock. The sender asks it which batch of a partition may go next
/// (`canDrain`), stamps batches as they are drained (`stamp`), and lets it decide what an
/// answer means (`handleResponse`). Owned by the sender's event loop.
struct IdempotenceStateMachine {
    struct ProducerIdAndEpoch: Hashable, Sendable, CustomStringConvertible {
        var producerId: Int64
        var epoch: Int16

        var description: String { "\(producerId)/\(epoch)" }
    }

    /// Why a partition's sequences restarted from 0.
    enum SequenceResetReason: String, Sendable, CaseIterable {
        /// The broker saw a gap in the sequences (OUT_OF_ORDER_SEQUENCE_NUMBER for the next
        /// expected batch).
        case outOfOrderSequence = "out_of_order_sequence"
        /// The broker lost the producer's state for the partition (UNKNOWN_PRODUCER_ID), e.g. after
        /// retention removed its last records.
        case unknownProducerId = "unknown_producer_id"
        /// The broker knows a newer epoch for this producer id (INVALID_PRODUCER_EPOCH): a new
        /// producer id is fetched.
        case invalidProducerEpoch = "invalid_producer_epoch"
        /// A batch failed for good after taking sequences the broker never wrote.
        case failedBatch = "failed_batch"
        /// A batch failed (delivery timeout, lost connection) without knowing whether it was
        /// written, and no later batch of the partition was acknowledged to settle it.
        case unresolvedSequence = "unresolved_sequence"
    }

    /// A partition whose outstanding batches got new sequences from 0 under a new epoch.
    struct SequenceReset: Equatable, Sendable {
        var topicPartition: TopicPartition
        var reason: SequenceResetReason
        var producerIdAndEpoch: ProducerIdAndEpoch
        /// Outstanding batches (in flight or queued for a retry) that were re-stamped.
        var rewrittenBatches: Int
    }

    /// What to do with a batch after the broker's answer.
    enum Decision: Equatable, Sendable {
        /// Acknowledged.
        case complete
        /// DUPLICATE_SEQUENCE_NUMBER: the broker already has the batch but no longer knows where;
        /// it counts as delivered, with offset −1 (as in Java).
        case completeAsDuplicate
        /// Send it again (it keeps or got its sequences).
        case retry
        /// It failed for good; the caller reports the broker's error.
        case fail
    }

    private struct PartitionEntry {
        /// The producer id and epoch this partition's sequences belong to.
        var producerIdAndEpoch: ProducerIdAndEpoch
        var nextSequence: Int32 = 0
        var lastAckedSequence: Int32?
        /// Stamped and not done (in flight or queued for a retry), by base sequence.
        var outstanding: [ProducerBatch] = []
    }

    /// Nil until InitProducerId answered, and while a new producer id is needed.
    private(set) var producerIdAndEpoch: ProducerIdAndEpoch?
    /// Set when idempotence cannot be kept up (the broker refused the producer id or idempotent
    /// writes); every record not yet delivered fails with it.
    private(set) var fatalError: KafkaProducerError?
    private var partitions: [TopicPartition: PartitionEntry] = [:]
    /// Partitions where a batch failed without knowing whether the broker wrote it, with the
    /// sequence that follows it.
    private var unresolved: [TopicPartition: Int32] = [:]
    /// Partitions whose outstanding batches restart from 0 at the next epoch bump, and why.
    private var pendingResets: [TopicPartition: SequenceResetReason] = [:]
    /// A new producer id is needed instead of an epoch bump.
    private var isNewProducerIdRequired = false

    /// Whether an InitProducerId request should go out.
    var needsProducerId: Bool { producerIdAndEpoch == nil && fatalError == nil }

    /// A producer id arrived (at start, or after an epoch ran out or was refused). Partitions
    /// waiting for a reset restart under it.
    mutating func producerIdReceived(_ id: ProducerIdAndEpoch) -> [SequenceReset] {
        producerIdAndEpoch = id
        return applyPendingResets()
    }

    /// Idempotence cannot continue: nothing more is drained.
    mutating func failFatally(_ error: KafkaProducerError) {
        if fatalError == nil { fatalError = error }
    }

    /// Runs before each drain: settles partitions with unresolved sequences once nothing of
    /// theirs is outstanding, then bumps the epoch if any partition needs its sequences reset
    /// (or drops the producer id when a new one is needed, or the epoch is at its maximum).
    mutating func prepareToDrain() -> [SequenceReset] {
        resolveSequences()
        guard fatalError == nil, let current = producerIdAndEpoch else { return [] }
        if isNewProducerIdRequired || (!pendingResets.isEmpty && current.epoch == .max) {
            isNewProducerIdRequired = false
            producerIdAndEpoch = nil
            return []
        }
        guard !pendingResets.isEmpty else { return [] }
        producerIdAndEpoch = ProducerIdAndEpoch(producerId: current.producerId, epoch: current.epoch + 1)
        return applyPendingResets()
    }

    /// Whether `batch`, the first queued batch of its partition, may be drained now.
    ///
    /// A batch with sequences (a retry) goes only as the partition's first outstanding batch, so
    /// it cannot overtake an earlier one and a broker's out-of-order answer cannot cascade. A
    /// new batch waits while the partition still has outstanding batches of an older epoch (the
    /// new epoch restarts at 0, which must not reach the broker before them) or an unresolved
    /// sequence.
    func canDrain(_ batch: ProducerBatch) -> Bool {
        guard fatalError == nil, let current = producerIdAndEpoch else { return false }
        let topicPartition = batch.topicPartition
        guard let entry = partitions[topicPartition] else { return !batch.hasSequence }
        if batch.hasSequence { return entry.outstanding.first === batch }
        if !entry.outstanding.isEmpty && entry.producerIdAndEpoch != current { return false }
        return unresolved[topicPartition] == nil
    }

    /// Gives a batch being drained for the first time its producer id, epoch and base sequence.
    /// Batches that already have sequences keep them.
    mutating func stamp(_ batch: ProducerBatch) {
        guard !batch.hasSequence, let current = producerIdAndEpoch else { return }
        let topicPartition = batch.topicPartition
        var entry = partitions[topicPartition] ?? PartitionEntry(producerIdAndEpoch: current)
        if entry.producerIdAndEpoch != current && entry.outstanding.isEmpty {
            // The epoch changed because of another partition and this one's older batches are
            // done: its sequences restart at 0 under the new epoch.
            entry = PartitionEntry(producerIdAndEpoch: current)
        }
        batch.producerState = KafkaProducerState(
            producerId: current.producerId, producerEpoch: current.epoch, baseSequence: entry.nextSequence)
        entry.nextSequence = ProducerBatch.sequence(entry.nextSequence, plus: batch.recordCount)
        entry.outstanding.append(batch)
        partitions[topicPartition] = entry
    }

    /// Decides what the broker's answer for a batch means. `mayRetry` says whether the retry
    /// budget allows another attempt (`retries`, `delivery.timeout.ms`, not closing).
    mutating func handleResponse(_ batch: ProducerBatch, error: KafkaErrorCode, mayRetry: Bool) -> Decision {
        let topicPartition = batch.topicPartition
        switch error {
        case .none:
            acknowledged(batch)
            return .complete
        case .duplicateSequenceNumber:
            acknowledged(batch)
            return .completeAsDuplicate
        case .outOfOrderSequenceNumber where mayRetry:
            let unresolvedNext = unresolved[topicPartition]
            if unresolvedNext == nil && (batch.sequenceHasBeenReset || !isNextSequence(batch)) {
                // An earlier batch is not acknowledged yet: once it is (or fails and resets the
                // partition), this one goes again as it is.
                return .retry
            }
            if unresolvedNext == nil || unresolvedNext == batch.producerState.baseSequence {
                // It directly follows the last acknowledged (or unresolved) batch, so the broker
                // really lost something: restart the partition under a new epoch.
                pendingResets[topicPartition] = .outOfOrderSequence
            }
            return .retry
        case .unknownProducerId where mayRetry:
            // The broker has no state for this producer here; a new epoch starting at sequence 0
            // is accepted. A batch already re-stamped answers for its old sequences.
            if !batch.sequenceHasBeenReset { pendingResets[topicPartition] = .unknownProducerId }
            return .retry
        default:
            if error.isRetriable && mayRetry && error != .invalidProducerEpoch { return .retry }
            batchFailed(batch, brokerError: error)
            return .fail
        }
    }

    /// A batch with sequences left `oldBatch`'s place: it was split in two (MESSAGE_TOO_LARGE),
    /// and the halves carry its sequences.
    mutating func replace(_ oldBatch: ProducerBatch, with halves: (ProducerBatch, ProducerBatch)) {
        guard var entry = partitions[oldBatch.topicPartition],
            let index = entry.outstanding.firstIndex(where: { $0 === oldBatch })
        else { return }
        entry.outstanding.replaceSubrange(index...index, with: [halves.0, halves.1])
        partitions[oldBatch.topicPartition] = entry
    }

    /// A batch ended without being acknowledged (its error is reported to its records).
    /// `brokerError` is the broker's answer, nil when there was none (lost connection, request
    /// or delivery timeout). Does nothing for a batch that holds no sequences or was already
    /// accounted for.
    mutating func batchFailed(_ batch: ProducerBatch, brokerError: KafkaErrorCode?) {
        let topicPartition = batch.topicPartition
        guard batch.hasSequence, var entry = partitions[topicPartition],
            let index = entry.outstanding.firstIndex(where: { $0 === batch })
        else { return }
        entry.outstanding.remove(at: index)
        partitions[topicPartition] = entry
        guard let brokerError else {
            if batch.attempts > 0 {
                markUnresolved(batch)
            } else {
                pendingResets[topicPartition] = .failedBatch
            }
            return
        }
        switch brokerError {
        case .clusterAuthorizationFailed, .transactionalIdAuthorizationFailed, .producerFenced, .unsupportedVersion,
            .unsupportedForMessageFormat:
            failFatally(
                KafkaProducerError(
                    .idempotenceFailed,
                    "the broker refused idempotent writes to \(topicPartition) (\(brokerError)); set "
                        + "enable.idempotence=false to produce without it", brokerErrorCode: brokerError))
        case .outOfOrderSequenceNumber:
            pendingResets[topicPartition] = .outOfOrderSequence
        case .unknownProducerId:
            pendingResets[topicPartition] = .unknownProducerId
        case .invalidProducerEpoch:
            pendingResets[topicPartition] = .invalidProducerEpoch
            isNewProducerIdRequired = true
        case .requestTimedOut, .notEnoughReplicasAfterAppend, .networkException:
            // The leader may have written it before the error.
            markUnresolved(batch)
        default:
            pendingResets[topicPartition] = .failedBatch
        }
    }

    /// The partition's outstanding batches, in sequence order (tests, logs).
    func outstandingBatches(_ topicPartition: TopicPartition) -> [ProducerBatch] {
        partitions[topicPartition]?.outstanding ?? []
    }

    /// The sequence the partition's next new batch gets.
    func nextSequence(_ topicPartition: TopicPartition) -> Int32 {
        partitions[topicPartition]?.nextSequence ?? 0
    }

    /// Whether the partition has a batch whose fate is unknown.
    func hasUnresolvedSequence(_ topicPartition: TopicPartition) -> Bool {
        unresolved[topicPartition] != nil
    }

    // MARK: - Private

    private mutating func acknowledged(_ batch: ProducerBatch) {
        let topicPartition = batch.topicPartition
        guard batch.hasSequence, var entry = partitions[topicPartition] else { return }
        if let index = entry.outstanding.firstIndex(where: { $0 === batch }) { entry.outstanding.remove(at: index) }
        let state = batch.producerState
        if state.producerId == entry.producerIdAndEpoch.producerId
            && state.producerEpoch == entry.producerIdAndEpoch.epoch
        {
            let last = batch.lastSequence
            if entry.lastAckedSequence.map({ last > $0 }) ?? true { entry.lastAckedSequence = last }
        }
        partitions[topicPartition] = entry
    }

    private func isNextSequence(_ batch: ProducerBatch) -> Bool {
        let lastAcked = partitions[batch.topicPartition]?.lastAckedSequence ?? -1
        return batch.producerState.baseSequence == ProducerBatch.sequence(lastAcked, plus: 1)
    }

    private mutating func markUnresolved(_ batch: ProducerBatch) {
        let next = ProducerBatch.sequence(batch.lastSequence, plus: 1)
        unresolved[batch.topicPartition] = max(unresolved[batch.topicPartition] ?? next, next)
    }

    /// Java's `maybeResolveSequences`: once nothing of the partition is outstanding, either every
    /// sequence handed out was acknowledged (later batches proved the unresolved one written) or
    /// the partition restarts under a new epoch.
    private mutating func resolveSequences() {
        for topicPartition in unresolved.keys {
            guard let entry = partitions[topicPartition] else {
                unresolved[topicPartition] = nil
                continue
            }
            guard entry.outstanding.isEmpty else { continue }
            unresolved[topicPartition] = nil
            let lastAcked = entry.lastAckedSequence ?? -1
            if ProducerBatch.sequence(lastAcked, plus: 1) != entry.nextSequence {
                pendingResets[topicPartition] = pendingResets[topicPartition] ?? .unresolvedSequence
            }
        }
    }

    /// Restarts the sequences of every partition waiting for it under the current producer id
    /// and epoch: its outstanding batches are re-stamped from 0 in order.
    private mutating func applyPendingResets() -> [SequenceReset] {
        guard let current = producerIdAndEpoch, !pendingResets.isEmpty else { return [] }
        var resets: [SequenceReset] = []
        for (topicPartition, reason) in pendingResets.sorted(by: { $0.key < $1.key }) {
            var entry = partitions[topicPartition] ?? PartitionEntry(producerIdAndEpoch: current)
            var sequence: Int32 = 0
            for batch in entry.outstanding {
                batch.producerState = KafkaProducerState(
                    producerId: current.producerId, producerEpoch: current.epoch, baseSequence: sequence)
                batch.sequenceHasBeenReset = true
                sequence = ProducerBatch.sequence(sequence, plus: batch.recordCount)
            }
            entry.producerIdAndEpoch = current
            entry.nextSequence = sequence
            entry.lastAckedSequence = nil
            partitions[topicPartition] = entry
            unresolved[topicPartition] = nil
            resets.append(
                SequenceReset(
                    topicPartition: topicPartition, reason: reason, producerIdAndEpoch: current,
                    rewrittenBatches: entry.outstanding.count))
        }
        pendingResets = [:]
        return resets
    }
}
