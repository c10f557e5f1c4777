/// What a real broker would hold for an idempotent producer.
///
/// librdkafka's mock checks producer sequence numbers only for *transactional* producers
/// (`rd_kafka_mock_validate_records` returns early without a transactional id), so a batch that
/// an idempotent producer sends again after losing the answer (a request timeout, a dropped
/// connection) is appended a second time, and a batch sent while an earlier one of the same
/// partition was failing is appended ahead of it. A real broker keeps the last five batches'
/// sequence numbers per producer and partition: it answers a retry with success without
/// appending it, and refuses a batch beyond the next expected sequence with
/// OUT_OF_ORDER_SEQUENCE_NUMBER, so the producer sends it again once the gap is filled. This
/// view applies both rules to what the mock stored, so a test can expect exactly once and in
/// order from an idempotent producer and still catch a producer that re-sends under new
/// sequence numbers (which no broker could recognise) or leaves a gap.
public struct IdempotentPartitionLog: Sendable {
    /// The records a real broker would have kept, in the order it would have appended them:
    /// offset order, but for batches it would have taken only after an earlier sequence.
    public var records: [ConsumedRecord]
    /// Batches dropped as retries of an earlier batch (same producer id, epoch, base sequence
    /// and record count).
    public var resentBatches: Int
    /// Batches the mock stored ahead of an earlier sequence, which a broker would have refused
    /// and then taken after it (moved behind it here).
    public var reorderedBatches: Int
    /// Batches a real broker would have refused for good: a gap never filled, an overlap with
    /// a batch it already holds under other numbers, or a retry whose record count differs.
    public var sequenceErrors: [String]

    /// Applies the broker's rules to one partition's stored batches and consumed records.
    public init(records: [ConsumedRecord], batches: [StoredBatch]) {
        struct BatchKey: Hashable {
            var producerId: Int64
            var producerEpoch: Int16
            var baseSequence: Int32
        }
        var seen: [BatchKey: Int32] = [:]
        var nextSequence: [Int64: (epoch: Int16, sequence: Int32)] = [:]
        // Per producer: batches beyond its next sequence, waiting for the gap to be filled.
        var held: [Int64: [StoredBatch]] = [:]
        var appended: [ClosedRange<Int64>] = []
        var dropped: [ClosedRange<Int64>] = []
        var errors: [String] = []
        var resent = 0
        var reordered = 0

        func range(of batch: StoredBatch) -> ClosedRange<Int64> {
            batch.baseOffset...(batch.baseOffset + Int64(batch.lastOffsetDelta))
        }
        func key(of batch: StoredBatch) -> BatchKey {
            BatchKey(producerId: batch.producerId, producerEpoch: batch.producerEpoch, baseSequence: batch.baseSequence)
        }
        func accept(_ batch: StoredBatch) {
            seen[key(of: batch)] = batch.recordCount
            nextSequence[batch.producerId] = (batch.producerEpoch, batch.baseSequence &+ batch.recordCount)
            appended.append(range(of: batch))
        }
        // Takes the held batches that the last accepted one made next, in sequence order.
        func drain(_ producerId: Int64) {
            while let next = nextSequence[producerId],
                let index = held[producerId]?.firstIndex(where: {
                    $0.producerEpoch == next.epoch && $0.baseSequence == next.sequence
                })
            {
                let batch = held[producerId]!.remove(at: index)
                reordered += 1
                accept(batch)
            }
        }

        for batch in batches.sorted(by: { $0.baseOffset < $1.baseOffset }) {
            guard batch.producerId >= 0 else {
                appended.append(range(of: batch))
                continue
            }
            if let count = seen[key(of: batch)] {
                if count != batch.recordCount {
                    errors.append(
                        "offset \(batch.baseOffset): sequence \(batch.baseSequence) again with \(batch.recordCount) records, first with \(count)"
                    )
                }
                dropped.append(range(of: batch))
                resent += 1
                continue
            }
            if held[batch.producerId, default: []].contains(where: { key(of: $0) == key(of: batch) }) {
                dropped.append(range(of: batch))
                resent += 1
                continue
            }
            // A new epoch (or producer id) starts its sequences again at 0.
            let current = nextSequence[batch.producerId]
            let expected = current.flatMap { $0.epoch == batch.producerEpoch ? $0.sequence : nil } ?? 0
            if batch.baseSequence > expected {
                held[batch.producerId, default: []].append(batch)
                continue
            }
            if batch.baseSequence != expected {
                errors.append(
                    "offset \(batch.baseOffset): producer \(batch.producerId)/\(batch.producerEpoch) sequence \(batch.baseSequence), expected \(expected)"
                )
            }
            accept(batch)
            drain(batch.producerId)
        }
        for (producerId, batches) in held.sorted(by: { $0.key < $1.key }) {
            for batch in batches.sorted(by: { $0.baseSequence < $1.baseSequence }) {
                let expected = nextSequence[producerId].map { "\($0.sequence)" } ?? "0"
                errors.append(
                    "offset \(batch.baseOffset): producer \(producerId)/\(batch.producerEpoch) sequence \(batch.baseSequence) never became next (expected \(expected)): a gap"
                )
            }
        }

        let byOffset = records.sorted { $0.offset < $1.offset }
        var taken = Set<Int64>()
        var ordered: [ConsumedRecord] = []
        ordered.reserveCapacity(byOffset.count)
        for range in appended {
            var index = byOffset.partitionPoint { $0.offset < range.lowerBound }
            while index < byOffset.count, byOffset[index].offset <= range.upperBound {
                ordered.append(byOffset[index])
                taken.insert(byOffset[index].offset)
                index += 1
            }
        }
        // Records of no accepted or dropped batch (a gap never filled, or records read after the
        // batches were listed) keep their offset order at the end rather than vanish from the count.
        ordered += byOffset.filter { record in
            !taken.contains(record.offset) && !dropped.contains { $0.contains(record.offset) }
        }
        self.records = ordered
        resentBatches = resent
        reorderedBatches = reordered
        sequenceErrors = errors
    }
}

extension Array {
    /// The first index whose element fails `belongsBefore` (the array partitioned by it).
    fileprivate func partitionPoint(_ belongsBefore: (Element) -> Bool) -> Int {
        var low = 0
        var high = count
        while low < high {
            let middle = (low + high) / 2
            if belongsBefore(self[middle]) { low = middle + 1 } else { high = middle }
        }
        return low
    }
}

extension KafkaTestCluster {
    /// Every partition of `topic` as a real broker would hold it for an idempotent producer
    /// (see ``IdempotentPartitionLog``), keyed by partition.
    public func consumeAsIdempotentBroker(
        topic: String, timeout: Duration = .seconds(30)
    ) async throws -> [Int32: IdempotentPartitionLog] {
        let records = try await consume(topic: topic, timeout: timeout)
        let partitions = try await watermarks(topic: topic).keys
        var result: [Int32: IdempotentPartitionLog] = [:]
        for partition in partitions {
            let batches = try await storedBatches(topic: topic, partition: partition)
            result[partition] = IdempotentPartitionLog(
                records: records.filter { $0.partition == partition }, batches: batches)
        }
        return result
    }
}
