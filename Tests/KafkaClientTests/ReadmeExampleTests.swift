import KafkaClient
import KafkaTestCluster
import NIOCore
import Testing

/// README.md's library example, as written there, against the test cluster (only the broker
/// address differs). If this test needs changing, the README needs the same change.
@Suite("README example")
struct ReadmeExampleTests {
    @Test func theLibraryExampleRuns() async throws {
        let cluster = try await KafkaTestCluster.start(brokers: 1, topics: ["logs": 3])
        defer { Task { await cluster.stop() } }
        let broker = cluster.brokers[0]

        var configuration = KafkaProducerConfiguration(bootstrapServers: [
            KafkaBrokerAddress(host: broker.host, port: broker.port)
        ])
        configuration.compression = .lz4
        let producer = try KafkaProducer(configuration: configuration)

        let metadata = try await producer.send(
            KafkaProducerRecord(
                topic: "logs", key: ByteBuffer(string: "user-17"), value: ByteBuffer(string: "GET /cart 200")))
        print(metadata.partition, metadata.offset)

        let lines = ["GET / 200", "GET /cart 200", "POST /checkout 201"].map { ByteBuffer(string: $0) }
        // Each caller owns its reports; records are named by ids the caller chose (here 0, 1, 2).
        let reports = producer.makeDeliveryReports(capacity: 100_000)
        try await producer.enqueue(
            contentsOf: lines.map { KafkaProducerRecord(topic: "logs", value: $0) }, firstID: 0, reportingTo: reports)
        let delivered = Task {
            var delivered = 0
            for await report in reports {
                print(report.topicPartition, report.baseOffset, report.recordIDs, report.error.map { "\($0)" } ?? "ok")
                if report.error == nil { delivered += report.recordIDs.count }
            }
            return delivered
        }

        await producer.close()
        #expect(await delivered.value == 3)
        let stored = try await cluster.consume(topic: "logs")
        #expect(stored.count == 4)
        #expect(stored.contains { $0.key == Array("user-17".utf8) && $0.partition == metadata.partition })
    }
}
