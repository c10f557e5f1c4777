import KafkaWire
import NIOCore
import Testing

@testable import KafkaClient

/// The block path appends runs of records to the batch the previous record went to; these
/// check that it places records exactly as one-by-one appends would under every strategy, and
/// that the encoded batches (read back by the wire decoder) hold every record once, in order.
@Suite("RecordAccumulator appends blocks")
struct RecordAccumulatorBlockTests {
    static let partitions = 4

    static func accumulator(
        partitioner: KafkaPartitionerStrategy, batchSize: Int, partitions: Int = partitions
    ) -> RecordAccumulator {
        var configuration = KafkaProducerConfiguration(bootstrapServers: [.init(host: "127.0.0.1", port: 9092)])
        configuration.batchSize = batchSize
        configuration.partitioner = partitioner
        configuration.linger = .zero
        let accumulator = RecordAccumulator(settings: .init(configuration: configuration))
        var metadata = ClusterMetadata()
        metadata.brokers[1] = KafkaBrokerAddress(host: "127.0.0.1", port: 9092)
        metadata.topics["t"] = ClusterMetadata.Topic(
            partitions: Array(repeating: .init(leader: 1, leaderEpoch: 0), count: partitions),
            availablePartitions: (0..<Int32(partitions)).map { $0 })
        accumulator.updateMetadata(metadata)
        return accumulator
    }

    /// `count` lines `line <n>` padded to 90 bytes, each a record; with `key`, every record has it.
    static func block(count: Int, key: String?) -> (KafkaRecordBlock, [String]) {
        var bytes = ByteBuffer()
        let lines = (0..<count).map { "line \($0) " + String(repeating: "x", count: 80) }
        var ranges: [Range<Int>] = []
        for line in lines {
            let start = bytes.writerIndex
            bytes.writeString(line)
            ranges.append(start..<bytes.writerIndex)
        }
        var keyRange: Range<Int>?
        if let key {
            let start = bytes.writerIndex
            bytes.writeString(key)
            keyRange = start..<bytes.writerIndex
        }
        var block = KafkaRecordBlock(topic: "t", timestamp: 1, bytes: bytes)
        for range in ranges { block.append(key: keyRange, value: range) }
        return (block, lines)
    }

    /// Appends the block, then reads every batch back: per batch its partition, record ids and
    /// the values the wire decoder finds in its encoded bytes.
    static func appendAndDecode(_ block: KafkaRecordBlock, into accumulator: RecordAccumulator) throws -> [(
        partition: Int32, ids: [UInt64], values: [String]
    )] {
        var reservation = 0
        let progress = accumulator.append(
            block: block, from: 0, firstID: 1000, nowMillis: 0, now: .now(), reservation: &reservation,
            reportingTo: KafkaDeliveryReports(capacity: .max))
        #expect(progress.stop == nil)
        #expect(progress.next == block.records.count)
        let context = KafkaCompressionContext()
        return try accumulator.drainAll().map { batch in
            let decoded = try #require(try RecordBatchReader.readAll(try batch.encode(context: context)).first)
            return (
                batch.topicPartition.partition, batch.records.map(\.id),
                decoded.records.map {
                    String(decoding: $0.value.map { Array($0.readableBytesView) } ?? [], as: UTF8.self)
                }
            )
        }
    }

    /// What holds under every strategy: each record once, its bytes intact, ids in order per partition.
    static func checkEveryRecordOnce(_ batches: [(partition: Int32, ids: [UInt64], values: [String])], lines: [String])
    {
        let all = batches.flatMap { batch in zip(batch.ids, batch.values).map { ($0, $1) } }
        #expect(all.map(\.0).sorted() == (0..<UInt64(lines.count)).map { 1000 + $0 })
        for (id, value) in all { #expect(value == lines[Int(id - 1000)]) }
        for partition in Set(batches.map(\.partition)) {
            let ids = batches.filter { $0.partition == partition }.flatMap(\.ids)
            #expect(ids == ids.sorted())
        }
    }

    @Test func roundRobinStillVisitsEveryPartitionInTurn() throws {
        let (block, lines) = Self.block(count: 400, key: nil)
        let batches = try Self.appendAndDecode(
            block, into: Self.accumulator(partitioner: .murmur2RoundRobin, batchSize: 16384))
        Self.checkEveryRecordOnce(batches, lines: lines)
        // Consecutive records go to consecutive partitions: 100 each, and record n's partition
        // is record 0's plus n (mod 4).
        var partitionOf: [UInt64: Int32] = [:]
        for batch in batches { for id in batch.ids { partitionOf[id] = batch.partition } }
        let first = try #require(partitionOf[1000])
        for n in 0..<400 { #expect(partitionOf[1000 + UInt64(n)] == (first + Int32(n)) % 4) }
    }

    @Test func stickyFillsABatchBeforeMovingOn() throws {
        let (block, lines) = Self.block(count: 1000, key: nil)
        let batchSize = 2000
        let batches = try Self.appendAndDecode(
            block, into: Self.accumulator(partitioner: .murmur2UniformSticky, batchSize: batchSize))
        Self.checkEveryRecordOnce(batches, lines: lines)
        // Each batch holds a contiguous run of ids, and all but the last are about batch.size:
        // 90-byte records of about 100 bytes on the wire, so at least 15 of them.
        let ordered = batches.sorted { $0.ids[0] < $1.ids[0] }
        for batch in ordered { #expect(batch.ids == Array(batch.ids[0]..<(batch.ids[0] + UInt64(batch.ids.count)))) }
        for batch in ordered.dropLast() { #expect(batch.ids.count >= 15, "batch of \(batch.ids.count)") }
        // Two batches in a row never share a partition (KIP-480: the next one differs).
        for (a, b) in zip(ordered, ordered.dropFirst()) { #expect(a.partition != b.partition) }
    }

    @Test func aConstantKeyKeepsEveryRecordOnItsPartition() throws {
        // A key and its partition out of 12 from the known-answer vectors (Kafka's formula).
        let entry = try #require(
            try KnownAnswers.cases("java_partition_for_key").first {
                (($0["partitions"] as? [String: Int])?["12"] ?? 0) != 0
            }
        )
        let key = entry["key"] as! String
        let expected = Int32((entry["partitions"] as! [String: Int])["12"]!)
        let (block, lines) = Self.block(count: 500, key: key)
        let batches = try Self.appendAndDecode(
            block, into: Self.accumulator(partitioner: .murmur2UniformSticky, batchSize: 4096, partitions: 12))
        Self.checkEveryRecordOnce(batches, lines: lines)
        #expect(Set(batches.map(\.partition)) == [expected])
    }

    @Test func anExplicitPartitionIsKept() throws {
        var (block, lines) = Self.block(count: 300, key: nil)
        block.partition = 2
        let batches = try Self.appendAndDecode(
            block, into: Self.accumulator(partitioner: .murmur2RoundRobin, batchSize: 4096))
        Self.checkEveryRecordOnce(batches, lines: lines)
        #expect(Set(batches.map(\.partition)) == [2])
    }
}
