import Foundation
import KafkaClient
import KafkaWire
import NIOCore
import Testing

/// A task waiting to append (for metadata, for `buffer.memory`) returns promptly when it is
/// cancelled or the producer closes, and `close()` returns even when a broker never answers.
@Suite("KafkaProducer cancellation and close")
struct ProducerCancellationTests {
    enum Produce { case answer, silence }

    /// A broker whose topic "t" (2 partitions) is known, or — `topicKnown` false — reported as
    /// UNKNOWN_TOPIC_OR_PARTITION forever (a retriable error: the producer keeps waiting).
    static func broker(topicKnown: Bool, produce: Produce) async throws -> FakeKafkaBroker {
        try await FakeKafkaBroker.start(versions: HostileBrokerTests.versions) { request in
            let port = request.brokerPort
            switch request.apiKey {
            case KafkaApiKey.metadata.rawValue:
                return .body(
                    FakeKafkaBroker.metadataV1(
                        brokers: [.init(nodeId: 1, host: "127.0.0.1", port: Int32(port))],
                        topics: [
                            topicKnown
                                ? .init(
                                    name: "t", partitions: [.init(index: 0, leader: 1), .init(index: 1, leader: 1)])
                                : .init(name: "t", errorCode: 3, partitions: [])
                        ]))
            case KafkaApiKey.produce.rawValue:
                guard produce == .answer, let data = FakeKafkaBroker.parseProduceV3(request) else { return .silence }
                return .body(FakeKafkaBroker.produceV3(data) { _, _ in 0 })
            default:
                return .silence
            }
        }
    }

    static func producer(_ broker: FakeKafkaBroker, _ settings: [String: String] = [:]) throws -> KafkaProducer {
        var properties = [
            "bootstrap.servers": broker.bootstrapServers, "enable.idempotence": "false", "acks": "1",
            "linger.ms": "0", "retry.backoff.ms": "20", "reconnect.backoff.ms": "20",
            "max.block.ms": "60000", "request.timeout.ms": "60000", "delivery.timeout.ms": "120000",
        ]
        for (key, value) in settings { properties[key] = value }
        return try KafkaProducer(configuration: KafkaProducerConfiguration(properties: properties))
    }

    static func record(partition: Int32? = nil) -> KafkaProducerRecord {
        KafkaProducerRecord(topic: "t", partition: partition, value: ByteBuffer(string: "x"))
    }

    /// Waits (polling) until `condition` holds, up to 10 s.
    /// Waits for `condition`; a test whose precondition never came fails here, not later with
    /// a misleading expectation (a loaded machine can stall a test's start for many seconds).
    static func eventually(
        _ condition: () -> Bool, sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while !condition() && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        #expect(condition(), "the condition did not come within 60 s", sourceLocation: sourceLocation)
    }

    @Test func cancellingASendWaitingForMetadataEndsItAtOnce() async throws {
        let broker = try await Self.broker(topicKnown: false, produce: .answer)
        let producer = try Self.producer(broker)
        let task = Task { try await producer.send(Self.record()) }
        try await Self.eventually { broker.requestCount(apiKey: KafkaApiKey.metadata.rawValue) >= 2 }
        let cancelled = ContinuousClock.now
        task.cancel()
        let result = await task.result
        #expect(ContinuousClock.now - cancelled < .seconds(45), "ended before max.block.ms (60 s)")
        #expect(Self.code(result) == .cancelled)
        await producer.close()
        await broker.stop()
    }

    @Test func closingEndsAnEnqueueWaitingForMetadata() async throws {
        let broker = try await Self.broker(topicKnown: false, produce: .answer)
        let producer = try Self.producer(broker)
        let task = Task {
            try await producer.enqueue(
                contentsOf: [Self.record(), Self.record()], firstID: 0, reportingTo: producer.makeDeliveryReports())
        }
        try await Self.eventually { broker.requestCount(apiKey: KafkaApiKey.metadata.rawValue) >= 2 }
        let closing = ContinuousClock.now
        await producer.close()
        let result = await task.result
        #expect(ContinuousClock.now - closing < .seconds(45), "ended before max.block.ms (60 s)")
        #expect(Self.code(result) == .producerClosed)
        await broker.stop()
    }

    @Test func aSendAfterCloseFailsAtOnce() async throws {
        let broker = try await Self.broker(topicKnown: false, produce: .answer)
        let producer = try Self.producer(broker)
        await producer.close()
        let started = ContinuousClock.now
        let result = await Result(catching: { try await producer.send(Self.record()) })
        #expect(ContinuousClock.now - started < .seconds(45), "ended before max.block.ms (60 s)")
        #expect(Self.code(result) == .producerClosed)
        await broker.stop()
    }

    /// One batch takes all of `buffer.memory` and is never answered: the next record waits for
    /// memory. Cancelling that wait ends it at once; close with a short timeout fails the
    /// unanswered record and returns.
    @Test func cancellingAWaitForBufferMemoryAndClosingWithABrokerThatNeverAnswers() async throws {
        let broker = try await Self.broker(topicKnown: true, produce: .silence)
        let producer = try Self.producer(broker, ["batch.size": "32768", "buffer.memory": "32768"])
        let first = Task { try await producer.send(Self.record(partition: 0)) }
        try await Self.eventually { broker.requestCount(apiKey: KafkaApiKey.produce.rawValue) >= 1 }
        let waiting = Task {
            try await producer.enqueue(
                contentsOf: [Self.record(partition: 1), Self.record(partition: 1)], firstID: 0,
                reportingTo: producer.makeDeliveryReports())
        }
        try await Task.sleep(for: .milliseconds(200))
        let cancelled = ContinuousClock.now
        waiting.cancel()
        let waitResult = await waiting.result
        #expect(ContinuousClock.now - cancelled < .seconds(45), "ended before max.block.ms (60 s)")
        #expect(Self.code(waitResult) == .cancelled)
        if case .failure(let error as KafkaProducerError) = waitResult {
            #expect(error.acceptedRecordCount == 0)
        }

        let closing = ContinuousClock.now
        await producer.close(timeout: .milliseconds(300))
        #expect(ContinuousClock.now - closing < .seconds(90), "ended before delivery.timeout.ms (120 s)")
        let firstResult = await first.result
        #expect(Self.code(firstResult) == .producerClosed, "\(firstResult)")
        await broker.stop()
    }

    static func code<T>(_ result: Result<T, any Error>) -> KafkaProducerError.Code? {
        guard case .failure(let error) = result else { return nil }
        return (error as? KafkaProducerError)?.code
    }
}
