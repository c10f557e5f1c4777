import KafkaWire
import NIOCore
import Testing

@testable import KafkaClient

/// Under backlog, every partition of every topic gets requests: `drain` starts where the node's
/// previous drain stopped, as Java's per-node drain index does.
@Suite("RecordAccumulator drains fairly")
struct RecordAccumulatorFairnessTests {
    static let reports = KafkaDeliveryReports(capacity: .max)

    /// An accumulator whose topics all live on node 1, `batch.size` = `max.request.size`.
    static func accumulator(topics: [String: Int], batchSize: Int) -> RecordAccumulator {
        var configuration = KafkaProducerConfiguration(bootstrapServers: [.init(host: "127.0.0.1", port: 9092)])
        configuration.batchSize = batchSize
        configuration.maxRequestSize = batchSize
        configuration.linger = .zero
        let accumulator = RecordAccumulator(settings: .init(configuration: configuration))
        var metadata = ClusterMetadata()
        metadata.brokers[1] = KafkaBrokerAddress(host: "127.0.0.1", port: 9092)
        for (topic, partitions) in topics {
            metadata.topics[topic] = ClusterMetadata.Topic(
                partitions: Array(repeating: .init(leader: 1, leaderEpoch: 0), count: partitions),
                availablePartitions: (0..<Int32(partitions)).map { $0 })
        }
        accumulator.updateMetadata(metadata)
        return accumulator
    }

    /// Fills each partition with `batches` full batches of 100-byte records.
    static func backlog(_ accumulator: RecordAccumulator, topic: String, partitions: Int, batches: Int, batchSize: Int)
    {
        let value = ByteBuffer(repeating: 0x61, count: 100)
        let perBatch = max(1, batchSize / 120)
        for partition in 0..<Int32(partitions) {
            var block = KafkaRecordBlock(topic: topic, partition: partition, bytes: value)
            for _ in 0..<(perBatch * batches) { block.append(value: 0..<100) }
            var reservation = 0
            let progress = accumulator.append(
                block: block, from: 0, firstID: 0, nowMillis: 0, now: .now(), reservation: &reservation,
                reportingTo: Self.reports)
            precondition(progress.stop == nil)
        }
    }

    @Test func eightPartitionsEachGetARequestInTheFirstEightRounds() {
        let batchSize = 16_384
        let accumulator = Self.accumulator(topics: ["t": 8], batchSize: batchSize)
        Self.backlog(accumulator, topic: "t", partitions: 8, batches: 4, batchSize: batchSize)
        var partitionsPerRound: [[Int32]] = []
        for _ in 0..<16 {
            let drained = accumulator.drain(
                node: 1, acks: .all, now: .now(), maxSize: batchSize, canDrain: { _ in true })
            partitionsPerRound.append(drained.map(\.topicPartition.partition))
        }
        // One batch fills a request, so each round is one partition.
        #expect(partitionsPerRound.allSatisfy { $0.count == 1 })
        #expect(Set(partitionsPerRound.prefix(8).flatMap { $0 }) == Set(0..<8), "\(partitionsPerRound)")
        #expect(Set(partitionsPerRound.dropFirst(8).prefix(8).flatMap { $0 }) == Set(0..<8))
    }

    @Test func partitionsOfSeveralTopicsTakeTurns() {
        let batchSize = 16_384
        let accumulator = Self.accumulator(topics: ["a": 3, "b": 2], batchSize: batchSize)
        Self.backlog(accumulator, topic: "a", partitions: 3, batches: 3, batchSize: batchSize)
        Self.backlog(accumulator, topic: "b", partitions: 2, batches: 3, batchSize: batchSize)
        var seen: [TopicPartition] = []
        for _ in 0..<5 {
            seen += accumulator.drain(node: 1, acks: .all, now: .now(), maxSize: batchSize, canDrain: { _ in true })
                .map(\.topicPartition)
        }
        #expect(Set(seen).count == 5, "\(seen)")
    }

    /// Where requests hold several batches, the one that did not fit goes first next time.
    @Test func thePartitionThatDidNotFitLeadsTheNextRequest() {
        let batchSize = 16_384
        let accumulator = Self.accumulator(topics: ["t": 4], batchSize: batchSize)
        Self.backlog(accumulator, topic: "t", partitions: 4, batches: 2, batchSize: batchSize)
        let first = accumulator.drain(node: 1, acks: .all, now: .now(), maxSize: 2 * batchSize, canDrain: { _ in true })
        let second = accumulator.drain(
            node: 1, acks: .all, now: .now(), maxSize: 2 * batchSize, canDrain: { _ in true })
        let firstPartitions = first.map(\.topicPartition.partition)
        let secondPartitions = second.map(\.topicPartition.partition)
        #expect(firstPartitions.count == 2 && secondPartitions.count == 2)
        #expect(Set(firstPartitions + secondPartitions) == Set(0..<4), "\(firstPartitions) then \(secondPartitions)")
    }
}
