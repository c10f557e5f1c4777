/// What a real broker would hold for an idempotent producer.
///
/// librdkafka's mock checks producer sequence numbers only for *transactional* producers
/// (`rd_kafka_mock_validate_records` returns early without a transactional id), so a batch that
/// an idempotent producer sends again after losing the answer (a request timeout, a dropped
/// connection) is appended a second time. A real broker keeps the last five batches' sequence
/// numbers per producer and partition and answers such a retry with success without appending
/// it. This view applies that rule to what the mock stored, so a test can expect exactly once
/// from an idempotent producer and still catch a producer that re-sends under new sequence
/// numbers (which no broker could recognise).
public struct IdempotentPartitionLog: Sendable {
    /// The records a real broker would have kept, in offset order.
    public var records: [ConsumedRecord]
    /// Batches dropped as retries of an earlier batch (same producer id, epoch, base sequence
    /// and record count).
    public var resentBatches: Int
    /// Batches a real broker would have refused: a sequence gap, an overlap with a batch it
    /// already holds under other numbers, or a retry whose record count differs.
    public var sequenceErrors: [String]

    /// Applies the broker's rule to one partition's stored batches and consumed records.
    public init(records: [ConsumedRecord], batches: [StoredBatch]) {
        struct BatchKey: Hashable {
            var producerId: Int64
            var producerEpoch: Int16
            var baseSequence: Int32
        }
        var seen: [BatchKey: Int32] = [:]
        var nextSequence: [Int64: (epoch: Int16, sequence: Int32)] = [:]
        var dropped: [ClosedRange<Int64>] = []
        var errors: [String] = []
        var resent = 0
        for batch in batches.sorted(by: { $0.baseOffset < $1.baseOffset }) where batch.producerId >= 0 {
            let key = BatchKey(
                producerId: batch.producerId, producerEpoch: batch.producerEpoch, baseSequence: batch.baseSequence)
            let range = batch.baseOffset...(batch.baseOffset + Int64(batch.lastOffsetDelta))
            if let count = seen[key] {
                if count != batch.recordCount {
                    errors.append(
                        "offset \(batch.baseOffset): sequence \(batch.baseSequence) again with \(batch.recordCount) records, first with \(count)"
                    )
                }
                dropped.append(range)
                resent += 1
                continue
            }
            // A new epoch (or producer id) starts its sequences again at 0.
            let expected =
                nextSequence[batch.producerId].flatMap { $0.epoch == batch.producerEpoch ? $0.sequence : nil } ?? 0
            if batch.baseSequence != expected {
                errors.append(
                    "offset \(batch.baseOffset): producer \(batch.producerId)/\(batch.producerEpoch) sequence \(batch.baseSequence), expected \(expected)"
                )
            }
            seen[key] = batch.recordCount
            nextSequence[batch.producerId] = (batch.producerEpoch, batch.baseSequence &+ batch.recordCount)
        }
        self.records = records.filter { record in !dropped.contains { $0.contains(record.offset) } }
        resentBatches = resent
        sequenceErrors = errors
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
