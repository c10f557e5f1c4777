import KafkaClient
import KafkaTestCluster
import Logging
import NIOCore
import ServiceLifecycle
import Testing

@Suite("KafkaProducer as a Service")
struct KafkaProducerServiceTests {
    typealias Support = ProducerTestSupport

    /// Graceful shutdown of the service group flushes: records enqueued before it are all stored.
    @Test func gracefulShutdownFlushes() async throws {
        let cluster = try await KafkaTestCluster.start(brokers: 1, topics: ["svc": 2])
        defer { Task { await cluster.stop() } }
        let producer = try Support.producer(cluster, ["linger.ms": "2000"])
        let group = ServiceGroup(
            configuration: .init(services: [.init(service: producer)], logger: Logger(label: "test")))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let records = (0..<300).map { KafkaProducerRecord(topic: "svc", value: Support.value("record-\($0)")) }
            try await producer.enqueue(contentsOf: records, firstID: 0, reportingTo: producer.makeDeliveryReports())
            // linger.ms is 2 s: without the flush on shutdown nothing would have gone yet.
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        let stored = try await Support.stored(cluster, topic: "svc")
        #expect(stored.values.map(\.count).reduce(0, +) == 300)
        await #expect {
            try await producer.send(KafkaProducerRecord(topic: "svc", value: Support.value("late")))
        } throws: { ($0 as? KafkaProducerError)?.code == .producerClosed }
    }

    /// With one request in flight per connection, retries keep the send order of a partition.
    @Test func oneInFlightKeepsOrderThroughRetries() async throws {
        let cluster = try await KafkaTestCluster.start(brokers: 1, topics: ["order": 1])
        defer { Task { await cluster.stop() } }
        let producer = try Support.producer(
            cluster, ["max.in.flight.requests.per.connection": "1", "batch.size": "500", "linger.ms": "0"])
        _ = try await producer.send(KafkaProducerRecord(topic: "order", value: Support.value("first")))
        try await cluster.pushRequestErrors(apiKey: 0, errors: [6, 0, 7, 0, 0, 19, 6])
        let records = (0..<400).map { KafkaProducerRecord(topic: "order", value: Support.value("record-\($0)")) }
        try await producer.enqueue(contentsOf: records, firstID: 0, reportingTo: producer.makeDeliveryReports())
        await producer.close()
        let stored = try await Support.stored(cluster, topic: "order")
        let values = (stored[0] ?? []).dropFirst().map { String(decoding: $0.value ?? [], as: UTF8.self) }
        #expect(values == (0..<400).map { "record-\($0)" })
    }
}
