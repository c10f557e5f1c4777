import Foundation
import KafkaTestCluster
import KafkaWire
import NIOCore
import Testing

/// End to end over a plain socket: ApiVersions, Metadata and Produce built with KafkaWire, sent to
/// librdkafka's mock cluster, and the stored records read back by librdkafka's consumer
/// (`check.crcs=true`) — once per codec, once per Produce version and once per Metadata version
/// the mock can be capped to.
@Suite("Wire smoke test against the mock cluster")
struct WireSmokeTests {
    /// What one partition receives: keys, values and headers of every shape, timestamps that go
    /// backwards and forwards.
    static func records(partition: Int32) -> [(
        timestamp: Int64, key: [UInt8]?, value: [UInt8]?, headers: [KafkaRecordHeader]
    )] {
        let base: Int64 = 1_764_201_600_000
        return (0..<40).map { i in
            let key: [UInt8]? = i % 5 == 0 ? nil : Array("key-\(partition)-\(i % 7)".utf8)
            let value: [UInt8]? =
                switch i % 9 {
                case 0: nil
                case 1: []
                case 2: (0..<256).map { UInt8($0) }
                default:
                    Array("p\(partition) line \(i): GET /items/\(i * 31) 200 \(String(repeating: "x", count: i))".utf8)
                }
            let headers: [KafkaRecordHeader] =
                i % 4 == 0
                ? [
                    KafkaRecordHeader(key: "trace-id", value: Array("t\(i)".utf8)),
                    KafkaRecordHeader(key: "empty", value: nil),
                ]
                : []
            return (base + Int64((i * 37) % 11) - 5, key, value, headers)
        }
    }

    struct Outcome {
        var produceVersion: Int16
        var metadataVersion: Int16
    }

    /// The whole exchange. Caps, if given, are applied to the cluster before connecting.
    @discardableResult
    static func produceAndVerify(
        compression: KafkaCompression, produceCap: Int16? = nil, metadataCap: Int16? = nil
    ) async throws -> Outcome {
        let cluster = try await KafkaTestCluster.start(brokers: 2)
        defer { Task { await cluster.stop() } }
        let topic = "smoke-\(compression.codec)"
        try await cluster.createTopic(topic, partitions: 2)
        try await cluster.setPartitionLeader(topic: topic, partition: 0, broker: 1)
        try await cluster.setPartitionLeader(topic: topic, partition: 1, broker: 2)
        if let produceCap {
            try await cluster.setApiVersion(apiKey: KafkaApiKey.produce.rawValue, min: produceCap, max: produceCap)
        }
        if let metadataCap {
            try await cluster.setApiVersion(apiKey: KafkaApiKey.metadata.rawValue, min: metadataCap, max: metadataCap)
        }

        // ApiVersions: our newest version first; the mock only knows v0–v2, so this exercises the
        // UNSUPPORTED_VERSION fallback.
        let bootstrap = cluster.brokers[0]
        let socket = try PlainKafkaSocket(host: bootstrap.host, port: bootstrap.port)
        var outcome = try socket.apiVersions(version: ApiVersionsRequest.supportedVersions.upperBound)
        var attempts = 0
        while case .retry(let retryVersion, _) = outcome {
            attempts += 1
            #expect(attempts <= 2, "ApiVersions negotiation did not settle")
            outcome = try socket.apiVersions(version: retryVersion)
        }
        guard case .accepted(let versions) = outcome else { throw SocketError("no ApiVersions answer") }
        #expect(versions.errorCode == 0)
        let produceVersion = try #require(versions.highestCommonVersion(for: ProduceRequest.self))
        let metadataVersion = try #require(versions.highestCommonVersion(for: MetadataRequest.self))
        if let produceCap { #expect(produceVersion == produceCap) }
        if let metadataCap { #expect(metadataVersion == metadataCap) }

        // Metadata: where do the partitions live?
        let metadata = try socket.roundTrip(
            MetadataRequest(topicNames: [topic], allowAutoTopicCreation: metadataVersion >= 4 ? false : true),
            version: metadataVersion, expecting: MetadataResponse.self)
        #expect(metadata.brokers.count == 2)
        let topicMetadata = try #require(metadata.topics.first { $0.name == topic })
        #expect(topicMetadata.errorCode == 0)
        #expect(topicMetadata.partitions.count == 2)
        var leaders: [Int32: Int32] = [:]
        for partition in topicMetadata.partitions { leaders[partition.partitionIndex] = partition.leaderId }
        #expect(leaders == [0: 1, 1: 2])

        // Produce: one batch per partition, each to its leader.
        for partition in [Int32(0), 1] {
            var writer = RecordBatchWriter()
            for record in records(partition: partition) {
                writer.append(
                    timestamp: record.timestamp, key: record.key, value: record.value, headers: record.headers)
            }
            let batch = try writer.finish(compression: compression)
            let leader = try #require(metadata.brokers.first { $0.nodeId == leaders[partition] })
            let connection = try PlainKafkaSocket(host: leader.host, port: Int(leader.port))
            let request = ProduceRequest(
                acks: -1, timeoutMs: 30_000,
                topicData: [.init(name: topic, partitionData: [.init(index: partition, records: batch)])])
            if produceVersion == 5 {
                // librdkafka's mock omits LogStartOffset from v5 responses (librdkafka-mock.md §5.1):
                // the answer is 8 bytes short, and rejecting it is right. The request itself is
                // checked below, by reading back what the mock stored.
                #expect(throws: KafkaWireError.self) {
                    _ = try connection.roundTrip(request, version: produceVersion, expecting: ProduceResponse.self)
                }
                continue
            }
            let response = try connection.roundTrip(request, version: produceVersion, expecting: ProduceResponse.self)
            let answer = try #require(response.responses.first?.partitionResponses.first)
            #expect(response.responses.first?.name == topic)
            #expect(answer.index == partition)
            #expect(
                answer.errorCode == 0, "partition \(partition): error \(KafkaErrorCode(rawValue: answer.errorCode))")
            #expect(answer.baseOffset == 0)
        }

        // Read back with librdkafka's consumer, which checks every batch's CRC.
        let stored = try await cluster.consume(topic: topic)
        for partition in [Int32(0), 1] {
            let expected = records(partition: partition)
            let got = stored.filter { $0.partition == partition }
            #expect(got.count == expected.count, "partition \(partition)")
            for (index, (record, sent)) in zip(got, expected).enumerated() {
                #expect(record.offset == Int64(index))
                #expect(record.timestamp == sent.timestamp)
                #expect(record.timestampType == .create)
                #expect(record.key == sent.key)
                #expect(record.value == sent.value)
                #expect(record.headers.map(\.name) == sent.headers.map(\.key))
                #expect(
                    record.headers.map(\.value) == sent.headers.map { $0.value.map { Array($0.readableBytesView) } })
            }
        }
        // The raw stored batches, decoded by kafka-python: one batch per partition, our codec.
        for partition in [Int32(0), 1] {
            let batches = try await cluster.storedBatches(topic: topic, partition: partition)
            #expect(batches.count == 1)
            #expect(batches.first?.isCRCValid == true)
            #expect(batches.first.map { Int16($0.compression) } == compression.codec.rawValue)
            #expect(batches.first?.recordCount == 40)
        }
        return Outcome(produceVersion: produceVersion, metadataVersion: metadataVersion)
    }

    @Test(arguments: KafkaCompression.Codec.allCases)
    func everyCodec(_ codec: KafkaCompression.Codec) async throws {
        let outcome = try await Self.produceAndVerify(compression: KafkaCompression(codec: codec))
        // Uncapped, the mock's newest versions are used: flexible encodings.
        #expect(outcome.produceVersion >= 9)
        #expect(outcome.metadataVersion >= 9)
    }

    /// Produce v3…v10 (the mock's range from our v3 minimum); v3–v8 classic, v9+ flexible.
    @Test(arguments: Array(Int16(3)...10))
    func everyProduceVersion(_ version: Int16) async throws {
        // zstd needs Produce v7+; lz4 works everywhere.
        try await Self.produceAndVerify(compression: version >= 7 ? .zstd : .lz4, produceCap: version)
    }

    /// Metadata v1…v13; v9+ flexible, v10+ topic ids in the request.
    @Test(arguments: Array(Int16(1)...13))
    func everyMetadataVersion(_ version: Int16) async throws {
        try await Self.produceAndVerify(compression: .snappy, metadataCap: version)
    }

    /// ApiVersions v0…v2 are answered directly; v3 and v4 (flexible) get UNSUPPORTED_VERSION from
    /// the mock and must resolve to a retry, not an error.
    @Test(arguments: Array(Int16(0)...4))
    func apiVersions(_ version: Int16) async throws {
        let cluster = try await KafkaTestCluster.start(brokers: 1)
        defer { Task { await cluster.stop() } }
        let socket = try PlainKafkaSocket(host: cluster.brokers[0].host, port: cluster.brokers[0].port)
        switch try socket.apiVersions(version: version) {
        case .accepted(let response):
            #expect(version <= 2)
            #expect(response.errorCode == 0)
            #expect(response.versionRange(for: .produce)?.contains(3) == true)
            #expect(response.versionRange(for: .metadata)?.upperBound ?? 0 >= 9)
        case .retry(let retryVersion, _):
            #expect(version >= 3)
            #expect(retryVersion < version)
            guard case .accepted = try socket.apiVersions(version: retryVersion) else {
                Issue.record("retry at v\(retryVersion) was not accepted")
                return
            }
        }
    }

    /// InitProducerId v0…v4 (the mock's range; v2+ flexible) for an idempotent producer.
    @Test(arguments: Array(Int16(0)...4))
    func initProducerId(_ version: Int16) async throws {
        let cluster = try await KafkaTestCluster.start(brokers: 1)
        defer { Task { await cluster.stop() } }
        let socket = try PlainKafkaSocket(host: cluster.brokers[0].host, port: cluster.brokers[0].port)
        let response = try socket.roundTrip(
            InitProducerIdRequest(), version: version, expecting: InitProducerIdResponse.self)
        #expect(response.errorCode == 0)
        #expect(response.producerId >= 0)
        #expect(response.producerEpoch == 0)
    }
}
