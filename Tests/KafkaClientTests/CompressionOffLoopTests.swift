import Foundation
import KafkaTestCluster
import KafkaWire
import NIOCore
import Testing

@testable import KafkaClient

/// Compression runs on the `BatchEncoder`'s thread, not on the event loop that reads every
/// connection's responses and fires its timers: a gzip-9 topic does not hold up another topic's
/// acknowledgements. The assertions are about where compression ran (the encoder notes whether
/// it found itself on an event loop, and the on-loop mode shows the note can tell); the latency
/// figures are printed, never asserted (`make bench-compression` is the full-size run,
/// `TRIBUTARY_FIGURES=1`).
@Suite("Compression off the I/O loop")
struct CompressionOffLoopTests {
    typealias Support = ProducerTestSupport

    static var isFigureRun: Bool { ProcessInfo.processInfo.environment["TRIBUTARY_FIGURES"] == "1" }

    /// Text that compresses, but not for free: log-like lines with varying numbers.
    static func heavyValue(_ i: Int) -> ByteBuffer {
        var text = ""
        var x = UInt64(i) &* 0x9E37_79B9_7F4A_7C15
        while text.utf8.count < 2000 {
            x = x &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            text += "GET /api/v1/items/\(x >> 40) 200 \(x & 0xFFFF)us user=\(x >> 52) "
        }
        return ByteBuffer(string: text)
    }

    struct Run {
        var latencies: [Duration]
        var encodedBatches: Int
        var encodedOnEventLoop: Int
        var heavyDelivered: Int

        func percentile(_ p: Double) -> Duration {
            let sorted = latencies.sorted()
            return sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
        }
    }

    /// A gzip-9 topic under backlog beside an lz4 topic whose records are sent one at a time;
    /// returns the lz4 acknowledgement latencies.
    static func run(onLoop: Bool, heavyRecords: Int, lightRecords: Int) async throws -> Run {
        // The light topic's leader is another broker: its requests go on another connection, so
        // only the shared event loop links it to the heavy topic.
        let cluster = try await KafkaTestCluster.start(brokers: 2, topics: ["heavy": 4, "light": 1])
        defer { Task { await cluster.stop() } }
        for partition in Int32(0)..<4 {
            try await cluster.setPartitionLeader(topic: "heavy", partition: partition, broker: 1)
        }
        try await cluster.setPartitionLeader(topic: "light", partition: 0, broker: 2)
        var configuration = try KafkaProducerConfiguration(properties: [
            "bootstrap.servers": cluster.bootstrapServers, "compression.type": "gzip", "compression.gzip.level": "9",
            "batch.size": "262144", "linger.ms": "5", "max.request.size": "1048576", "request.timeout.ms": "30000",
            "delivery.timeout.ms": "120000",
        ])
        configuration.topicConfigurations["light"] = KafkaTopicConfiguration(
            compression: KafkaCompression(codec: .lz4), linger: .zero)
        let producer = try KafkaProducer(configuration: configuration)
        producer.sender.encoder.compressesOnEventLoop.store(onLoop, ordering: .relaxed)
        _ = try await producer.send(KafkaProducerRecord(topic: "light", value: ByteBuffer(string: "warm-up")))
        _ = try await producer.send(KafkaProducerRecord(topic: "heavy", value: ByteBuffer(string: "warm-up")))

        let reports = producer.makeDeliveryReports(capacity: heavyRecords + 1)
        let heavy = Task {
            var next = 0
            while next < heavyRecords {
                let chunk = min(200, heavyRecords - next)
                try await producer.enqueue(
                    contentsOf: (next..<(next + chunk)).map {
                        KafkaProducerRecord(topic: "heavy", value: heavyValue($0))
                    },
                    firstID: UInt64(next), reportingTo: reports)
                next += chunk
            }
        }
        var latencies: [Duration] = []
        for i in 0..<lightRecords {
            let started = ContinuousClock.now
            _ = try await producer.send(KafkaProducerRecord(topic: "light", value: ByteBuffer(string: "light-\(i)")))
            latencies.append(ContinuousClock.now - started)
            try await Task.sleep(for: .milliseconds(2))
        }
        try await heavy.value
        await producer.close()
        var delivered = 0
        for await report in reports where report.error == nil { delivered += report.recordIDs.count }
        return Run(
            latencies: latencies, encodedBatches: producer.sender.encoder.encodedBatches.load(ordering: .relaxed),
            encodedOnEventLoop: producer.sender.encoder.encodedOnEventLoop.load(ordering: .relaxed),
            heavyDelivered: delivered)
    }

    @Test func compressionRunsOffTheEventLoopAndEverythingIsDelivered() async throws {
        let heavyRecords = Self.isFigureRun ? 40_000 : 4_000
        let lightRecords = Self.isFigureRun ? 400 : 40
        let offLoop = try await Self.run(onLoop: false, heavyRecords: heavyRecords, lightRecords: lightRecords)
        #expect(offLoop.heavyDelivered == heavyRecords)
        #expect(offLoop.encodedBatches > 0)
        #expect(offLoop.encodedOnEventLoop == 0, "\(offLoop.encodedOnEventLoop) batches compressed on the event loop")

        let onLoop = try await Self.run(onLoop: true, heavyRecords: heavyRecords, lightRecords: lightRecords)
        #expect(onLoop.heavyDelivered == heavyRecords)
        // The check above can fail: compressing on the loop is seen as such.
        #expect(onLoop.encodedOnEventLoop == onLoop.encodedBatches)

        func ms(_ d: Duration) -> String {
            String(format: "%.2f", Double(d.components.attoseconds) / 1e15 + Double(d.components.seconds) * 1000)
        }
        print(
            "figure: lz4 send latency beside a gzip-9 backlog (\(heavyRecords) × 2 KB, \(lightRecords) sends): "
                + "off the loop p50 \(ms(offLoop.percentile(0.5))) ms, p99 \(ms(offLoop.percentile(0.99))) ms, "
                + "max \(ms(offLoop.latencies.max()!)) ms; on the loop p50 \(ms(onLoop.percentile(0.5))) ms, "
                + "p99 \(ms(onLoop.percentile(0.99))) ms, max \(ms(onLoop.latencies.max()!)) ms")
    }
}
