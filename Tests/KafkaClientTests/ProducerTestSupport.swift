import Foundation
import KafkaClient
import KafkaTestCluster
import KafkaWire
import NIOCore
import Testing

/// Shared helpers for the producer's integration tests against librdkafka's mock cluster.
enum ProducerTestSupport {
    /// A producer for `cluster` with Java-named settings on top of short test timeouts.
    static func producer(
        _ cluster: KafkaTestCluster, _ settings: [String: String] = [:]
    ) throws -> KafkaProducer {
        try producer(bootstrapServers: cluster.bootstrapServers, settings)
    }

    /// A producer for any broker (Tansu's tests) with the same test settings.
    static func producer(bootstrapServers: String, _ settings: [String: String] = [:]) throws -> KafkaProducer {
        var properties = [
            "bootstrap.servers": bootstrapServers,
            "linger.ms": "5",
            "retry.backoff.ms": "20",
            "retry.backoff.max.ms": "200",
            "reconnect.backoff.ms": "20",
            "reconnect.backoff.max.ms": "200",
            "request.timeout.ms": "15000",
            "delivery.timeout.ms": "60000",
            "max.block.ms": "10000",
        ]
        for (key, value) in settings { properties[key] = value }
        return try KafkaProducer(configuration: KafkaProducerConfiguration(properties: properties))
    }

    static func value(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }

    /// Produce requests (API key 0) the cluster has seen since tracking started.
    static func produceRequestCount(_ cluster: KafkaTestCluster) async throws -> Int {
        try await cluster.requests().filter { $0.apiKey == 0 }.count
    }

    /// Records stored in `topic`, by partition, in offset order.
    static func stored(_ cluster: KafkaTestCluster, topic: String) async throws -> [Int32: [ConsumedRecord]] {
        Dictionary(grouping: try await cluster.consume(topic: topic, timeout: .seconds(20)), by: \.partition)
            .mapValues { $0.sorted { $0.offset < $1.offset } }
    }

    /// Sends `count` records `prefix-i` with `send` from concurrent tasks in submission order per
    /// task, returning each record's metadata by index.
    static func sendAll(
        _ producer: KafkaProducer, topic: String, count: Int, key: (Int) -> String? = { _ in nil }
    ) async throws -> [Int: KafkaRecordMetadata] {
        try await withThrowingTaskGroup(of: (Int, KafkaRecordMetadata).self) { group in
            for i in 0..<count {
                let record = KafkaProducerRecord(
                    topic: topic, key: key(i).map { ByteBuffer(string: $0) }, value: ByteBuffer(string: "record-\(i)"))
                group.addTask { (i, try await producer.send(record)) }
            }
            var result: [Int: KafkaRecordMetadata] = [:]
            for try await (i, metadata) in group { result[i] = metadata }
            return result
        }
    }

    /// Enqueues `count` records `record-i` in order (the bulk path) and collects their reports
    /// until all are accounted for.
    static func enqueueAll(
        _ producer: KafkaProducer, topic: String, count: Int, key: (Int) -> String? = { _ in nil },
        suffix: String = ""
    ) async throws -> [KafkaDeliveryReport] {
        let records = (0..<count).map { i in
            KafkaProducerRecord(
                topic: topic, key: key(i).map { ByteBuffer(string: $0) },
                value: ByteBuffer(string: "record-\(i)\(suffix)"))
        }
        let stream = producer.makeDeliveryReports()
        try await producer.enqueue(contentsOf: records, firstID: 0, reportingTo: stream)
        await producer.flush()
        return await collect(stream, count: count)
    }

    /// Reads reports until `count` records are accounted for (or the stream ends).
    static func collect(_ reports: KafkaDeliveryReports, count: Int) async -> [KafkaDeliveryReport] {
        var collected: [KafkaDeliveryReport] = []
        var seen = 0
        for await report in reports {
            collected.append(report)
            seen += report.recordIDs.count
            if seen >= count { break }
        }
        return collected
    }
}
