import Foundation
import KafkaClient
import KafkaTestCluster
import KafkaWire
import NIOCore
import Testing

/// The producer against librdkafka's mock cluster, read back with librdkafka's consumer
/// (`check.crcs=true`).
@Suite("KafkaProducer")
struct KafkaProducerTests {
    typealias Support = ProducerTestSupport
    /// The LogAppendTimeMs librdkafka's mock answers on every successful append.
    static let mockLogAppendTime: Int64 = 1234

    /// The documents' experiment: 1000 records in a tight loop, then close — all 1000 stored, in
    /// order per partition, each record's metadata pointing at exactly where it was stored.
    @Test func thousandRecordsThenCloseAreAllStoredWithTheirMetadata() async throws {
        let cluster = try await KafkaTestCluster.start(brokers: 3, topics: ["loop": 6])
        defer { Task { await cluster.stop() } }
        let producer = try Support.producer(cluster)
        let reports = producer.makeDeliveryReports()
        var ids: [KafkaRecordID] = []
        for i in 0..<1000 {
            let record = KafkaProducerRecord(
                topic: "loop", key: ByteBuffer(string: "k\(i % 37)"), value: Support.value("record-\(i)"))
            // Ids are the caller's: here 1000 + i, to show they need not start at 0.
            try await producer.enqueue(record, id: KafkaRecordID(1000 + i), reportingTo: reports)
            ids.append(KafkaRecordID(1000 + i))
        }
        await producer.close()
        // The report stream ends after close; every record has exactly one report.
        var metadataByID: [KafkaRecordID: KafkaRecordMetadata] = [:]
        for await report in reports {
            #expect(report.error == nil)
            for (index, id) in report.recordIDs.enumerated() {
                #expect(metadataByID[id] == nil, "record \(id) reported twice")
                metadataByID[id] = report.metadata(at: index)
            }
        }
        let metadata = try ids.map { try #require(metadataByID[$0]) }

        let stored = try await Support.stored(cluster, topic: "loop")
        #expect(stored.values.map(\.count).reduce(0, +) == 1000)
        for (i, meta) in metadata.enumerated() {
            let partition = try #require(stored[meta.partition], "record \(i) reported partition \(meta.partition)")
            let record = try #require(partition.first { $0.offset == meta.offset }, "record \(i) at \(meta)")
            #expect(record.value == Array("record-\(i)".utf8), "record \(i) metadata \(meta)")
            // Java's rule: the broker's LogAppendTimeMs when it sends one, else the create time.
            // The mock sends 1234 for every append (librdkafka-mock.md §5), so either may show.
            #expect(meta.timestamp == record.timestamp || meta.timestamp == Self.mockLogAppendTime)
            #expect(record.timestampType == .create)
        }
        // Within a key (one partition), records keep the order they were sent in.
        for (_, records) in stored {
            var lastIndexPerKey: [String: Int] = [:]
            for record in records {
                let key = String(decoding: record.key ?? [], as: UTF8.self)
                let index = Int(String(decoding: record.value ?? [], as: UTF8.self).dropFirst("record-".count))!
                if let last = lastIndexPerKey[key] { #expect(index > last) }
                lastIndexPerKey[key] = index
            }
        }
    }

    /// The same, through the bulk path and delivery reports: strict order per partition.
    @Test func bulkEnqueueKeepsSendOrderPerPartition() async throws {
        let cluster = try await KafkaTestCluster.start(brokers: 2, topics: ["bulk": 4])
        defer { Task { await cluster.stop() } }
        let producer = try Support.producer(cluster, ["batch.size": "2000"])
        let reports = try await Support.enqueueAll(producer, topic: "bulk", count: 1000)
        await producer.close()
        #expect(reports.allSatisfy { $0.isSuccess })
        #expect(Set(reports.flatMap(\.recordIDs)).count == 1000)
        let stored = try await Support.stored(cluster, topic: "bulk")
        #expect(stored.values.map(\.count).reduce(0, +) == 1000)
        for (_, records) in stored {
            let indices = records.map {
                Int(String(decoding: $0.value ?? [], as: UTF8.self).dropFirst("record-".count))!
            }
            #expect(indices == indices.sorted())
        }
        // Every report's offsets point at its records.
        for report in reports {
            let partition = stored[report.topicPartition.partition] ?? []
            for (index, id) in report.recordIDs.enumerated() {
                let offset = report.metadata(at: index).offset
                #expect(partition.first { $0.offset == offset }?.value == Array("record-\(id)".utf8))
            }
        }
    }

    /// Keys land where Java puts them: the partition-for-key table of test-vectors.json
    /// (computed with Kafka's murmur2 and toPositive), checked on a 12-partition topic by reading
    /// back where each key was stored.
    @Test func keysLandWhereJavaPutsThem() async throws {
        let table = try KnownAnswers.cases("java_partition_for_key")
        let cluster = try await KafkaTestCluster.start(brokers: 2, topics: ["keys": 12])
        defer { Task { await cluster.stop() } }
        let producer = try Support.producer(cluster)
        var expected: [String: Int32] = [:]
        for row in table {
            let key = row["key"] as! String
            let partitions = row["partitions"] as! [String: Any]
            expected[key] = Int32((partitions["12"] as! NSNumber).int32Value)
            for _ in 0..<3 {
                let metadata = try await producer.send(
                    KafkaProducerRecord(topic: "keys", key: ByteBuffer(string: key), value: Support.value(key)))
                #expect(metadata.partition == expected[key], "key \(key)")
            }
        }
        await producer.close()
        let stored = try await Support.stored(cluster, topic: "keys")
        for (partition, records) in stored {
            for record in records {
                let key = String(decoding: record.key ?? [], as: UTF8.self)
                #expect(expected[key] == partition, "key \(key) stored in \(partition)")
            }
        }
        let storedCount = stored.values.map(\.count).reduce(0, +)
        #expect(storedCount == table.count * 3)
    }

    /// The block path: keys and values as ranges of one buffer.
    @Test func recordBlocksAreStoredWithTheirKeys() async throws {
        let cluster = try await KafkaTestCluster.start(brokers: 2, topics: ["block": 6])
        defer { Task { await cluster.stop() } }
        let producer = try Support.producer(cluster, ["compression.type": "lz4"])
        var text = ""
        var ranges: [(key: Range<Int>?, value: Range<Int>)] = []
        for i in 0..<500 {
            let keyStart = text.utf8.count
            let key = i % 10 == 0 ? nil : "user-\(i % 17)"
            if let key { text += key }
            let valueStart = text.utf8.count
            text += "event-\(i)"
            ranges.append((key.map { _ in keyStart..<valueStart }, valueStart..<text.utf8.count))
        }
        var block = KafkaRecordBlock(topic: "block", bytes: ByteBuffer(string: text))
        for range in ranges { block.append(key: range.key, value: range.value) }
        let reports = producer.makeDeliveryReports()
        try await producer.enqueue(block, firstID: 0, reportingTo: reports)
        var outOfRange = KafkaRecordBlock(topic: "block", bytes: ByteBuffer(string: "short"))
        outOfRange.append(value: 2..<50)
        await #expect {
            try await producer.enqueue(outOfRange, firstID: 500, reportingTo: reports)
        } throws: { ($0 as? KafkaProducerError)?.code == .serializationFailed }
        await producer.close()

        let stored = try await Support.stored(cluster, topic: "block")
        let records = stored.values.flatMap { $0 }
        #expect(records.count == 500)
        for record in records {
            let value = String(decoding: record.value ?? [], as: UTF8.self)
            let i = Int(value.dropFirst("event-".count))!
            if i % 10 == 0 {
                #expect(record.key == nil)
            } else {
                let key = "user-\(i % 17)"
                #expect(record.key == Array(key.utf8))
                #expect(record.partition == Murmur2.partition(forKey: ByteBuffer(string: key), partitionCount: 6))
            }
        }
    }

    @Test func nullKeysRoundRobinRecordByRecord() async throws {
        let cluster = try await KafkaTestCluster.start(brokers: 2, topics: ["rr": 4])
        defer { Task { await cluster.stop() } }
        let producer = try Support.producer(cluster, ["partitioner": "murmur2_round_robin"])
        var partitions: [Int32] = []
        for i in 0..<40 {
            partitions.append(
                try await producer.send(KafkaProducerRecord(topic: "rr", value: Support.value("\(i)"))).partition)
        }
        await producer.close()
        // Each run of 4 consecutive records covers all 4 partitions.
        for start in stride(from: 0, to: 40, by: 4) {
            #expect(Set(partitions[start..<start + 4]) == [0, 1, 2, 3])
        }
        let stored = try await Support.stored(cluster, topic: "rr")
        #expect(stored.mapValues(\.count) == [0: 10, 1: 10, 2: 10, 3: 10])
    }

    @Test func nullKeysStickyFillABatchBeforeMovingOn() async throws {
        let cluster = try await KafkaTestCluster.start(brokers: 1, topics: ["sticky": 4])
        defer { Task { await cluster.stop() } }
        let producer = try Support.producer(cluster, ["partitioner": "murmur2_sticky", "batch.size": "1000"])
        var partitions: [Int32] = []
        for i in 0..<200 {
            partitions.append(
                try await producer.send(
                    KafkaProducerRecord(
                        topic: "sticky", value: Support.value(String(repeating: "x", count: 80) + "\(i)"))
                ).partition)
        }
        await producer.close()
        // Runs of the same partition, each about batch.size bytes (~10 records of ~100 bytes).
        var runs: [Int] = []
        var current = 1
        for i in 1..<partitions.count {
            if partitions[i] == partitions[i - 1] { current += 1 } else { runs.append(current); current = 1 }
        }
        #expect(runs.count >= 5)
        #expect(runs.dropLast().allSatisfy { $0 >= 5 && $0 <= 25 }, "runs \(runs)")
    }

    /// linger.ms holds small batches back: 50 quick records in one request with a long linger,
    /// many requests when each batch is full after one record.
    @Test func lingerAndBatchSizeShowInRequestCounts() async throws {
        let cluster = try await KafkaTestCluster.start(brokers: 1, topics: ["linger": 1])
        defer { Task { await cluster.stop() } }
        let warm = try Support.producer(cluster)
        _ = try await warm.send(KafkaProducerRecord(topic: "linger", value: Support.value("warm-up")))
        await warm.close()

        try await cluster.startRequestTracking()
        let lingering = try Support.producer(cluster, ["linger.ms": "500"])
        let records = (0..<50).map { KafkaProducerRecord(topic: "linger", value: Support.value("linger-\($0)")) }
        try await lingering.enqueue(contentsOf: records, firstID: 0, reportingTo: lingering.makeDeliveryReports())
        await lingering.close()
        let lingered = try await Support.produceRequestCount(cluster)
        #expect(lingered == 1)

        try await cluster.clearRequests()
        let eager = try Support.producer(
            cluster, ["linger.ms": "0", "batch.size": "1", "max.in.flight.requests.per.connection": "1"])
        try await eager.enqueue(contentsOf: records, firstID: 0, reportingTo: eager.makeDeliveryReports())
        await eager.close()
        let eagerCount = try await Support.produceRequestCount(cluster)
        #expect(eagerCount >= 25, "\(eagerCount) requests for 50 one-record batches")
        let stored = try await Support.stored(cluster, topic: "linger")
        #expect(stored[0]?.count == 101)
    }

    @Test(arguments: ["0", "1", "all"])
    func acks(_ acks: String) async throws {
        let cluster = try await KafkaTestCluster.start(brokers: 1, topics: ["acks": 2])
        defer { Task { await cluster.stop() } }
        let producer = try Support.producer(cluster, ["acks": acks])
        let metadata = try await Support.sendAll(producer, topic: "acks", count: 100)
        await producer.close()
        if acks == "0" {
            #expect(metadata.values.allSatisfy { $0.offset == -1 }, "acks=0 has no offsets")
        } else {
            #expect(metadata.values.allSatisfy { $0.offset >= 0 })
            #expect(Set(metadata.values.map { "\($0.partition)/\($0.offset)" }).count == 100)
        }
        let stored = try await Support.stored(cluster, topic: "acks")
        #expect(stored.values.map(\.count).reduce(0, +) == 100)
    }

    @Test(arguments: ["none", "gzip", "snappy", "lz4", "zstd"])
    func everyCodecIsReadBackIntact(_ codec: String) async throws {
        let cluster = try await KafkaTestCluster.start(brokers: 1, topics: ["codec": 2])
        defer { Task { await cluster.stop() } }
        let producer = try Support.producer(cluster, ["compression.type": codec, "linger.ms": "50"])
        let reports = try await Support.enqueueAll(producer, topic: "codec", count: 500, key: { "key-\($0 % 5)" })
        await producer.close()
        #expect(reports.allSatisfy { $0.isSuccess })
        let stored = try await Support.stored(cluster, topic: "codec")
        let values = Set(stored.values.flatMap { $0.map { String(decoding: $0.value ?? [], as: UTF8.self) } })
        #expect(values == Set((0..<500).map { "record-\($0)" }))
        for partition in stored.keys {
            let batches = try await cluster.storedBatches(topic: "codec", partition: partition)
            #expect(batches.allSatisfy { $0.isCRCValid })
            let codecID = KafkaCompression.Codec(name: codec)!.rawValue
            #expect(batches.allSatisfy { Int16($0.compression) == codecID }, "\(codec) batches")
        }
    }

    /// buffer.memory is a hard budget: with the broker too slow to free it, send waits
    /// max.block.ms and then fails with .bufferExhausted.
    @Test func bufferMemoryExhaustionBlocksThenTimesOut() async throws {
        let cluster = try await KafkaTestCluster.start(brokers: 1, topics: ["full": 1])
        defer { Task { await cluster.stop() } }
        let producer = try Support.producer(
            cluster,
            [
                "buffer.memory": "40000", "batch.size": "16384", "max.block.ms": "300", "linger.ms": "0",
                "max.request.size": "20000", "request.timeout.ms": "10000", "delivery.timeout.ms": "20000",
            ])
        // The first metadata answer may take longer than the short max.block.ms on a loaded machine.
        try await producer.waitForMetadata(topic: "full", timeout: .seconds(30))
        _ = try await producer.send(KafkaProducerRecord(topic: "full", value: Support.value("metadata")))
        try await cluster.setRTT(broker: 1, milliseconds: 3000)
        let big = ByteBuffer(repeating: 0x61, count: 15_000)
        var error: KafkaProducerError?
        let started = ContinuousClock.now
        let reports = producer.makeDeliveryReports()
        do {
            for i in 0..<10 {
                try await producer.enqueue(
                    KafkaProducerRecord(topic: "full", value: big), id: KafkaRecordID(i), reportingTo: reports)
            }
        } catch let thrown as KafkaProducerError {
            error = thrown
        }
        let waited = ContinuousClock.now - started
        #expect(error?.code == .bufferExhausted)
        #expect(error?.message.contains("buffer.memory") == true)
        #expect(waited >= .milliseconds(250), "send must block for max.block.ms before failing")
        try await cluster.setRTT(broker: 1, milliseconds: 0)
        await producer.close()
    }

    @Test func oversizedRecordFailsWithItsOwnError() async throws {
        let cluster = try await KafkaTestCluster.start(brokers: 1, topics: ["big": 1])
        defer { Task { await cluster.stop() } }
        let producer = try Support.producer(cluster, ["max.request.size": "1000"])
        await #expect {
            try await producer.send(KafkaProducerRecord(topic: "big", value: ByteBuffer(repeating: 0, count: 2000)))
        } throws: { ($0 as? KafkaProducerError)?.code == .recordTooLarge }
        await producer.close()
    }

    @Test func explicitPartitionOutOfRangeFails() async throws {
        let cluster = try await KafkaTestCluster.start(brokers: 1, topics: ["two": 2])
        defer { Task { await cluster.stop() } }
        let producer = try Support.producer(cluster)
        let metadata = try await producer.send(
            KafkaProducerRecord(topic: "two", partition: 1, value: Support.value("p1")))
        #expect(metadata.partition == 1)
        await #expect {
            try await producer.send(KafkaProducerRecord(topic: "two", partition: 7, value: Support.value("p7")))
        } throws: { ($0 as? KafkaProducerError)?.code == .unknownTopicOrPartition }
        await producer.close()
    }

    @Test func sendAfterCloseFails() async throws {
        let cluster = try await KafkaTestCluster.start(brokers: 1, topics: ["closed": 1])
        defer { Task { await cluster.stop() } }
        let producer = try Support.producer(cluster)
        _ = try await producer.send(KafkaProducerRecord(topic: "closed", value: Support.value("before")))
        await producer.close()
        await #expect {
            try await producer.send(KafkaProducerRecord(topic: "closed", value: Support.value("after")))
        } throws: { ($0 as? KafkaProducerError)?.code == .producerClosed }
    }

    @Test func invalidConfigurationFailsAtConstructionNamingTheKeys() throws {
        #expect {
            _ = try KafkaProducer(
                configuration: KafkaProducerConfiguration(properties: [
                    "bootstrap.servers": "127.0.0.1:9092", "delivery.timeout.ms": "1000", "request.timeout.ms": "5000",
                ]))
        } throws: { error in
            let message = (error as? KafkaProducerError)?.message ?? ""
            return message.contains("delivery.timeout.ms") && message.contains("request.timeout.ms")
        }
    }
}
