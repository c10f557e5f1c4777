import KafkaTestCluster
import KafkaWire
import NIOCore
import NIOPosix
import Testing

@testable import KafkaClient

/// `BrokerConnection` against librdkafka's mock cluster. Serialized: each test starts its own
/// cluster, and the machine is shared with other builds.
@Suite("BrokerConnection against the mock cluster", .serialized)
struct BrokerConnectionTests {
    static let topic = "conn"

    static func settings(requestTimeout: TimeAmount = .seconds(10)) -> BrokerConnection.Settings {
        BrokerConnection.Settings(
            clientId: "tributary-tests", requestTimeout: requestTimeout, connectTimeout: .seconds(5),
            maxInFlightRequests: 5)
    }

    static func connect(
        _ cluster: KafkaTestCluster, broker index: Int = 0, settings: BrokerConnection.Settings = settings()
    ) async throws -> BrokerConnection {
        let broker = cluster.brokers[index]
        return try await BrokerConnection.connect(
            to: KafkaBrokerAddress(host: broker.host, port: broker.port), nodeId: broker.id, settings: settings,
            on: MultiThreadedEventLoopGroup.singleton.next()
        ).get()
    }

    /// A cluster of one broker leading every partition of `topic`.
    static func cluster(partitions: Int = 1) async throws -> KafkaTestCluster {
        let cluster = try await KafkaTestCluster.start(brokers: 1, topics: [topic: partitions])
        for partition in 0..<Int32(partitions) {
            try await cluster.setPartitionLeader(topic: topic, partition: partition, broker: 1)
        }
        return cluster
    }

    /// A Produce request with one batch of `values` for partition 0.
    static func produce(_ values: [String], acks: Int16 = -1) throws -> ProduceRequest {
        var writer = RecordBatchWriter()
        for value in values {
            writer.append(timestamp: 1_764_201_600_000, key: nil, value: Array(value.utf8))
        }
        let batch = try writer.finish()
        return ProduceRequest(
            acks: acks, timeoutMs: 30_000,
            topicData: [.init(name: topic, partitionData: [.init(index: 0, records: batch)])])
    }

    static func producerError(_ body: () async throws -> Void) async -> KafkaProducerError? {
        do {
            try await body()
            Issue.record("expected a KafkaProducerError")
            return nil
        } catch let error as KafkaProducerError {
            return error
        } catch {
            Issue.record("expected a KafkaProducerError, got \(error)")
            return nil
        }
    }

    @Test func negotiatesApiVersionsThroughTheFallback() async throws {
        let cluster = try await Self.cluster()
        defer { Task { await cluster.stop() } }
        let connection = try await Self.connect(cluster)
        defer { _ = connection.close() }
        // v4 first; the mock knows only v0–v2 and answers UNSUPPORTED_VERSION in a body that is
        // malformed for every version (librdkafka-mock.md §4), so `readNegotiating` says "retry at
        // v0", which is accepted and lists every API.
        #expect(connection.apiVersionsAttempts == [4, 0])
        #expect(connection.version(for: .produce) == 10)
        #expect(connection.version(for: ProduceRequest.self) == 10)
        #expect(connection.version(for: .metadata) == 12 || connection.version(for: .metadata) == 13)
        #expect(connection.version(for: .saslHandshake) == nil)
        #expect(connection.nodeId == 1)
        #expect(connection.isActive)
    }

    @Test func negotiatesDownToACappedProduceVersion() async throws {
        let cluster = try await Self.cluster()
        defer { Task { await cluster.stop() } }
        try await cluster.setApiVersion(apiKey: KafkaApiKey.produce.rawValue, min: 3, max: 7)
        // Under a loaded test run the mock has once closed the connection during the ApiVersions
        // fallback (v4, then v0); what this test checks is the negotiated version, so a second
        // connection may answer it.
        var attempt = 0
        let connection: BrokerConnection
        while true {
            do {
                connection = try await Self.connect(cluster)
                break
            } catch let error as KafkaProducerError where error.code == .connectionFailed && attempt < 2 {
                attempt += 1
            }
        }
        defer { _ = connection.close() }
        #expect(connection.version(for: .produce) == 7)
    }

    @Test func metadataAndProduceRoundTrips() async throws {
        let cluster = try await Self.cluster()
        defer { Task { await cluster.stop() } }
        let connection = try await Self.connect(cluster)
        defer { _ = connection.close() }

        let metadataVersion = try #require(connection.version(for: .metadata))
        let metadata = try await connection.send(
            MetadataRequest(topicNames: [Self.topic], allowAutoTopicCreation: false), version: metadataVersion,
            expecting: MetadataResponse.self
        ).get()
        #expect(metadata.brokers.map(\.nodeId) == [1])
        #expect(metadata.topics.first?.name == Self.topic)
        #expect(metadata.topics.first?.partitions.first?.leaderId == 1)

        let produceVersion = try #require(connection.version(for: .produce))
        let response = try await connection.send(
            try Self.produce(["one", "two"]), version: produceVersion, expecting: ProduceResponse.self
        ).get()
        let partition = try #require(response.responses.first?.partitionResponses.first)
        #expect(partition.errorCode == 0)
        #expect(partition.baseOffset == 0)

        let stored = try await cluster.consume(topic: Self.topic)
        #expect(stored.map { $0.value.map { String(decoding: $0, as: UTF8.self) } } == ["one", "two"])
        let idle = try await connection.eventLoop.submit { connection.inFlightCount }.get()
        #expect(idle == 0)
    }

    @Test func pipelinedRequestsAreMatchedInOrder() async throws {
        let cluster = try await Self.cluster()
        defer { Task { await cluster.stop() } }
        let connection = try await Self.connect(cluster)
        defer { _ = connection.close() }
        let version = try #require(connection.version(for: .produce))
        let requests = try (0..<5).map { try Self.produce(["record \($0)"]) }
        try await cluster.setRTT(broker: 1, milliseconds: 300)

        // All five are written in one event-loop turn, before any response can arrive.
        let (futures, inFlight) = try await connection.eventLoop.submit {
            let futures = requests.map { connection.send($0, version: version, expecting: ProduceResponse.self) }
            return (futures, connection.inFlightCount)
        }.get()
        #expect(inFlight == 5)
        var offsets: [Int64] = []
        for future in futures {
            let response = try await future.get()
            offsets.append(response.responses.first?.partitionResponses.first?.baseOffset ?? -1)
        }
        #expect(offsets == [0, 1, 2, 3, 4])
        try await cluster.setRTT(broker: 1, milliseconds: 0)
        let stored = try await cluster.consume(topic: Self.topic)
        #expect(stored.map { $0.value.map { String(decoding: $0, as: UTF8.self) } } == (0..<5).map { "record \($0)" })
    }

    @Test func acksZeroEchoIsDropped() async throws {
        let cluster = try await Self.cluster()
        defer { Task { await cluster.stop() } }
        let connection = try await Self.connect(cluster)
        defer { _ = connection.close() }
        let produceVersion = try #require(connection.version(for: .produce))
        let metadataVersion = try #require(connection.version(for: .metadata))

        try await connection.sendWithoutResponse(
            try Self.produce(["fire and forget"], acks: 0), version: produceVersion
        )
        .get()
        // The mock answers the acks=0 Produce anyway; that answer comes first and must be dropped.
        let metadata = try await connection.send(
            MetadataRequest(topicNames: [Self.topic], allowAutoTopicCreation: false), version: metadataVersion,
            expecting: MetadataResponse.self
        ).get()
        #expect(metadata.topics.first?.name == Self.topic)
        let response = try await connection.send(
            try Self.produce(["acknowledged"]), version: produceVersion, expecting: ProduceResponse.self
        ).get()
        #expect(response.responses.first?.partitionResponses.first?.baseOffset == 1)
        #expect(connection.isActive)
        let stored = try await cluster.consume(topic: Self.topic)
        #expect(stored.count == 2)
    }

    @Test func requestTimeoutClosesTheConnection() async throws {
        let cluster = try await Self.cluster()
        defer { Task { await cluster.stop() } }
        let broker = cluster.brokers[0]
        let connection = try await Self.connect(cluster, settings: Self.settings(requestTimeout: .milliseconds(300)))
        let version = try #require(connection.version(for: .produce))
        try await cluster.setRTT(broker: 1, milliseconds: 2000)

        let first = connection.send(try Self.produce(["slow"]), version: version, expecting: ProduceResponse.self)
        let second = connection.send(try Self.produce(["slower"]), version: version, expecting: ProduceResponse.self)
        let timedOut = await Self.producerError { _ = try await first.get() }
        #expect(timedOut?.code == .requestTimeout)
        #expect(
            timedOut?.message == "Produce v\(version) to broker 1 (127.0.0.1:\(broker.port)) timed out after 300 ms")
        let other = await Self.producerError { _ = try await second.get() }
        #expect(other?.code == .connectionFailed)
        #expect(other?.message.contains("broker 1 (127.0.0.1:\(broker.port))") == true)
        try await connection.closeFuture.get()
        #expect(!connection.isActive)
        // Later requests fail at once.
        let late = await Self.producerError {
            _ = try await connection.send(try Self.produce(["late"]), version: version, expecting: ProduceResponse.self)
                .get()
        }
        #expect(late?.code == .connectionFailed)
    }

    @Test func connectToADownBrokerFails() async throws {
        let cluster = try await Self.cluster()
        defer { Task { await cluster.stop() } }
        let broker = cluster.brokers[0]
        try await cluster.setBrokerDown(1)
        let error = await Self.producerError { _ = try await Self.connect(cluster) }
        #expect(error?.code == .connectionFailed)
        #expect(error?.message.contains("broker 1 (127.0.0.1:\(broker.port))") == true)
    }

    @Test func connectToAPortNobodyListensOnFails() async throws {
        // Bind a port, close it, and connect to it: refused.
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(server.localAddress?.port)
        try await server.close()
        let error = await Self.producerError {
            _ = try await BrokerConnection.connect(
                to: KafkaBrokerAddress(host: "127.0.0.1", port: port), nodeId: 7, settings: Self.settings(),
                on: MultiThreadedEventLoopGroup.singleton.next()
            ).get()
        }
        #expect(error?.code == .connectionFailed)
        #expect(error?.message.contains("broker 7 (127.0.0.1:\(port))") == true)
    }

    /// A response frame above `maxFrameSize` is cut off by the frame decoder: a protocol error
    /// for the request waiting for it (here the second ApiVersions, whose v0 answer lists every
    /// API), and the connection closes.
    @Test func oversizedResponseFrameIsAProtocolError() async throws {
        let cluster = try await Self.cluster()
        defer { Task { await cluster.stop() } }
        var settings = Self.settings()
        settings.maxFrameSize = 64
        let error = await Self.producerError { _ = try await Self.connect(cluster, settings: settings) }
        #expect(error?.code == .protocolError)
        #expect(error?.message.contains("ApiVersions v0 from broker 1 (127.0.0.1:\(cluster.brokers[0].port))") == true)
    }

    @Test func droppedConnectionFailsInFlightRequests() async throws {
        let cluster = try await Self.cluster()
        defer { Task { await cluster.stop() } }
        let connection = try await Self.connect(cluster)
        let version = try #require(connection.version(for: .produce))
        try await cluster.pushBrokerRequestErrors(broker: 1, apiKey: KafkaApiKey.produce.rawValue, errors: [(-195, 0)])
        let error = await Self.producerError {
            _ = try await connection.send(try Self.produce(["lost"]), version: version, expecting: ProduceResponse.self)
                .get()
        }
        #expect(error?.code == .connectionFailed)
        #expect(error?.message.contains("Produce v\(version) to broker 1") == true)
        try await connection.closeFuture.get()
        #expect(!connection.isActive)
    }

    @Test func closeFailsInFlightRequests() async throws {
        let cluster = try await Self.cluster()
        defer { Task { await cluster.stop() } }
        let connection = try await Self.connect(cluster)
        let version = try #require(connection.version(for: .produce))
        try await cluster.setRTT(broker: 1, milliseconds: 2000)
        let pending = connection.send(try Self.produce(["pending"]), version: version, expecting: ProduceResponse.self)
        try await connection.close().get()
        let error = await Self.producerError { _ = try await pending.get() }
        #expect(error?.code == .connectionFailed)
        #expect(!connection.isActive)
    }
}
