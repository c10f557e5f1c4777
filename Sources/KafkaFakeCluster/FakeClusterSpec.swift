/// What a `FakeKafkaCluster` says about itself: its brokers and topics with their configuration.
/// Tests start from `defaults` (Kafka's own defaults) and change what their case needs.
public struct FakeClusterSpec: Sendable, Hashable {
    public struct Broker: Sendable, Hashable {
        public var nodeId: Int32
        public var rack: String?
        /// DescribeConfigs BROKER entries, by name.
        public var configs: [String: String]
        /// Listed in Metadata but listening nowhere: connections to it are refused.
        public var isUnreachable = false

        public init(nodeId: Int32, rack: String? = nil, configs: [String: String] = FakeClusterSpec.brokerDefaults) {
            self.nodeId = nodeId
            self.rack = rack
            self.configs = configs
        }
    }

    public struct Partition: Sendable, Hashable {
        public var leader: Int32
        public var replicas: [Int32]
        public var isr: [Int32]

        public init(leader: Int32, replicas: [Int32], isr: [Int32]? = nil) {
            self.leader = leader
            self.replicas = replicas
            self.isr = isr ?? replicas
        }
    }

    public struct Topic: Sendable, Hashable {
        public var name: String
        public var partitions: [Partition]
        /// DescribeConfigs TOPIC entries, by name: what the topic reports (its own settings and
        /// the defaults it inherits).
        public var configs: [String: String]

        public init(name: String, partitions: [Partition], configs: [String: String] = FakeClusterSpec.topicDefaults) {
            self.name = name
            self.partitions = partitions
            self.configs = configs
        }
    }

    /// Kafka's broker defaults for what `tributary doctor` reads (Kafka 3.x/4.x documentation).
    public static let brokerDefaults: [String: String] = [
        "auto.create.topics.enable": "true", "num.partitions": "1", "default.replication.factor": "1",
        "min.insync.replicas": "1", "message.max.bytes": "1048588", "compression.type": "producer",
        "num.replica.fetchers": "1", "replica.fetch.max.bytes": "1048576",
        "replica.socket.receive.buffer.bytes": "65536", "num.io.threads": "8",
    ]

    /// Kafka's topic defaults for what `tributary doctor` reads.
    public static let topicDefaults: [String: String] = [
        "min.insync.replicas": "1", "max.message.bytes": "1048588", "compression.type": "producer",
    ]

    public var clusterId = "fake-cluster"
    public var brokers: [Broker]
    public var topics: [Topic]
    /// The DescribeConfigs versions offered; nil offers none (as librdkafka's mock cluster).
    public var describeConfigsVersions: ClosedRange<Int16>? = 1...4
    /// DescribeConfigs results to answer with an error instead, by `"topic:NAME"` or
    /// `"broker:ID"`: the error code and message.
    public var describeConfigsErrors: [String: FakeError] = [:]

    public struct FakeError: Sendable, Hashable {
        public var code: Int16
        public var message: String?
        public init(code: Int16, message: String? = nil) {
            self.code = code
            self.message = message
        }
    }

    public init(brokers: [Broker], topics: [Topic] = []) {
        self.brokers = brokers
        self.topics = topics
    }

    /// `count` brokers (ids 1…count) at Kafka's defaults.
    public init(brokerCount: Int, topics: [Topic] = []) {
        self.init(brokers: (1...max(brokerCount, 1)).map { Broker(nodeId: Int32($0)) }, topics: topics)
    }

    /// A topic of `partitions` partitions, each with `replicationFactor` replicas spread over
    /// the brokers, all in sync.
    public func topic(
        _ name: String, partitions: Int, replicationFactor: Int,
        configs: [String: String] = FakeClusterSpec.topicDefaults
    ) -> Topic {
        let ids = brokers.map(\.nodeId)
        return Topic(
            name: name,
            partitions: (0..<partitions).map { index in
                let replicas = (0..<replicationFactor).map { ids[(index + $0) % ids.count] }
                return Partition(leader: replicas[0], replicas: replicas)
            }, configs: configs)
    }
}
