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
    /// A partition whose sequences must restart, once the batches before the gap are done.
    private struct PendingReset {
        var reason: SequenceResetReason
        /// The sequence where the gap is. Outstanding batches below it may have been written
        /// and keep their sequences until they are done; those from it on cannot have been
        /// written (a broker refuses everything after a gap) and get new ones.
        var gap: Int32
    }

    /// Partitions whose outstanding batches restart from 0 under a new epoch, and why.
    private var pendingResets: [TopicPartition: PendingReset] = [:]
    /// A new producer id is needed instead of an epoch bump.
    private var isNewProducerIdRequired = false

    /// Whether an InitProducerId request should go out.
    var needsProducerId: Bool { producerIdAndEpoch == nil && fatalError == nil }

    /// A producer id arrived (at start, or after an epoch ran out or was refused). Partitions
    /// waiting for a reset restart under it as soon as nothing before their gap is outstanding.
    mutating func producerIdReceived(_ id: ProducerIdAndEpoch) -> [SequenceReset] {
        producerIdAndEpoch = id
        return applyResets(pendingResets.keys.filter(isResetApplicable))
    }

    /// Idempotence cannot continue: nothing more is drained.
    mutating func failFatally(_ error: KafkaProducerError) {
        if fatalError == nil { fatalError = error }
    }

    /// Runs before each drain: settles partitions with unresolved sequences once nothing of
    /// theirs is outstanding, then restarts the sequences of partitions whose reset can apply
    /// (nothing before their gap is outstanding any more), bumping the epoch if one of them is
    /// already on the current epoch — or drops the producer id when a new one is needed, or the
    /// epoch is at its maximum.
    mutating func prepareToDrain() -> [SequenceReset] {
        resolveSequences()
        guard fatalError == nil, let current = producerIdAndEpoch else { return [] }
        if isNewProducerIdRequired {
            isNewProducerIdRequired = false
            producerIdAndEpoch = nil
            return []
        }
        let applicable = pendingResets.keys.filter(isResetApplicable)
        guard !applicable.isEmpty else { return [] }
        // A partition still on an older epoch (stale) restarts under the current one without a bump.
        if applicable.contains(where: { partitions[$0]?.producerIdAndEpoch == current }) {
            if current.epoch == .max {
                producerIdAndEpoch = nil
                return []
            }
            producerIdAndEpoch = ProducerIdAndEpoch(producerId: current.producerId, epoch: current.epoch + 1)
        }
        return applyResets(applicable)
    }

    /// Whether `batch`, the first queued batch of its partition, may be drained now.
    ///
    /// A batch with sequences (a retry) goes only as the partition's first outstanding batch, so
    /// it cannot overtake an earlier one and a broker's out-of-order answer cannot cascade. A
    /// new batch waits while the partition still has outstanding batches of an older epoch (the
    /// new epoch restarts at 0, which must not reach the broker before them), a retry on its way,
    /// or an unresolved sequence.
    func canDrain(_ batch: ProducerBatch) -> Bool {
        guard fatalError == nil, let current = producerIdAndEpoch else { return false }
        let topicPartition = batch.topicPartition
        guard let entry = partitions[topicPartition] else { return !batch.hasSequence }
        if let reset = pendingResets[topicPartition] {
            // Only batches before the gap go (with their sequences) until the reset applies.
            return batch.hasSequence && entry.outstanding.first === batch
                && batch.producerState.baseSequence < reset.gap
        }
        if batch.hasSequence { return entry.outstanding.first === batch }
        if !entry.outstanding.isEmpty && entry.producerIdAndEpoch != current { return false }
        // Nothing new goes behind a retry until it is done: a retry may be a batch the broker
        // wrote already, and it must still be among the broker's last 5 batches (its duplicate
        // window) when it arrives, or it would look out of order and be written again.
        if entry.outstanding.contains(where: { $0.attempts > 1 }) { return false }
        return unresolved[topicPartition] == nil
    }

    /// Gives a batch being drained for the first time its producer id, epoch and base sequence.
    /// Batches that already have sequences keep them.
    mutating func stamp(_ batch: ProducerBatch) {
        guard !batch.hasSequence, let current = producerIdAndEpoch else { return }
        let topicPartition = batch.topicPartition
        let isCurrent = partitions[topicPartition].map {
            $0.producerIdAndEpoch == current || !$0.outstanding.isEmpty
        }
        if isCurrent != true {
            // A new partition, or the epoch changed because of another partition and this one's
            // older batches are done: its sequences restart at 0 under the current epoch.
            partitions[topicPartition] = PartitionEntry(producerIdAndEpoch: current)
        }
        // Mutated in place: a copy of the entry would copy its outstanding list per batch.
        let sequence = partitions[topicPartition]!.nextSequence
        batch.producerState = KafkaProducerState(
            producerId: current.producerId, producerEpoch: current.epoch, baseSequence: sequence)
        partitions[topicPartition]!.nextSequence = ProducerBatch.sequence(sequence, plus: batch.recordCount)
        partitions[topicPartition]!.outstanding.append(batch)
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
            if batch.sequenceHasBeenReset || partitions[topicPartition]?.outstanding.first !== batch {
                // An earlier batch is not acknowledged yet (or the answer is about sequences the
                // batch no longer has): once it is, this one goes again as it is.
                return .retry
            }
            // Nothing before it is left to fill the gap: the broker lost data, or batches whose
            // fate was unknown were not written. Restart the partition under a new epoch. (Java
            // waits here while an unresolved sequence is not the batch's own, which never ends
            // before the delivery timeout when two batches in a row were lost.)
            requestReset(topicPartition, .outOfOrderSequence, gap: batch.producerState.baseSequence)
            return .retry
        case .unknownProducerId where mayRetry:
            // The broker has no state for this producer here; a new epoch starting at sequence 0
            // is accepted. A batch already re-stamped answers for its old sequences.
            if !batch.sequenceHasBeenReset {
                requestReset(topicPartition, .unknownProducerId, gap: batch.producerState.baseSequence)
            }
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
        guard batch.hasSequence, let index = partitions[topicPartition]?.outstanding.firstIndex(where: { $0 === batch })
        else { return }
        partitions[topicPartition]!.outstanding.remove(at: index)
        guard let brokerError else {
            if batch.attempts > 0 {
                markUnresolved(batch)
            } else {
                requestReset(topicPartition, .failedBatch, gap: batch.producerState.baseSequence)
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
            requestReset(topicPartition, .outOfOrderSequence, gap: batch.producerState.baseSequence)
        case .unknownProducerId:
            requestReset(topicPartition, .unknownProducerId, gap: batch.producerState.baseSequence)
        case .invalidProducerEpoch:
            requestReset(topicPartition, .invalidProducerEpoch, gap: batch.producerState.baseSequence)
            isNewProducerIdRequired = true
        case .requestTimedOut, .notEnoughReplicasAfterAppend, .networkException:
            // The leader may have written it before the error.
            markUnresolved(batch)
        default:
            requestReset(topicPartition, .failedBatch, gap: batch.producerState.baseSequence)
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
        guard batch.hasSequence, let owner = partitions[topicPartition]?.producerIdAndEpoch else { return }
        if let index = partitions[topicPartition]!.outstanding.firstIndex(where: { $0 === batch }) {
            partitions[topicPartition]!.outstanding.remove(at: index)
        }
        let state = batch.producerState
        guard state.producerId == owner.producerId && state.producerEpoch == owner.epoch else { return }
        let last = batch.lastSequence
        if partitions[topicPartition]!.lastAckedSequence.map({ last > $0 }) ?? true {
            partitions[topicPartition]!.lastAckedSequence = last
        }
    }

    /// Asks for the partition's sequences to restart at the next bump; the first reason given
    /// is the one reported.
    private mutating func requestReset(_ topicPartition: TopicPartition, _ reason: SequenceResetReason, gap: Int32) {
        if var pending = pendingResets[topicPartition] {
            // The earliest gap counts: nothing after it can have been written either.
            pending.gap = min(pending.gap, gap)
            pendingResets[topicPartition] = pending
        } else {
            pendingResets[topicPartition] = PendingReset(reason: reason, gap: gap)
        }
    }

    /// Whether every outstanding batch before the partition's gap is done.
    private func isResetApplicable(_ topicPartition: TopicPartition) -> Bool {
        guard let reset = pendingResets[topicPartition] else { return false }
        return partitions[topicPartition]?.outstanding.allSatisfy { $0.producerState.baseSequence >= reset.gap } ?? true
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
                requestReset(topicPartition, .unresolvedSequence, gap: entry.nextSequence)
            }
        }
    }

    /// Restarts the sequences of `topicPartitions` under the current producer id and epoch: their
    /// outstanding batches (all after the gap) are re-stamped from 0 in order.
    private mutating func applyResets(_ topicPartitions: [TopicPartition]) -> [SequenceReset] {
        guard let current = producerIdAndEpoch else { return [] }
        var resets: [SequenceReset] = []
        for topicPartition in topicPartitions.sorted() {
            guard let reset = pendingResets.removeValue(forKey: topicPartition) else { continue }
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
                    topicPartition: topicPartition, reason: reset.reason, producerIdAndEpoch: current,
                    rewrittenBatches: entry.outstanding.count))
        }
        return resets
    }
}
