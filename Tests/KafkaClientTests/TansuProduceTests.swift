import Foundation
import KafkaClient
import KafkaTestCluster
import KafkaWire
import NIOCore
import Testing

/// The core produce scenarios against Tansu (`TansuBroker`), a second broker written
/// independently of librdkafka's mock, read back with librdkafka's consumer from offset 0.
/// Tansu checks idempotent sequences per producer id, epoch and partition, which the mock does
/// not. What differs between the two brokers is in docs/brokers.md.
@Suite("KafkaProducer against Tansu")
struct TansuProduceTests {
    typealias Support = ProducerTestSupport

    /// Keys with the partition Java's producer picks for them on a topic of `partitionCount`
    /// partitions (test-vectors.json, computed with Kafka's own murmur2 and toPositive).
    static func javaPartitions(_ partitionCount: Int) throws -> [(key: String, partition: Int32)] {
        try KnownAnswers.cases("java_partition_for_key").map { row in
            let partitions = row["partitions"] as! [String: Any]
            return (row["key"] as! String, (partitions[String(partitionCount)] as! NSNumber).int32Value)
        }
    }

    /// What record `i` of a test carries: every tenth a null key, the rest a known-answer key;
    /// headers with a repeated name, an empty and a null value on every other record; its own
    /// timestamp, out of order every third record (the batch stores deltas from the first).
    struct Expected {
        var key: String?
        var value: String
        var headers: [(name: String, value: [UInt8]?)]
        var timestamp: Int64

        init(_ i: Int, keys: [String]) {
            key = i % 10 == 9 ? nil : keys[i % keys.count]
            value = "record-\(i)"
            timestamp = 1_700_000_000_000 + Int64(i) * 7 - (i % 3 == 0 ? 5_000 : 0)
            headers =
                i % 2 == 0
                ? [("index", Array("\(i)".utf8)), ("index", Array("again".utf8)), ("empty", []), ("null", nil)]
                : []
        }

        func record(topic: String) -> KafkaProducerRecord {
            KafkaProducerRecord(
                topic: topic, key: key.map { ByteBuffer(string: $0) }, value: ByteBuffer(string: value),
                headers: headers.map { KafkaRecordHeader(key: $0.name, value: $0.value.map { ByteBuffer(bytes: $0) }) },
                timestamp: timestamp)
        }
    }

    /// Enqueues records `0..<count` in order and returns every delivery report.
    static func produce(
        _ producer: KafkaProducer, topic: String, count: Int, keys: [String]
    ) async throws -> [KafkaDeliveryReport] {
        let records = (0..<count).map { Expected($0, keys: keys).record(topic: topic) }
        let stream = producer.makeDeliveryReports()
        try await producer.enqueue(contentsOf: records, firstID: 0, reportingTo: stream)
        await producer.flush()
        return await Support.collect(stream, count: count)
    }

    /// How many reports failed and the first error, counted outside `#expect`, which would
    /// print every report of a failed comparison.
    static func failures(_ reports: [KafkaDeliveryReport]) -> (batches: Int, first: String) {
        (reports.filter { !$0.isSuccess }.count, reports.lazy.compactMap(\.error).first.map { "\($0)" } ?? "none")
    }

    /// Checks what Tansu holds against what was sent: each record exactly once with its key,
    /// value and headers, keyed records on Java's partition, send order and gap-free offsets
    /// in every partition.
    static func verify(
        _ stored: [ConsumedRecord], count: Int, keys: [(key: String, partition: Int32)],
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(stored.count == count, "\(stored.count) records stored", sourceLocation: sourceLocation)
        let partitionOf = Dictionary(uniqueKeysWithValues: keys)
        var seen = Set<Int>()
        for (partition, records) in Dictionary(grouping: stored, by: \.partition) {
            let sorted = records.sorted { $0.offset < $1.offset }
            #expect(
                sorted.map(\.offset) == Array(0..<Int64(sorted.count)), "offsets of partition \(partition)",
                sourceLocation: sourceLocation)
            var previous = -1
            for record in sorted {
                let value = String(decoding: record.value ?? [], as: UTF8.self)
                guard let i = Int(value.dropFirst("record-".count)), value.hasPrefix("record-"), i < count else {
                    Issue.record("unexpected value '\(value)' at \(record)", sourceLocation: sourceLocation)
                    continue
                }
                #expect(seen.insert(i).inserted, "record \(i) stored twice", sourceLocation: sourceLocation)
                #expect(i > previous, "record \(i) after \(previous) in \(partition)", sourceLocation: sourceLocation)
                previous = i
                let expected = Expected(i, keys: keys.map(\.key))
                #expect(
                    record.key == expected.key.map { Array($0.utf8) }, "key of \(i)", sourceLocation: sourceLocation)
                #expect(
                    record.timestamp == expected.timestamp && record.timestampType == .create, "timestamp of \(i)",
                    sourceLocation: sourceLocation)
                if let key = expected.key {
                    #expect(partitionOf[key] == partition, "key \(key) in \(partition)", sourceLocation: sourceLocation)
                }
                #expect(
                    record.headers.map(\.name) == expected.headers.map(\.name)
                        && record.headers.map(\.value) == expected.headers.map(\.value),
                    "headers of \(i): \(record.headers)", sourceLocation: sourceLocation)
            }
        }
        #expect(seen.count == count, "\(count - seen.count) records missing", sourceLocation: sourceLocation)
    }

    @Test(arguments: ["none", "gzip", "snappy", "lz4", "zstd"])
    func everyCodecIsReadBackIntact(_ codec: String) async throws {
        let tansu = try await TansuBroker.start(topics: ["codec": 6])
        defer { Task { await tansu.stop() } }
        let keys = try Self.javaPartitions(6)
        let producer = try Support.producer(
            bootstrapServers: tansu.bootstrapServers, ["compression.type": codec, "linger.ms": "20"])
        let reports = try await Self.produce(producer, topic: "codec", count: 700, keys: keys.map(\.key))
        await producer.close()
        let failed = Self.failures(reports)
        #expect(failed.batches == 0, "first error: \(failed.first)")
        let stored = try await tansu.consume(topic: "codec", expecting: 700)
        Self.verify(stored, count: 700, keys: keys)
        // The consumer decompresses anything; the batch headers show the codec was really used.
        // The attribute bits of the RecordBatch format (KIP-110 for zstd), not our own table.
        let codecID = try #require(["none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4][codec])
        for partition in Set(stored.map(\.partition)) {
            let batches = try await tansu.storedBatches(topic: "codec", partition: partition)
            #expect(batches.allSatisfy { Int($0.compression) == codecID && $0.isCRCValid }, "\(codec) p\(partition)")
            #expect(batches.map(\.recordCount).reduce(0, +) == Int32(stored.filter { $0.partition == partition }.count))
        }
    }

    /// acks 0, 1 and all (the last idempotent): everything stored; with acks the reported
    /// offsets point at the records, without them there are none.
    @Test(arguments: ["0", "1", "all"])
    func acks(_ acks: String) async throws {
        let tansu = try await TansuBroker.start(topics: ["acks": 3])
        defer { Task { await tansu.stop() } }
        let producer = try Support.producer(bootstrapServers: tansu.bootstrapServers, ["acks": acks])
        let metadata = try await Support.sendAll(producer, topic: "acks", count: 300)
        await producer.close()
        let stored = try await tansu.consume(topic: "acks", expecting: 300)
        #expect(stored.count == 300)
        #expect(
            Set(stored.map { String(decoding: $0.value ?? [], as: UTF8.self) })
                == Set((0..<300).map { "record-\($0)" }))
        if acks == "0" {
            #expect(metadata.values.allSatisfy { $0.offset == -1 }, "acks=0 has no offsets")
        } else {
            let byPosition = Dictionary(
                stored.map { ("\($0.partition)/\($0.offset)", $0.value ?? []) }, uniquingKeysWith: { a, _ in a })
            for (i, meta) in metadata {
                #expect(byPosition["\(meta.partition)/\(meta.offset)"] == Array("record-\(i)".utf8), "\(i) at \(meta)")
            }
        }
    }

    /// Keys on Java's partition of a 12-partition topic, null keys spread by the sticky
    /// partitioner, headers (repeated names, empty and null values) intact.
    @Test func keysNullKeysAndHeaders() async throws {
        let tansu = try await TansuBroker.start(topics: ["keys": 12])
        defer { Task { await tansu.stop() } }
        let keys = try Self.javaPartitions(12)
        let producer = try Support.producer(bootstrapServers: tansu.bootstrapServers)
        let reports = try await Self.produce(producer, topic: "keys", count: 420, keys: keys.map(\.key))
        await producer.close()
        let failed = Self.failures(reports)
        #expect(failed.batches == 0, "first error: \(failed.first)")
        let stored = try await tansu.consume(topic: "keys", expecting: 420)
        Self.verify(stored, count: 420, keys: keys)
        // Every partition the table names holds its keys; a tenth of the records had none.
        #expect(Set(stored.filter { $0.key != nil }.map(\.partition)) == Set(keys.map(\.partition)))
        #expect(stored.filter { $0.key == nil }.count == 42)
    }

    /// Idempotence with 5 requests in flight per connection: thousands of small batches across
    /// partitions, each with its producer id, epoch and sequence, all accepted by a broker that
    /// checks sequences (no OUT_OF_ORDER_SEQUENCE_NUMBER, no DUPLICATE_SEQUENCE_NUMBER), and
    /// every record stored exactly once, in send order.
    @Test func idempotentPipelinedProduceIsExactlyOnce() async throws {
        let tansu = try await TansuBroker.start(topics: ["idem": 6])
        defer { Task { await tansu.stop() } }
        let keys = try Self.javaPartitions(6)
        let count = 6000
        let producer = try Support.producer(
            bootstrapServers: tansu.bootstrapServers,
            [
                "enable.idempotence": "true", "max.in.flight.requests.per.connection": "5", "batch.size": "1024",
                "linger.ms": "0",
            ])
        let reports = try await Self.produce(producer, topic: "idem", count: count, keys: keys.map(\.key))
        await producer.close()
        let failed = Self.failures(reports)
        #expect(failed.batches == 0, "first error: \(failed.first)")
        // Small batches: many per partition, so several were in flight at once.
        #expect(reports.count >= 100, "\(reports.count) batches")
        #expect(reports.map(\.recordIDs.count).reduce(0, +) == count)
        let stored = try await tansu.consume(topic: "idem", expecting: count)
        Self.verify(stored, count: count, keys: keys)
        var producerIds: Set<Int64> = []
        for partition in Set(stored.map(\.partition)) {
            let batches = try await tansu.storedBatches(topic: "idem", partition: partition)
            producerIds.formUnion(batches.map(\.producerId))
            Self.expectContiguousSequences(batches, "p\(partition)")
        }
        #expect(producerIds.count == 1 && producerIds.allSatisfy { $0 >= 0 }, "producer ids \(producerIds)")
    }

    /// One producer's batches in a partition: epoch 0, sequences from 0 with no gap or overlap.
    static func expectContiguousSequences(
        _ batches: [StoredBatch], _ what: String, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(!batches.isEmpty, "\(what): no batches", sourceLocation: sourceLocation)
        var next: Int32 = 0
        for batch in batches {
            #expect(batch.producerEpoch == 0, "\(what): epoch \(batch.producerEpoch)", sourceLocation: sourceLocation)
            #expect(
                batch.baseSequence == next, "\(what): batch at \(batch.baseOffset) has sequence \(batch.baseSequence)",
                sourceLocation: sourceLocation)
            next = batch.baseSequence + batch.recordCount
        }
    }

    /// Lost responses: the proxy drops every 7th Produce response by closing the connection,
    /// after Tansu appended the batch, with up to 5 requests in flight. The producer resends;
    /// Tansu answers the resent batches DUPLICATE_SEQUENCE_NUMBER (or takes the ones it never
    /// got), and every record is stored exactly once, in order.
    @Test func lostResponsesAreResentWithoutDuplicates() async throws {
        let tansu = try await TansuBroker.start(topics: ["lossy": 3], losingResponses: true)
        defer { Task { await tansu.stop() } }
        let keys = try Self.javaPartitions(3)
        let count = 3000
        try await tansu.dropProduceResponses(every: 7)
        let producer = try Support.producer(
            bootstrapServers: tansu.bootstrapServers,
            ["max.in.flight.requests.per.connection": "5", "batch.size": "1024", "linger.ms": "0"])
        let reports = try await Self.produce(producer, topic: "lossy", count: count, keys: keys.map(\.key))
        await producer.close()
        let dropped = try await tansu.dropProduceResponses(every: 0)
        #expect(dropped >= 5, "only \(dropped) responses lost")
        let failed = Self.failures(reports)
        #expect(failed.batches == 0, "first error: \(failed.first)")
        // A batch acknowledged as a duplicate has no offset of its own: the resend path was taken.
        let duplicates = reports.filter { $0.isSuccess && $0.baseOffset == -1 }.count
        #expect(duplicates >= 1, "no resent batch was answered DUPLICATE_SEQUENCE_NUMBER")
        let stored = try await tansu.consume(topic: "lossy", expecting: count)
        Self.verify(stored, count: count, keys: keys)
        for partition in Set(stored.map(\.partition)) {
            let batches = try await tansu.storedBatches(topic: "lossy", partition: partition)
            #expect(Set(batches.map(\.producerId)).count == 1)
            Self.expectContiguousSequences(batches, "p\(partition)")
        }
    }

    /// One idempotent producer, two topics, explicit partitions and tombstones (null values):
    /// each record where it was sent, its sequences counted per topic and partition.
    @Test func explicitPartitionsTombstonesAndTwoTopics() async throws {
        let tansu = try await TansuBroker.start(topics: ["left": 3, "right": 2])
        defer { Task { await tansu.stop() } }
        let producer = try Support.producer(bootstrapServers: tansu.bootstrapServers, ["batch.size": "400"])
        let records = (0..<600).map { i in
            let topic = i % 2 == 0 ? "left" : "right"
            let partition = Int32((i / 2) % (topic == "left" ? 3 : 2))
            return KafkaProducerRecord(
                topic: topic, partition: partition, key: ByteBuffer(string: "\(i)"),
                value: i % 5 == 0 ? nil : ByteBuffer(string: "v\(i)"))
        }
        let stream = producer.makeDeliveryReports()
        try await producer.enqueue(contentsOf: records, firstID: 0, reportingTo: stream)
        await producer.close()
        let failed = Self.failures(await Support.collect(stream, count: 600))
        #expect(failed.batches == 0, "first error: \(failed.first)")
        for (topic, partitions) in [("left", 3), ("right", 2)] {
            let stored = try await tansu.consume(topic: topic, expecting: 300)
            #expect(stored.count == 300, "\(topic)")
            for record in stored {
                let i = Int(String(decoding: record.key ?? [], as: UTF8.self)) ?? -1
                #expect(
                    i % 2 == (topic == "left" ? 0 : 1) && Int(record.partition) == (i / 2) % partitions, "\(record)")
                #expect(record.value == (i % 5 == 0 ? nil : Array("v\(i)".utf8)), "value of \(i)")
            }
            for partition in Int32(0)..<Int32(partitions) {
                let batches = try await tansu.storedBatches(topic: topic, partition: partition)
                #expect(Set(batches.map(\.producerId)).count == 1)
                Self.expectContiguousSequences(batches, "\(topic)-\(partition)")
            }
        }
    }

    /// A second idempotent producer on the same partitions gets its own producer id, and its
    /// sequences start at 0 again: Tansu takes both.
    @Test func aSecondIdempotentProducerStartsItsOwnSequences() async throws {
        let tansu = try await TansuBroker.start(topics: ["again": 2])
        defer { Task { await tansu.stop() } }
        for round in 0..<2 {
            let producer = try Support.producer(bootstrapServers: tansu.bootstrapServers, ["batch.size": "512"])
            let reports = try await Support.enqueueAll(producer, topic: "again", count: 500, suffix: "-\(round)")
            await producer.close()
            let failed = Self.failures(reports)
            #expect(failed.batches == 0, "round \(round), first error: \(failed.first)")
        }
        let stored = try await tansu.consume(topic: "again", expecting: 1000)
        #expect(stored.count == 1000)
        for partition in Int32(0)..<2 {
            let batches = try await tansu.storedBatches(topic: "again", partition: partition)
            let byProducer = Dictionary(grouping: batches, by: \.producerId)
            #expect(byProducer.count == 2, "p\(partition): producer ids \(byProducer.keys.sorted())")
            for (producerId, own) in byProducer {
                Self.expectContiguousSequences(own, "p\(partition) producer \(producerId)")
            }
        }
        #expect(
            Set(stored.map { String(decoding: $0.value ?? [], as: UTF8.self) })
                == Set((0..<2).flatMap { round in (0..<500).map { "record-\($0)-\(round)" } }))
    }
}
