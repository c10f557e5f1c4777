import KafkaClient
import KafkaFakeCluster
import KafkaWire
import Testing

/// The inspector against fake brokers: what it asks whom, and what it makes of the answers.
@Suite("cluster inspection")
struct KafkaClusterInspectorTests {
    static func inspect(_ spec: FakeClusterSpec, topics: [String], bootstrap: [String]? = nil) async throws -> (
        KafkaClusterDescription, [FakeKafkaCluster.FakeRequest]
    ) {
        let cluster = try await FakeKafkaCluster.start(spec)
        do {
            let servers = (bootstrap ?? cluster.bootstrapServers).map { server in
                let parts = server.split(separator: ":")
                return KafkaBrokerAddress(host: String(parts[0]), port: Int(parts[1])!)
            }
            var inspector = KafkaClusterInspector(bootstrapServers: servers, clientId: "doctor-test")
            inspector.requestTimeout = .seconds(5)
            let description = try await inspector.inspect(
                topics: topics, topicConfigKeys: ["min.insync.replicas", "max.message.bytes"],
                brokerConfigKeys: ["message.max.bytes", "num.io.threads"])
            let requests = cluster.receivedRequests
            await cluster.stop()
            return (description, requests)
        } catch {
            await cluster.stop()
            throw error
        }
    }

    @Test func describesTopicsAndAsksEachBrokerItself() async throws {
        var spec = FakeClusterSpec(brokerCount: 3)
        spec.topics = [
            spec.topic(
                "logs", partitions: 4, replicationFactor: 3,
                configs: ["min.insync.replicas": "2", "max.message.bytes": "2000000", "compression.type": "lz4"])
        ]
        spec.brokers[2].configs["num.io.threads"] = "16"
        let (description, requests) = try await Self.inspect(spec, topics: ["logs", "absent"])

        #expect(description.clusterId == "fake-cluster")
        #expect(description.brokers.map(\.nodeId) == [1, 2, 3])
        let logs = try #require(description.topic("logs"))
        #expect(logs.exists)
        #expect(logs.partitions.count == 4)
        #expect(logs.replicationFactor == 3)
        // Only the keys asked for.
        #expect(logs.configs.mapValues(\.value) == ["min.insync.replicas": "2", "max.message.bytes": "2000000"])
        #expect(description.topic("absent")?.error == .unknownTopicOrPartition)
        #expect(description.brokers[2].configs["num.io.threads"]?.value == "16")
        #expect(description.brokers[0].configs["num.io.threads"]?.value == "8")
        #expect(description.brokers.allSatisfy { $0.configError == nil })

        let describes = requests.filter { $0.apiKey == .describeConfigs }
        // One for the topics (bootstrap), then one per broker, sent to that broker.
        #expect(describes.count == 4)
        #expect(Set(describes.dropFirst().map(\.nodeId)) == [1, 2, 3])
        #expect(describes.allSatisfy { $0.apiVersion == 4 && $0.clientId == "doctor-test" })
        // Inspecting never creates a topic.
        let metadata = requests.filter { $0.apiKey == .metadata }
        #expect(metadata.count == 1)
        #expect(metadata.first?.allowAutoTopicCreation == false)
    }

    @Test(arguments: [1...2, 1...3, 2...4] as [ClosedRange<Int16>])
    func usesTheHighestCommonVersion(_ offered: ClosedRange<Int16>) async throws {
        var spec = FakeClusterSpec(brokerCount: 1)
        spec.describeConfigsVersions = offered
        spec.topics = [spec.topic("logs", partitions: 1, replicationFactor: 1)]
        let (description, requests) = try await Self.inspect(spec, topics: ["logs"])
        #expect(description.topic("logs")?.configs["max.message.bytes"]?.value == "1048588")
        #expect(description.brokers[0].configs["message.max.bytes"]?.value == "1048588")
        #expect(Set(requests.filter { $0.apiKey == .describeConfigs }.map(\.apiVersion)) == [offered.upperBound])
    }

    @Test func brokerWithoutDescribeConfigsIsRecordedNotThrown() async throws {
        var spec = FakeClusterSpec(brokerCount: 2)
        spec.describeConfigsVersions = nil
        spec.topics = [spec.topic("logs", partitions: 1, replicationFactor: 2)]
        let (description, _) = try await Self.inspect(spec, topics: ["logs"])
        #expect(description.topic("logs")?.configError?.contains("DescribeConfigs") == true)
        #expect(description.brokers.allSatisfy { $0.configError?.contains("offers no DescribeConfigs") == true })
    }

    @Test func unreachableBrokerAndRefusedResourceNameThemselves() async throws {
        var spec = FakeClusterSpec(brokerCount: 3)
        spec.brokers[1].isUnreachable = true
        spec.topics = [spec.topic("logs", partitions: 3, replicationFactor: 3)]
        spec.describeConfigsErrors["topic:logs"] = .init(code: 29, message: "Not authorized.")
        let (description, _) = try await Self.inspect(spec, topics: ["logs"])
        let broker2 = try #require(description.brokers.first { $0.nodeId == 2 })
        #expect(broker2.configError?.hasPrefix("could not connect to broker 2 (127.0.0.1:") == true, "\(broker2)")
        #expect(broker2.configs.isEmpty)
        #expect(description.brokers.filter { $0.configError == nil }.count == 2)
        let error = try #require(description.topic("logs")?.configError)
        #expect(error.contains("TOPIC logs"))
        #expect(error.contains("TOPIC_AUTHORIZATION_FAILED"))
        #expect(error.contains("Not authorized."))
    }

    @Test func noBootstrapServerThrowsNamingEach() async throws {
        let spec = FakeClusterSpec(brokerCount: 1)
        let cluster = try await FakeKafkaCluster.start(spec)
        let port = cluster.ports[1]!
        await cluster.stop()
        let inspector = KafkaClusterInspector(
            bootstrapServers: [KafkaBrokerAddress(host: "127.0.0.1", port: port)], clientId: "doctor-test")
        let error = await #expect(throws: KafkaClusterInspectionError.self) {
            _ = try await inspector.inspect(topics: ["logs"], topicConfigKeys: nil, brokerConfigKeys: nil)
        }
        #expect(error?.code == .bootstrapFailed)
        // The freed port may be taken by a parallel test's listener before the inspector connects
        // (then the failure is a reset after connecting, not a refusal): either way it is named.
        #expect(error?.message.contains("127.0.0.1:\(port)") == true, "\(String(describing: error))")
    }
}
