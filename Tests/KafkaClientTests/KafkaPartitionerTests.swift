import NIOCore
import Testing

@testable import KafkaClient

@Suite("KafkaPartitioner")
struct KafkaPartitionerTests {
    static let keys0048 = ["", "23456", "this is another string with more length to it perhaps", "hejsan"]

    @Test("consistent: librdkafka 0048 table for several partition counts; null and empty keys go to 0")
    func consistent0048() throws {
        let section = try KnownAnswers.load()["librdkafka_partitioner_test_0048"] as! [String: Any]
        let table = section["consistent_crc32"] as! [String: String]
        #expect(table.count == 5)
        for count: Int32 in [1, 2, 3, 5, 7, 12, 100, 1000] {
            var partitioner = KafkaPartitioner(strategy: .consistent, batchSize: 16384, ignoreKeys: false, seed: 1)
            for (name, hex) in table {
                let key: ByteBuffer? = name == "NULL" ? nil : ByteBuffer(utf8: name)
                let expected = Int32(KnownAnswers.hex(hex) % UInt32(count))
                let chosen = partitioner.partition(
                    topic: "t", key: key, partitionCount: count, availablePartitions: Array(0..<count))
                #expect(chosen == expected, "consistent(\(name)) n=\(count)")
            }
        }
    }

    @Test("consistent_random: CRC-32 for non-empty keys, random over available partitions otherwise")
    func consistentRandom() {
        var partitioner = KafkaPartitioner(strategy: .consistentRandom, batchSize: 16384, ignoreKeys: false, seed: 7)
        #expect(
            partitioner.partition(
                topic: "t", key: ByteBuffer(utf8: "hejsan"), partitionCount: 7, availablePartitions: [0, 1])
                == Int32(0xd077_037e % 7))
        var seen: Set<Int32> = []
        for index in 0..<400 {
            let key: ByteBuffer? = index.isMultiple(of: 2) ? nil : ByteBuffer()
            let partition = partitioner.partition(
                topic: "t", key: key, partitionCount: 6, availablePartitions: [1, 3, 5])
            seen.insert(partition)
        }
        #expect(seen == [1, 3, 5])
    }

    @Test(
        "murmur2 strategies place keyed records over all partitions, available or not",
        arguments: [
            KafkaPartitionerStrategy.murmur2RoundRobin, .murmur2UniformSticky,
        ])
    func murmur2Keyed(strategy: KafkaPartitionerStrategy) throws {
        var partitioner = KafkaPartitioner(strategy: strategy, batchSize: 16384, ignoreKeys: false, seed: 3)
        for entry in try KnownAnswers.cases("java_partition_for_key") {
            let key = ByteBuffer(utf8: entry["key"] as! String)
            for (count, expected) in entry["partitions"] as! [String: Int] {
                let chosen = partitioner.partition(
                    topic: "t", key: key, partitionCount: Int32(count)!, availablePartitions: [0])
                #expect(chosen == Int32(expected))
            }
        }
    }

    @Test("round robin spreads records exactly evenly over the available partitions and skips the others")
    func roundRobinEven() {
        for seed: UInt64 in [0, 1, 42, 0xdead_beef] {
            var partitioner = KafkaPartitioner(
                strategy: .murmur2RoundRobin, batchSize: 16384, ignoreKeys: false, seed: seed)
            let available: [Int32] = [0, 2, 3, 5, 7]
            var counts: [Int32: Int] = [:]
            for _ in 0..<(available.count * 200) {
                let partition = partitioner.partition(
                    topic: "logs", key: nil, partitionCount: 8, availablePartitions: available)
                counts[partition, default: 0] += 1
            }
            #expect(counts == Dictionary(uniqueKeysWithValues: available.map { ($0, 200) }))
        }
    }

    @Test("round robin visits partitions in turn, per topic, and uses all partitions when none is available")
    func roundRobinOrderAndFallback() {
        var partitioner = KafkaPartitioner(strategy: .murmur2RoundRobin, batchSize: 16384, ignoreKeys: false, seed: 9)
        let first = (0..<6).map { _ in
            partitioner.partition(topic: "a", key: nil, partitionCount: 3, availablePartitions: [0, 1, 2])
        }
        for index in 1..<first.count { #expect(first[index] == (first[index - 1] + 1) % 3) }
        var counts: [Int32: Int] = [:]
        for _ in 0..<40 {
            counts[
                partitioner.partition(topic: "b", key: nil, partitionCount: 4, availablePartitions: []), default: 0] +=
                1
        }
        #expect(counts == [0: 10, 1: 10, 2: 10, 3: 10])
    }

    @Test("uniform sticky stays on one partition until batch.size bytes, then switches to another")
    func stickySwitchesAfterBatchSize() {
        var partitioner = KafkaPartitioner(
            strategy: .murmur2UniformSticky, batchSize: 1000, ignoreKeys: false, seed: 5)
        let available: [Int32] = [0, 1, 2, 3]
        var previous: Int32?
        for _ in 0..<20 {
            let sticky = partitioner.partition(topic: "t", key: nil, partitionCount: 4, availablePartitions: available)
            #expect(available.contains(sticky))
            if let previous { #expect(sticky != previous, "switched to a different partition") }
            // 9 records of 100 bytes: 900 < 1000, stay.
            for _ in 0..<9 {
                #expect(
                    partitioner.partition(topic: "t", key: nil, partitionCount: 4, availablePartitions: available)
                        == sticky)
                partitioner.recordAppended(topic: "t", partition: sticky, bytes: 100)
            }
            // Appends to other partitions (keyed records) do not count.
            partitioner.recordAppended(topic: "t", partition: (sticky + 1) % 4, bytes: 10_000)
            #expect(
                partitioner.partition(topic: "t", key: nil, partitionCount: 4, availablePartitions: available) == sticky
            )
            partitioner.recordAppended(topic: "t", partition: sticky, bytes: 100)  // reaches 1000
            previous = sticky
        }
    }

    @Test("uniform sticky only picks available partitions, or any partition when none is available")
    func stickyAvailability() {
        var partitioner = KafkaPartitioner(strategy: .murmur2UniformSticky, batchSize: 1, ignoreKeys: false, seed: 11)
        var seen: Set<Int32> = []
        for _ in 0..<200 {
            let partition = partitioner.partition(
                topic: "t", key: nil, partitionCount: 10, availablePartitions: [4, 8])
            partitioner.recordAppended(topic: "t", partition: partition, bytes: 1)
            seen.insert(partition)
        }
        #expect(seen == [4, 8])
        seen = []
        for _ in 0..<500 {
            let partition = partitioner.partition(topic: "u", key: nil, partitionCount: 5, availablePartitions: [])
            partitioner.recordAppended(topic: "u", partition: partition, bytes: 1)
            seen.insert(partition)
        }
        #expect(seen == [0, 1, 2, 3, 4])
    }

    @Test("topics keep separate sticky state")
    func stickyPerTopic() {
        var partitioner = KafkaPartitioner(
            strategy: .murmur2UniformSticky, batchSize: 100, ignoreKeys: false, seed: 13)
        let a = partitioner.partition(topic: "a", key: nil, partitionCount: 50, availablePartitions: [])
        let b = partitioner.partition(topic: "b", key: nil, partitionCount: 50, availablePartitions: [])
        partitioner.recordAppended(topic: "b", partition: b, bytes: 100)
        #expect(partitioner.partition(topic: "a", key: nil, partitionCount: 50, availablePartitions: []) == a)
        #expect(partitioner.partition(topic: "b", key: nil, partitionCount: 50, availablePartitions: []) != b)
    }

    @Test("partitioner.ignore.keys sends keyed records down the null-key path")
    func ignoreKeys() {
        var sticky = KafkaPartitioner(strategy: .murmur2UniformSticky, batchSize: 1 << 20, ignoreKeys: true, seed: 17)
        let keys = (0..<100).map { ByteBuffer(utf8: "key-\($0)") }
        let partitions = Set(
            keys.map { sticky.partition(topic: "t", key: $0, partitionCount: 12, availablePartitions: []) })
        #expect(partitions.count == 1, "all on the sticky partition")

        var roundRobin = KafkaPartitioner(strategy: .murmur2RoundRobin, batchSize: 16384, ignoreKeys: true, seed: 0)
        let key = ByteBuffer(utf8: "same key")
        let spread = Set(
            (0..<12).map { _ in
                roundRobin.partition(topic: "t", key: key, partitionCount: 12, availablePartitions: Array(0..<12))
            })
        #expect(spread.count == 12)

        var consistent = KafkaPartitioner(strategy: .consistent, batchSize: 16384, ignoreKeys: true, seed: 0)
        #expect(
            consistent.partition(
                topic: "t", key: ByteBuffer(utf8: "hejsan"), partitionCount: 7, availablePartitions: [])
                == 0)

        var keyed = KafkaPartitioner(strategy: .murmur2UniformSticky, batchSize: 1 << 20, ignoreKeys: false, seed: 17)
        #expect(
            Set(keys.map { keyed.partition(topic: "t", key: $0, partitionCount: 12, availablePartitions: []) }).count
                > 1)
    }

    @Test("the configuration's strategy, batch.size and ignore.keys reach the partitioner")
    func fromConfiguration() throws {
        var configuration = KafkaProducerConfiguration(bootstrapServers: [KafkaBrokerAddress(host: "h", port: 1)])
        configuration.partitioner = .consistent
        configuration.batchSize = 0
        configuration.partitionerIgnoreKeys = true
        let partitioner = KafkaPartitioner(configuration: configuration, seed: 1)
        #expect(partitioner.strategy == .consistent)
        #expect(partitioner.stickyBatchSize == 1)
        #expect(partitioner.ignoreKeys)
    }
}
