import KafkaTestCluster
import Testing

/// The broker's idempotence rule applied to what the mock stored, on hand-made logs: retries
/// with the same numbers are dropped, anything a broker would refuse is named.
@Suite("IdempotentPartitionLog")
struct IdempotentPartitionLogTests {
    static func batch(_ offset: Int64, count: Int32, sequence: Int32, epoch: Int16 = 0) -> StoredBatch {
        StoredBatch(
            baseOffset: offset, lastOffsetDelta: count - 1, partitionLeaderEpoch: 0, magic: 2, producerId: 7,
            producerEpoch: epoch, baseSequence: sequence, recordCount: count, compression: 0, timestampType: 0,
            firstTimestamp: 0, maxTimestamp: 0, isCRCValid: true, isTransactional: false, isControl: false,
            sizeInBytes: 0)
    }

    static func records(_ offsets: Range<Int64>) -> [ConsumedRecord] {
        offsets.map {
            ConsumedRecord(
                partition: 0, offset: $0, timestamp: 0, timestampType: .create, key: nil, value: Array("\($0)".utf8))
        }
    }

    @Test func aBatchStoredAgainWithItsNumbersIsDropped() {
        // 0..<3 (seq 0), 3..<5 (seq 3), then both again as a retry would append them, then 5 more.
        let batches = [
            Self.batch(0, count: 3, sequence: 0), Self.batch(3, count: 2, sequence: 3),
            Self.batch(5, count: 3, sequence: 0), Self.batch(8, count: 2, sequence: 3),
            Self.batch(10, count: 1, sequence: 5),
        ]
        let log = IdempotentPartitionLog(records: Self.records(0..<11), batches: batches)
        #expect(log.records.map(\.offset) == [0, 1, 2, 3, 4, 10])
        #expect(log.resentBatches == 2)
        #expect(log.sequenceErrors.isEmpty)
    }

    @Test func recordsSentAgainUnderNewNumbersAreKeptAndNamed() {
        // The second batch repeats the first's records with sequence 3: no broker could tell.
        let batches = [Self.batch(0, count: 3, sequence: 0), Self.batch(3, count: 3, sequence: 3)]
        let log = IdempotentPartitionLog(records: Self.records(0..<6), batches: batches)
        #expect(log.records.count == 6)
        #expect(log.resentBatches == 0)
        #expect(log.sequenceErrors.isEmpty, "contiguous numbers: only the values show the repeat")
    }

    @Test func gapsAndChangedRetriesAreSequenceErrors() {
        let gap = IdempotentPartitionLog(
            records: Self.records(0..<5),
            batches: [Self.batch(0, count: 3, sequence: 0), Self.batch(3, count: 2, sequence: 4)])
        #expect(gap.sequenceErrors.count == 1)
        let changed = IdempotentPartitionLog(
            records: Self.records(0..<5),
            batches: [Self.batch(0, count: 3, sequence: 0), Self.batch(3, count: 2, sequence: 0)])
        #expect(changed.sequenceErrors.count == 1)
        #expect(changed.resentBatches == 1)
    }

    @Test func aNewEpochStartsAtZero() {
        let batches = [Self.batch(0, count: 3, sequence: 0), Self.batch(3, count: 2, sequence: 0, epoch: 1)]
        let log = IdempotentPartitionLog(records: Self.records(0..<5), batches: batches)
        #expect(log.sequenceErrors.isEmpty)
        #expect(log.records.count == 5)
    }
}

extension IdempotentPartitionLogTests {
    @Test func aBatchStoredAheadOfAFailedOneIsMovedBehindIt() {
        // Sequence 3 was appended while sequence 0 was failing; 0 came later, then 5.
        let batches = [
            Self.batch(0, count: 2, sequence: 3), Self.batch(2, count: 3, sequence: 0),
            Self.batch(5, count: 1, sequence: 5),
        ]
        let log = IdempotentPartitionLog(records: Self.records(0..<6), batches: batches)
        #expect(log.records.map(\.offset) == [2, 3, 4, 0, 1, 5])
        #expect(log.reorderedBatches == 1)
        #expect(log.resentBatches == 0)
        #expect(log.sequenceErrors.isEmpty)
    }

    @Test func aHeldBatchStoredAgainIsDroppedOnce() {
        // Sequence 3 stored ahead, then again (a lost answer), then the failed sequence 0.
        let batches = [
            Self.batch(0, count: 2, sequence: 3), Self.batch(2, count: 2, sequence: 3),
            Self.batch(4, count: 3, sequence: 0),
        ]
        let log = IdempotentPartitionLog(records: Self.records(0..<7), batches: batches)
        #expect(log.records.map(\.offset) == [4, 5, 6, 0, 1])
        #expect(log.resentBatches == 1)
        #expect(log.sequenceErrors.isEmpty)
    }

    @Test func aGapNeverFilledIsNamed() {
        let batches = [Self.batch(0, count: 3, sequence: 0), Self.batch(3, count: 2, sequence: 7)]
        let log = IdempotentPartitionLog(records: Self.records(0..<5), batches: batches)
        #expect(log.sequenceErrors.count == 1)
        #expect(log.sequenceErrors.first?.contains("sequence 7") == true)
        #expect(log.records.map(\.offset) == [0, 1, 2, 3, 4], "kept in the count, at the end")
    }
}
