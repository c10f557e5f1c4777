import KafkaClient
import KafkaWire
import Pipeline
import Testing

/// The checks of `tributary doctor`, driven directly: a stated cluster, stated routes, the
/// findings read back.
@Suite("doctor checks")
struct PipelineDoctorTests {
    /// Kafka's broker defaults for what the doctor reads.
    static let brokerDefaults: [String: String] = [
        "auto.create.topics.enable": "true", "num.partitions": "1", "default.replication.factor": "1",
        "min.insync.replicas": "1", "message.max.bytes": "1048588", "compression.type": "producer",
        "num.replica.fetchers": "1", "replica.fetch.max.bytes": "1048576",
        "replica.socket.receive.buffer.bytes": "65536", "num.io.threads": "8",
    ]
    /// A tuned broker: nothing to advise.
    static let tunedBroker = brokerDefaults.merging([
        "num.replica.fetchers": "4", "replica.fetch.max.bytes": "10485760",
        "replica.socket.receive.buffer.bytes": "-1", "default.replication.factor": "3",
        "min.insync.replicas": "2", "num.partitions": "6",
    ]) { $1 }

    static func entries(_ values: [String: String]) -> [String: KafkaConfigEntry] {
        values.mapValues { KafkaConfigEntry(value: $0, source: .defaultConfig) }
    }

    /// Three brokers, and `topic` with 6 partitions over them: min.insync.replicas=2 and Kafka's
    /// defaults, with `topic`'s entries over them.
    static func cluster(
        broker: [String: String] = tunedBroker, topic: [String: String] = [:],
        replicationFactor: Int = 3, topicName: String = "logs", exists: Bool = true
    ) -> KafkaClusterDescription {
        let ids: [Int32] = [1, 2, 3]
        var description = KafkaClusterDescription(
            bootstrapBroker: KafkaBrokerAddress(host: "kafka-1", port: 9092), clusterId: "c1", controllerId: 1,
            brokers: ids.map {
                .init(
                    nodeId: $0, address: KafkaBrokerAddress(host: "kafka-\($0)", port: 9092), configs: entries(broker))
            })
        guard exists else {
            description.topics = [.init(name: topicName, error: .unknownTopicOrPartition)]
            return description
        }
        let partitions = (0..<6).map { index -> KafkaClusterDescription.Partition in
            let replicas = (0..<replicationFactor).map { ids[(index + $0) % 3] }
            return .init(index: Int32(index), leaderId: replicas[0], replicaNodes: replicas, isrNodes: replicas)
        }
        let topicConfigs = ["min.insync.replicas": "2", "max.message.bytes": "1048588", "compression.type": "producer"]
            .merging(topic) { $1 }
        description.topics = [.init(name: topicName, partitions: partitions, configs: entries(topicConfigs))]
        return description
    }

    /// A route at the agent's defaults (acks=all, 256 KiB batches, lz4).
    static func route(
        acks: KafkaAcks = .all, batchSize: Int = 262_144, maxRequestSize: Int = 1_048_576,
        compression: KafkaCompression = .lz4
    ) -> DoctorRoute {
        DoctorRoute(
            name: "web", topics: ["logs"], acks: acks, batchSize: batchSize, maxRequestSize: maxRequestSize,
            compression: compression)
    }

    static func diagnose(_ route: DoctorRoute = route(), _ cluster: KafkaClusterDescription = cluster())
        -> DoctorReport
    {
        PipelineDoctor(routes: [route], cluster: cluster).diagnose()
    }

    static func codes(_ report: DoctorReport) -> [String] { report.findings.map(\.code.rawValue) }

    @Test func wellConfiguredClusterReportsNothing() {
        let report = Self.diagnose()
        #expect(report.findings.isEmpty, "\(report.findings)")
        #expect(report.exitStatus == 0)
        #expect(report.routes.first?.topics.first?.state == .exists)
        #expect(report.routes.first?.topics.first?.replicationFactor == 3)
        #expect(report.routes.first?.topics.first?.partitions == 6)
    }

    @Test func kafkaDefaultsWithReplicationFactor3AndMinInsync2GetOnlyAdvice() {
        let report = Self.diagnose(Self.route(), Self.cluster(broker: Self.brokerDefaults))
        #expect(report.findings.allSatisfy { $0.severity == .info }, "\(report.findings)")
        #expect(report.exitStatus == 0)
        #expect(Self.codes(report) == ["num-replica-fetchers-1", "replica-socket-receive-buffer-fixed"])
        // One finding for all three brokers, not three.
        #expect(report.findings.first?.brokers == [1, 2, 3])
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var route: DoctorRoute = PipelineDoctorTests.route()
        var cluster: KafkaClusterDescription = PipelineDoctorTests.cluster()
        var code: String
        var severity: DoctorFinding.Severity
        var exitStatus: Int32
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(
            name: "min.insync.replicas above the replication factor",
            cluster: cluster(topic: ["min.insync.replicas": "3"], replicationFactor: 2),
            code: "min-insync-replicas-above-replication-factor", severity: .error, exitStatus: 2),
        Case(
            name: "acks=all with min.insync.replicas=1", cluster: cluster(topic: ["min.insync.replicas": "1"]),
            code: "min-insync-replicas-1", severity: .warning, exitStatus: 1),
        Case(
            name: "min.insync.replicas equal to the replication factor",
            cluster: cluster(topic: ["min.insync.replicas": "3"]),
            code: "min-insync-replicas-equals-replication-factor", severity: .warning, exitStatus: 1),
        Case(
            name: "replication factor 1", cluster: cluster(topic: ["min.insync.replicas": "1"], replicationFactor: 1),
            code: "replication-factor-1", severity: .warning, exitStatus: 1),
        Case(name: "acks=1", route: route(acks: .leader), code: "acks-1", severity: .warning, exitStatus: 1),
        Case(name: "acks=0", route: route(acks: .none), code: "acks-0", severity: .warning, exitStatus: 1),
        Case(
            name: "batch.size above max.message.bytes", cluster: cluster(topic: ["max.message.bytes": "200000"]),
            code: "batch-size-above-max-message-bytes", severity: .error, exitStatus: 2),
        Case(
            name: "max.request.size above max.message.bytes", cluster: cluster(topic: ["max.message.bytes": "500000"]),
            code: "max-request-size-above-max-message-bytes", severity: .error, exitStatus: 2),
        Case(
            name: "topic recompresses", cluster: cluster(topic: ["compression.type": "gzip"]),
            code: "topic-recompresses", severity: .warning, exitStatus: 1),
        Case(
            name: "topic missing, no auto-creation",
            cluster: cluster(broker: tunedBroker.merging(["auto.create.topics.enable": "false"]) { $1 }, exists: false),
            code: "topic-not-found", severity: .error, exitStatus: 2),
        Case(
            name: "topic to be auto-created (with tuned defaults)", cluster: cluster(exists: false),
            code: "topic-auto-created", severity: .info, exitStatus: 0),
        Case(
            name: "num.io.threads below the default",
            cluster: cluster(broker: tunedBroker.merging(["num.io.threads": "2"]) { $1 }),
            code: "num-io-threads-low", severity: .warning, exitStatus: 1),
        Case(
            name: "replica.fetch.max.bytes below the routes' batches",
            cluster: cluster(broker: tunedBroker.merging(["replica.fetch.max.bytes": "65536"]) { $1 }),
            code: "replica-fetch-max-bytes-below-batch", severity: .warning, exitStatus: 1),
        Case(
            name: "replica.fetch.max.bytes below message.max.bytes only",
            route: route(batchSize: 16_384, maxRequestSize: 1_000_000),
            cluster: cluster(broker: tunedBroker.merging(["replica.fetch.max.bytes": "1000000"]) { $1 }),
            code: "replica-fetch-max-bytes-below-message-max-bytes", severity: .info, exitStatus: 0),
        Case(
            name: "replica socket buffer below the default",
            cluster: cluster(broker: tunedBroker.merging(["replica.socket.receive.buffer.bytes": "16384"]) { $1 }),
            code: "replica-socket-receive-buffer-small", severity: .warning, exitStatus: 1),
        Case(
            name: "a broker value that is not a number",
            cluster: cluster(broker: tunedBroker.merging(["num.io.threads": "eight"]) { $1 }),
            code: "config-unreadable", severity: .warning, exitStatus: 1),
        // Would overflow `message.max.bytes - 12` if it were taken as a number.
        Case(
            name: "a broker value beyond a Java int",
            cluster: cluster(
                broker: tunedBroker.merging(["message.max.bytes": "-9223372036854775808"]) { $1 }),
            code: "config-unreadable", severity: .warning, exitStatus: 1),
    ]

    @Test(arguments: cases)
    func eachRule(_ c: Case) throws {
        let report = Self.diagnose(c.route, c.cluster)
        let finding = try #require(report.findings.first { $0.code.rawValue == c.code }, "\(Self.codes(report))")
        #expect(finding.severity == c.severity)
        #expect(!finding.message.isEmpty && !finding.reason.isEmpty)
        #expect(report.exitStatus == c.exitStatus, "\(Self.codes(report))")
        // Each case has exactly the one problem it states (plus nothing of its own severity or worse).
        #expect(report.findings.filter { $0.severity >= c.severity }.count == 1, "\(Self.codes(report))")
    }

    @Test func defaultBatchAndRequestSizesFitKafkasDefaultLimit() {
        // Java's max.request.size 1048576 + 12 bytes of log overhead = max.message.bytes 1048588.
        let fits = Self.diagnose(
            Self.route(maxRequestSize: 1_048_576), Self.cluster(topic: ["max.message.bytes": "1048588"]))
        #expect(fits.findings.isEmpty)
        let oneTooMany = Self.diagnose(
            Self.route(maxRequestSize: 1_048_577), Self.cluster(topic: ["max.message.bytes": "1048588"]))
        #expect(Self.codes(oneTooMany) == ["max-request-size-above-max-message-bytes"])
    }

    @Test func compressionMatchingTheRouteIsNotRecompression() {
        #expect(Self.diagnose(Self.route(), Self.cluster(topic: ["compression.type": "lz4"])).findings.isEmpty)
        #expect(
            Self.diagnose(Self.route(compression: .none), Self.cluster(topic: ["compression.type": "uncompressed"]))
                .findings.isEmpty)
        let report = Self.diagnose(Self.route(compression: .none), Self.cluster(topic: ["compression.type": "zstd"]))
        #expect(Self.codes(report) == ["topic-recompresses"])
    }

    @Test func autoCreatedTopicIsJudgedByTheBrokerDefaults() {
        // Kafka's defaults: an auto-created topic gets replication factor 1.
        let report = Self.diagnose(Self.route(), Self.cluster(broker: Self.brokerDefaults, exists: false))
        let topic = report.routes[0].topics[0]
        #expect(topic.state == .willBeAutoCreated)
        #expect(topic.partitions == 1)
        #expect(topic.replicationFactor == 1)
        #expect(Self.codes(report).contains("replication-factor-1"))
        #expect(Self.codes(report).contains("topic-auto-created"))
        #expect(report.exitStatus == 1)
    }

    @Test func missingTopicNamesTheBrokersThatWouldNotCreateIt() {
        var cluster = Self.cluster(exists: false)
        cluster.brokers[1].configs["auto.create.topics.enable"] = KafkaConfigEntry(value: "false")
        let report = Self.diagnose(Self.route(), cluster)
        #expect(Self.codes(report) == ["topic-not-found"])
        #expect(
            report.findings[0].message
                == "topic logs does not exist and auto.create.topics.enable is not true on broker 2")
        #expect(report.routes[0].topics[0].state == .missing)
    }

    @Test func unreachableBrokerIsAnErrorNamingIt() {
        var cluster = Self.cluster()
        cluster.brokers[1].configs = [:]
        cluster.brokers[1].configError = "could not connect to broker 2 (kafka-2:9092): Connection refused"
        let report = Self.diagnose(Self.route(), cluster)
        #expect(Self.codes(report) == ["configs-unavailable"])
        #expect(report.findings[0].brokers == [2])
        #expect(report.findings[0].message.contains("broker 2 (kafka-2:9092)"))
        #expect(report.exitStatus == 2)
    }

    @Test func topicDescribeErrorIsAnErrorNamingTheTopic() {
        var cluster = Self.cluster()
        cluster.topics[0].configs = [:]
        cluster.topics[0].configError = "DescribeConfigs TOPIC logs failed with TOPIC_AUTHORIZATION_FAILED (29)"
        let report = Self.diagnose(Self.route(), cluster)
        #expect(Self.codes(report) == ["configs-unavailable"])
        #expect(report.findings[0].topic == "logs")
        #expect(report.exitStatus == 2)
    }

    @Test func partitionStateFindings() {
        var cluster = Self.cluster()
        cluster.topics[0].partitions[2].isrNodes = [cluster.topics[0].partitions[2].leaderId]
        cluster.topics[0].partitions[4].leaderId = -1
        let report = Self.diagnose(Self.route(), cluster)
        #expect(
            Self.codes(report) == [
                "partition-without-leader", "isr-below-min-insync-replicas", "under-replicated-partitions",
            ])
        #expect(report.findings[0].message.contains("partitions 4 of logs"))
        #expect(report.findings[1].message.contains("partitions 2 of logs"))
    }

    @Test func templatedTopicChecksTheFallback() {
        var route = Self.route()
        route.topicTemplate = "logs-{{ json.app }}"
        let report = Self.diagnose(route, Self.cluster())
        #expect(Self.codes(report) == ["topic-from-records"])
        #expect(report.findings[0].severity == .info)
        #expect(report.routes[0].topics.map(\.name) == ["logs"])
    }

    @Test func configurationNotReportedIsSaidNotGuessed() {
        var cluster = Self.cluster()
        cluster.topics[0].configs = [:]
        cluster.brokers = cluster.brokers.map {
            var broker = $0
            broker.configs = [:]
            return broker
        }
        let report = Self.diagnose(Self.route(), cluster)
        #expect(Self.codes(report) == ["config-not-reported", "config-not-reported"])
        #expect(
            report.findings[0].message
                == "topic logs: the broker reported no min.insync.replicas, max.message.bytes, compression.type")
        #expect(report.findings[1].brokers == [1, 2, 3])
        #expect(report.exitStatus == 0)
    }

    @Test func errorsComeFirst() {
        let report = Self.diagnose(
            Self.route(acks: .leader), Self.cluster(topic: ["max.message.bytes": "1000", "compression.type": "gzip"]))
        #expect(report.findings.map(\.severity) == [.error, .warning, .warning])
        #expect(report.exitStatus == 2)
    }
}
