import Foundation
import KafkaTestCluster
import KafkaWire
import NIOCore
import Testing

@testable import KafkaClient

/// Several settings sets in one producer: per-topic acks, codec, linger, batch size,
/// partitioner and idempotence, over one connection per broker, one metadata cache, one event
/// loop and one `buffer.memory`.
@Suite("Per-topic settings in one producer")
struct TopicConfigurationTests {
    typealias Support = ProducerTestSupport

    /// zstd/acks=all (idempotent), lz4/acks=1 and none/acks=0 to three topics: each topic's
    /// stored batches carry its own codec and producer id, and the producer made one connection
    /// per broker (plus the bootstrap one) for all three.
    @Test func threeSettingsSetsShareOneConnectionPerBroker() async throws {
        let cluster = try await KafkaTestCluster.start(
            brokers: 3, topics: ["zstd-all": 3, "lz4-one": 3, "none-zero": 3])
        defer { Task { await cluster.stop() } }
        try await cluster.startRequestTracking()
        var properties = [
            "bootstrap.servers": cluster.bootstrapServers, "linger.ms": "5", "compression.type": "zstd",
            "acks": "all", "retry.backoff.ms": "20", "request.timeout.ms": "15000",
        ]
        properties["max.block.ms"] = "10000"
        var configuration = try KafkaProducerConfiguration(properties: properties)
        configuration.topicConfigurations["lz4-one"] = try KafkaTopicConfiguration(properties: [
            "acks": "1", "compression.type": "lz4",
        ])
        configuration.topicConfigurations["none-zero"] = KafkaTopicConfiguration(
            acks: KafkaAcks.none, compression: KafkaCompression.none)
        let producer = try KafkaProducer(configuration: configuration)
        let reports = producer.makeDeliveryReports()
        let count = 300
        for (index, topic) in ["zstd-all", "lz4-one", "none-zero"].enumerated() {
            let records = (0..<count).map {
                KafkaProducerRecord(
                    topic: topic, key: ByteBuffer(string: "k\($0)"), value: Support.value("\(topic)-\($0)"))
            }
            try await producer.enqueue(contentsOf: records, firstID: UInt64(index * count), reportingTo: reports)
        }
        await producer.flush()
        // Counted while the producer is open: TCP connections to the brokers (the mock runs in
        // another process, so every client-side socket to a broker port is this producer's).
        let connections = try Self.establishedConnections(toPorts: Set(cluster.brokers.map(\.port)))
        let nodes = try await producer.sender.connectedNodes().get()
        await producer.close()
        var offsetsByTopic: [String: [Int64]] = [:]
        for await report in reports {
            #expect(report.error == nil, "\(String(describing: report.error))")
            offsetsByTopic[report.topicPartition.topic, default: []].append(report.baseOffset)
        }
        let requests = try await cluster.requests()
        try await cluster.stopRequestTracking()

        // One connection per broker for all three topics (three producers would hold three
        // pools), and bootstrap connections (Java's negative node ids) until they idle out.
        #expect(nodes.filter { $0 >= 0 } == [1, 2, 3], "connected nodes \(nodes)")
        // The operating system's view, while the producer is open: every broker is connected,
        // and no broker port has more than its node connection and a bootstrap one (under load a
        // reconnect after a timeout can briefly add one, so this is a bound, not a count).
        #expect(connections.count == 3, "connections per broker port: \(connections)")
        #expect(connections.values.reduce(0, +) <= 3 + 3 + 1, "connections per broker port: \(connections)")
        #expect(requests.filter { $0.apiKey == 22 }.count == 1, "one producer id for the producer")

        // acks=0 has no answer: its records report offset −1; the others report real offsets.
        #expect(offsetsByTopic["none-zero"]?.allSatisfy { $0 == -1 } == true)
        #expect(offsetsByTopic["lz4-one"]?.allSatisfy { $0 >= 0 } == true)
        #expect(offsetsByTopic["zstd-all"]?.allSatisfy { $0 >= 0 } == true)

        for (topic, codec, idempotent) in [("zstd-all", Int8(4), true), ("lz4-one", 3, false), ("none-zero", 0, false)]
        {
            var stored = 0
            for partition in Int32(0)..<3 {
                let batches = try await cluster.storedBatches(topic: topic, partition: partition)
                for batch in batches {
                    #expect(batch.compression == codec, "\(topic): codec \(batch.compression)")
                    #expect((batch.producerId >= 0) == idempotent, "\(topic): producer id \(batch.producerId)")
                    stored += Int(batch.recordCount)
                }
            }
            #expect(stored == count, "\(topic): \(stored) records stored")
            let values = try await cluster.consume(topic: topic, timeout: .seconds(20))
                .map { String(decoding: $0.value ?? [], as: UTF8.self) }
            #expect(Set(values) == Set((0..<count).map { "\(topic)-\($0)" }))
        }
    }

    /// ESTABLISHED TCP connections (IPv4) per remote port, for the ports in `ports`, from
    /// /proc/net/tcp.
    static func establishedConnections(toPorts ports: Set<Int>) throws -> [Int: Int] {
        // Read to EOF: /proc files report size 0, and a size-based read can stop early.
        guard let handle = FileHandle(forReadingAtPath: "/proc/net/tcp") else { return [:] }
        defer { try? handle.close() }
        var data = Data()
        while let chunk = try handle.read(upToCount: 65_536), !chunk.isEmpty { data.append(chunk) }
        var counts: [Int: Int] = [:]
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n").dropFirst() {
            let fields = line.split(separator: " ")
            guard fields.count > 3, fields[3] == "01", let port = fields[2].split(separator: ":").last,
                let number = Int(port, radix: 16), ports.contains(number)
            else { continue }
            counts[number, default: 0] += 1
        }
        return counts
    }

    @Test func topicPropertiesAreParsedAndChecked() throws {
        let overrides = try KafkaTopicConfiguration(properties: [
            "compression.zstd.level": "7", "compression.type": "zstd", "linger.ms": "50", "batch.size": "65536",
            "partitioner": "consistent", "acks": "1", "enable.idempotence": "false",
        ])
        #expect(overrides.compression == KafkaCompression(codec: .zstd, level: 7))
        #expect(overrides.linger == .milliseconds(50))
        #expect(overrides.batchSize == 65536)
        #expect(overrides.partitioner == .consistent)
        #expect(overrides.acks == .leader)
        #expect(overrides.enableIdempotence == false)
        #expect(overrides.partitionerIgnoreKeys == nil)

        #expect {
            try KafkaTopicConfiguration(properties: ["buffer.memory": "1"])
        } throws: { ($0 as? KafkaProducerError)?.message.contains("cannot be set per topic") == true }
        #expect {
            try KafkaTopicConfiguration(properties: ["compression.gzip.level": "42", "compression.type": "gzip"])
        } throws: { ($0 as? KafkaProducerError)?.code == .invalidConfiguration }

        var configuration = KafkaProducerConfiguration(bootstrapServers: [.init(host: "127.0.0.1", port: 9092)])
        configuration.topicConfigurations["audit"] = KafkaTopicConfiguration(acks: .leader, enableIdempotence: true)
        #expect {
            try configuration.validate()
        } throws: { error in
            let message = (error as? KafkaProducerError)?.message ?? ""
            return message.contains("topic audit") && message.contains("requires acks=all")
        }
        configuration.topicConfigurations["audit"] = KafkaTopicConfiguration(batchSize: 64 << 20)
        #expect {
            try configuration.validate()
        } throws: { ($0 as? KafkaProducerError)?.message.contains("topic audit: batch.size") == true }
    }
}
