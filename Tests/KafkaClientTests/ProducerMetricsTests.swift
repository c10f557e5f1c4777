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
        let topic = dimensions + [("topic", "counted")]
        #expect(try metrics.expectCounter("tributary_producer_records_sent_total", topic).totalValue == 101)
        // No compression: the batches hold at least every value's bytes.
        let valueBytes = ("warm-up".utf8.count + (0..<100).reduce(0) { $0 + "record-\($1)".utf8.count })
        #expect(try metrics.expectCounter("tributary_producer_bytes_sent_total", topic).totalValue > valueBytes)
        #expect(try metrics.expectCounter("tributary_producer_batch_retries_total", dimensions).totalValue >= 2)
        #expect(try metrics.expectCounter("tributary_producer_batches_sent_total", dimensions).totalValue >= 3)
        let requests = try metrics.expectCounter("tributary_producer_produce_requests_total", dimensions).totalValue
        #expect(requests >= 4)
        // acks=all: every request was answered (the two errors too), and each answer timed.
        let latencies = try metrics.expectTimer("tributary_producer_request_latency_seconds", dimensions).values
        #expect(latencies.count == Int(requests))
        #expect(latencies.allSatisfy { $0 > 0 })
        let failed = try? metrics.expectCounter("tributary_producer_records_failed_total", topic).totalValue
        #expect((failed ?? 0) == 0)
    }

    /// Buffer use and connections, as `exportStatistics()` reports them.
    @Test func statisticsFollowTheBufferAndTheConnections() async throws {
        let cluster = try await KafkaTestCluster.start(brokers: 1, topics: ["held": 1])
        defer { Task { await cluster.stop() } }
        let metrics = TestMetrics()
        let producer = try KafkaProducer(
            configuration: KafkaProducerConfiguration(properties: [
                "bootstrap.servers": cluster.bootstrapServers, "client.id": "stats-test", "linger.ms": "60000",
                "batch.size": "10000", "buffer.memory": "1000000",
            ]), metricsFactory: metrics)
        #expect(producer.statistics.brokersReachable)
        try await producer.waitForMetadata(topic: "held", timeout: .seconds(10))
        // A long linger keeps the batch (and its batch.size reservation) in the buffer.
        let reports = producer.makeDeliveryReports()
        try await producer.enqueue(
            contentsOf: [KafkaProducerRecord(topic: "held", value: Support.value("waiting"))], firstID: 0,
            reportingTo: reports)
        let held = producer.exportStatistics()
        #expect(held.bufferMemoryUsed >= 10000)
        #expect(held.bufferMemory == 1_000_000)
        #expect(held.connectionsOpen >= 1)
        let dimensions = [("client_id", "stats-test")]
        #expect(
            try metrics.expectGauge("tributary_producer_buffer_memory_used_bytes", dimensions).lastValue
                == Double(held.bufferMemoryUsed))
        #expect(try metrics.expectGauge("tributary_producer_buffer_memory_bytes", dimensions).lastValue == 1_000_000)
        await producer.flush()
        #expect(producer.statistics.bufferMemoryUsed == 0)

        try await cluster.setBrokerDown(1)
        let deadline = ContinuousClock.now + .seconds(20)
        try await producer.enqueue(
            contentsOf: [KafkaProducerRecord(topic: "held", value: Support.value("later"))], firstID: 1,
            reportingTo: reports)
        // Asks for the send now; it completes once the broker is back.
        let flushing = Task { await producer.flush() }
        while producer.statistics.brokersReachable && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        let down = producer.statistics
        #expect(!down.brokersReachable)
        #expect(down.connectionsOpen == 0)
        #expect(down.connectionError != nil)
        try await cluster.setBrokerUp(1)
        await flushing.value
        #expect(producer.statistics.brokersReachable)
        await producer.close()
    }
}
