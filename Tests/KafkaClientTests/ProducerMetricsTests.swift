import KafkaClient
import KafkaTestCluster
import MetricsTestKit
import NIOCore
import Testing

@Suite("Producer metrics")
struct ProducerMetricsTests {
    typealias Support = ProducerTestSupport

    /// Counters follow what happened: records and batches acknowledged, retries after injected
    /// errors, failures, Produce requests.
    @Test func countersFollowDeliveries() async throws {
        let cluster = try await KafkaTestCluster.start(brokers: 1, topics: ["counted": 2])
        defer { Task { await cluster.stop() } }
        let metrics = TestMetrics()
        var properties = [
            "bootstrap.servers": cluster.bootstrapServers, "client.id": "metrics-test", "retry.backoff.ms": "10",
            "max.request.size": "2000", "batch.size": "500",
        ]
        properties["linger.ms"] = "20"
        let producer = try KafkaProducer(
            configuration: KafkaProducerConfiguration(properties: properties), metricsFactory: metrics)
        _ = try await producer.send(KafkaProducerRecord(topic: "counted", value: Support.value("warm-up")))
        try await cluster.pushRequestErrors(apiKey: 0, errors: [6, 6])
        let records = (0..<100).map { KafkaProducerRecord(topic: "counted", value: Support.value("record-\($0)")) }
        try await producer.enqueue(contentsOf: records, firstID: 0, reportingTo: producer.makeDeliveryReports())
        await producer.close()

        let dimensions = [("client_id", "metrics-test")]
        #expect(try metrics.expectCounter("tributary_producer_records_sent_total", dimensions).totalValue == 101)
        #expect(try metrics.expectCounter("tributary_producer_batch_retries_total", dimensions).totalValue >= 2)
        #expect(try metrics.expectCounter("tributary_producer_batches_sent_total", dimensions).totalValue >= 3)
        #expect(try metrics.expectCounter("tributary_producer_produce_requests_total", dimensions).totalValue >= 4)
        let failed = try? metrics.expectCounter("tributary_producer_records_failed_total", dimensions).totalValue
        #expect((failed ?? 0) == 0)
    }
}
