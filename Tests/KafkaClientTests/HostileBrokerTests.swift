import Foundation
import KafkaClient
import KafkaWire
import NIOConcurrencyHelpers
import NIOCore
import Testing

/// A broker (or a proxy, or a corrupted stream) that answers what it should not. Each case is
/// served by `FakeKafkaBroker` for the first Metadata answers, then sound ones follow: the
/// producer must neither trap nor hang nor allocate what the answer announces, must say what
/// was wrong, and must deliver once the answers are sound (the normal retry path). A crash here
/// takes the whole test process down, which is the point.
@Suite("KafkaProducer against hostile brokers")
struct HostileBrokerTests {
    /// What the broker offers: Metadata v1 only (a broker that cannot say "no auto-creation"),
    /// Produce v3, no InitProducerId.
    static let versions: [Int16: ClosedRange<Int16>] = [
        KafkaApiKey.metadata.rawValue: 1...1, KafkaApiKey.produce.rawValue: 3...3,
    ]

    enum Bad: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case partitionIndexMax, partitionIndexNegative, noPartitions, duplicatePartition, partitionGap
        case leaderNotInBrokerList, brokerWithBadPort, brokerArrayBeyondFrame, topicArrayBeyondFrame
        case frameTooLarge, negativeFrameSize, truncatedFrame, truncatedBody, emptyFrame
        var testDescription: String { rawValue }
    }

    static func good(port: Int) -> ByteBuffer {
        FakeKafkaBroker.metadataV1(
            brokers: [.init(nodeId: 1, host: "127.0.0.1", port: Int32(port))],
            topics: [.init(name: "t", partitions: [.init(index: 0, leader: 1), .init(index: 1, leader: 1)])])
    }

    static func answer(_ bad: Bad, port: Int, correlationId: Int32) -> FakeKafkaBroker.Response {
        let broker = FakeKafkaBroker.MetadataBroker(nodeId: 1, host: "127.0.0.1", port: Int32(port))
        func topic(_ partitions: [FakeKafkaBroker.MetadataPartition]) -> FakeKafkaBroker.Response {
            .body(FakeKafkaBroker.metadataV1(brokers: [broker], topics: [.init(name: "t", partitions: partitions)]))
        }
        switch bad {
        case .partitionIndexMax: return topic([.init(index: .max, leader: 1)])
        case .partitionIndexNegative: return topic([.init(index: -1, leader: 1), .init(index: 0, leader: 1)])
        case .noPartitions: return topic([])
        case .duplicatePartition: return topic([.init(index: 0, leader: 1), .init(index: 0, leader: 1)])
        case .partitionGap: return topic([.init(index: 0, leader: 1), .init(index: 5, leader: 1)])
        case .leaderNotInBrokerList: return topic([.init(index: 0, leader: 7), .init(index: 1, leader: 7)])
        case .brokerWithBadPort:
            return .body(
                FakeKafkaBroker.metadataV1(
                    brokers: [.init(nodeId: 1, host: "127.0.0.1", port: -5)],
                    topics: [.init(name: "t", partitions: [.init(index: 0, leader: 1), .init(index: 1, leader: 1)])]))
        case .brokerArrayBeyondFrame:
            var body = ByteBuffer()
            body.writeInteger(Int32.max)  // brokers: 2^31−1 entries announced, none present
            body.writeInteger(Int32(1))
            return .body(body)
        case .topicArrayBeyondFrame:
            var body = ByteBuffer()
            body.writeInteger(Int32(0))  // no brokers
            body.writeInteger(Int32(-1))  // controller
            body.writeInteger(Int32(1_000_000_000))  // topics
            body.writeInteger(Int16(0))
            return .body(body)
        case .frameTooLarge:
            var raw = ByteBuffer()
            raw.writeInteger(Int32.max)  // announces a 2 GiB frame
            raw.writeInteger(correlationId)
            return .raw(raw)
        case .negativeFrameSize:
            var raw = ByteBuffer()
            raw.writeInteger(Int32(-8))
            raw.writeInteger(correlationId)
            return .raw(raw)
        case .truncatedFrame:
            var raw = ByteBuffer()
            raw.writeInteger(Int32(100))
            raw.writeInteger(correlationId)
            raw.writeInteger(Int32(0))
            return .rawThenClose(raw)
        case .truncatedBody:
            var body = good(port: port)
            body.moveWriterIndex(to: body.writerIndex - 9)  // the frame is whole, the body is not
            return .body(body)
        case .emptyFrame:
            var raw = ByteBuffer()
            raw.writeInteger(Int32(0))
            return .raw(raw)
        }
    }

    /// A broker whose first `badAnswers` Metadata answers are `bad`, and which stores every
    /// produced batch at increasing offsets.
    static func broker(_ bad: Bad, badAnswers: Int) async throws -> FakeKafkaBroker {
        let offsets = NIOLockedValueBox<[String: Int64]>([:])
        return try await FakeKafkaBroker.start(versions: versions) { request in
            let port = request.brokerPort
            switch request.apiKey {
            case KafkaApiKey.metadata.rawValue:
                return request.ordinal < badAnswers
                    ? answer(bad, port: port, correlationId: request.correlationId) : .body(good(port: port))
            case KafkaApiKey.produce.rawValue:
                guard let data = FakeKafkaBroker.parseProduceV3(request) else { return .rawThenClose(ByteBuffer()) }
                return .body(
                    FakeKafkaBroker.produceV3(data) { topic, partition in
                        let count = data.partitions.first { $0.topic == topic && $0.partition == partition }!.records
                        return offsets.withLockedValue { offsets in
                            let base = offsets["\(topic)-\(partition)", default: 0]
                            offsets["\(topic)-\(partition)"] = base + Int64(count)
                            return base
                        }
                    })
            default:
                return .rawThenClose(ByteBuffer())
            }
        }
    }

    static func producer(_ broker: FakeKafkaBroker, maxBlockMs: Int = 10_000) throws -> KafkaProducer {
        try KafkaProducer(
            configuration: KafkaProducerConfiguration(properties: [
                "bootstrap.servers": broker.bootstrapServers, "enable.idempotence": "false", "acks": "1",
                "linger.ms": "0", "retry.backoff.ms": "10", "retry.backoff.max.ms": "50",
                "reconnect.backoff.ms": "10", "reconnect.backoff.max.ms": "50",
                "max.block.ms": "\(maxBlockMs)", "request.timeout.ms": "3000", "delivery.timeout.ms": "20000",
            ]))
    }

    /// Two bad answers, then sound ones: every record is delivered, after more Metadata requests.
    @Test(arguments: Bad.allCases)
    func badMetadataIsRetriedUntilSound(_ bad: Bad) async throws {
        let broker = try await Self.broker(bad, badAnswers: 2)
        let producer = try Self.producer(broker)
        var offsets: [Int64] = []
        for i in 0..<3 {
            let metadata = try await producer.send(
                KafkaProducerRecord(topic: "t", partition: 1, value: ByteBuffer(string: "r\(i)")))
            #expect(metadata.partition == 1)
            offsets.append(metadata.offset)
        }
        await producer.close()
        await broker.stop()
        #expect(offsets == [0, 1, 2])
        #expect(broker.requestCount(apiKey: KafkaApiKey.metadata.rawValue) >= 3, "the bad answers were not used")
    }

    /// Bad answers forever: the send fails at max.block.ms and the error says what was wrong.
    @Test(arguments: [
        (Bad.partitionIndexMax, "partition index 2147483647 is outside 0..<1"),
        (.partitionIndexNegative, "partition index -1 is outside 0..<2"),
        (.noPartitions, "lists no partitions"),
        (.duplicatePartition, "partition 0 is listed twice"),
        (.brokerArrayBeyondFrame, "could not be read"),
        (.frameTooLarge, "2147483647"),
    ])
    func badMetadataForeverFailsNamingTheProblem(_ bad: Bad, _ expected: String) async throws {
        let broker = try await Self.broker(bad, badAnswers: .max)
        let producer = try Self.producer(broker, maxBlockMs: 1500)
        let started = ContinuousClock.now
        await #expect {
            try await producer.send(KafkaProducerRecord(topic: "t", value: ByteBuffer(string: "x")))
        } throws: { error in
            let error = error as? KafkaProducerError
            #expect(error?.code == .metadataTimeout)
            #expect(error?.message.contains(expected) == true, "\(String(describing: error))")
            return true
        }
        // max.block.ms is 1.5 s; the bound only catches a send that never gives up.
        #expect(ContinuousClock.now - started < .seconds(60))
        await producer.close()
        await broker.stop()
    }

    /// A Produce answer that cannot be read: the connection closes, the batch is retried, and
    /// the record is stored once.
    @Test func truncatedProduceAnswerIsRetried() async throws {
        let broker = try await FakeKafkaBroker.start(versions: Self.versions) { request in
            if request.apiKey == KafkaApiKey.metadata.rawValue { return .body(Self.good(port: request.brokerPort)) }
            let data = FakeKafkaBroker.parseProduceV3(request)!
            var body = FakeKafkaBroker.produceV3(data) { _, _ in 41 }
            if request.ordinal == 0 { body.moveWriterIndex(to: body.writerIndex - 10) }
            return .body(body)
        }
        let producer = try Self.producer(broker)
        let metadata = try await producer.send(
            KafkaProducerRecord(topic: "t", partition: 0, value: ByteBuffer(string: "x")))
        #expect(metadata.offset == 41)
        #expect(broker.requestCount(apiKey: KafkaApiKey.produce.rawValue) == 2)
        await producer.close()
        await broker.stop()
    }

    /// A request the client cannot encode (a topic name beyond Kafka's 32767-byte string limit)
    /// fails at once with `.encodingFailed`, not at max.block.ms as a metadata timeout; other
    /// topics keep working.
    @Test func unencodableMetadataRequestFailsAtOnce() async throws {
        let broker = try await Self.broker(.partitionIndexMax, badAnswers: 0)
        // max.block.ms far beyond the bound below, so a slow machine cannot pass a metadata
        // timeout off as "at once".
        let producer = try Self.producer(broker, maxBlockMs: 180_000)
        let started = ContinuousClock.now
        await #expect {
            try await producer.send(
                KafkaProducerRecord(topic: String(repeating: "x", count: 40_000), value: ByteBuffer(string: "x")))
        } throws: { error in
            (error as? KafkaProducerError)?.code == .encodingFailed
        }
        #expect(ContinuousClock.now - started < .seconds(90))
        let metadata = try await producer.send(
            KafkaProducerRecord(topic: "t", partition: 0, value: ByteBuffer(string: "y")))
        #expect(metadata.offset == 0)
        await producer.close()
        await broker.stop()
    }
}
