import KafkaWire

/// What a cluster said about itself: its brokers with their configuration, and the asked-for
/// topics with their partitions and configuration. Made by `KafkaClusterInspector`; a plain value,
/// so the checks that read it need no cluster.
///
/// Whatever could not be learned is recorded where it belongs (`configError`, `error`), not
/// thrown: one broker that cannot be reached must not hide what the others said.
public struct KafkaClusterDescription: Sendable, Hashable {
    /// One broker of the Metadata response.
    public struct Broker: Sendable, Hashable {
        public var nodeId: Int32
        public var address: KafkaBrokerAddress
        public var rack: String?
        /// Its DescribeConfigs BROKER entries by name; empty when they could not be read.
        public var configs: [String: KafkaConfigEntry]
        /// Why `configs` could not be read (connection refused, a DescribeConfigs error), or nil.
        public var configError: String?

        public init(
            nodeId: Int32, address: KafkaBrokerAddress, rack: String? = nil, configs: [String: KafkaConfigEntry] = [:],
            configError: String? = nil
        ) {
            self.nodeId = nodeId
            self.address = address
            self.rack = rack
            self.configs = configs
            self.configError = configError
        }
    }

    /// One partition of a topic.
    public struct Partition: Sendable, Hashable {
        public var index: Int32
        /// The leader's node id, −1 when the partition has none.
        public var leaderId: Int32
        public var replicaNodes: [Int32]
        public var isrNodes: [Int32]

        public init(index: Int32, leaderId: Int32, replicaNodes: [Int32], isrNodes: [Int32]) {
            self.index = index
            self.leaderId = leaderId
            self.replicaNodes = replicaNodes
            self.isrNodes = isrNodes
        }
    }

    /// One asked-for topic.
    public struct Topic: Sendable, Hashable {
        public var name: String
        /// The Metadata topic error: `.none` when the topic exists, UNKNOWN_TOPIC_OR_PARTITION
        /// when it does not, TOPIC_AUTHORIZATION_FAILED, …
        public var error: KafkaErrorCode
        public var partitions: [Partition]
        /// Its DescribeConfigs TOPIC entries by name (the effective values: a topic that sets
        /// nothing reports the broker's defaults); empty when not read.
        public var configs: [String: KafkaConfigEntry]
        /// Why `configs` could not be read, or nil.
        public var configError: String?

        public init(
            name: String, error: KafkaErrorCode = .none, partitions: [Partition] = [],
            configs: [String: KafkaConfigEntry] = [:], configError: String? = nil
        ) {
            self.name = name
            self.error = error
            self.partitions = partitions
            self.configs = configs
            self.configError = configError
        }

        /// Whether the topic exists.
        public var exists: Bool { error == .none }

        /// The replication factor: the most replicas any partition has (during a reassignment
        /// partitions may differ; the most is what acks=all must reach). Nil without partitions.
        public var replicationFactor: Int? { partitions.map(\.replicaNodes.count).max() }
    }

    /// The broker that answered the Metadata request (a bootstrap server).
    public var bootstrapBroker: KafkaBrokerAddress
    public var clusterId: String?
    public var controllerId: Int32
    public var brokers: [Broker]
    /// The asked-for topics, in the order asked.
    public var topics: [Topic]

    public init(
        bootstrapBroker: KafkaBrokerAddress, clusterId: String? = nil, controllerId: Int32 = -1,
        brokers: [Broker] = [], topics: [Topic] = []
    ) {
        self.bootstrapBroker = bootstrapBroker
        self.clusterId = clusterId
        self.controllerId = controllerId
        self.brokers = brokers
        self.topics = topics
    }

    /// The topic named `name`, if it was asked for.
    public func topic(_ name: String) -> Topic? { topics.first { $0.name == name } }

    /// Starts a description from a Metadata response: brokers by node id, and each asked-for
    /// topic (one the response leaves out counts as UNKNOWN_TOPIC_OR_PARTITION).
    public init(bootstrapBroker: KafkaBrokerAddress, metadata: MetadataResponse, topicNames: [String]) {
        self.init(
            bootstrapBroker: bootstrapBroker, clusterId: metadata.clusterId, controllerId: metadata.controllerId)
        var seen = Set<Int32>()
        for broker in metadata.brokers.sorted(by: { $0.nodeId < $1.nodeId }) where seen.insert(broker.nodeId).inserted {
            brokers.append(
                Broker(
                    nodeId: broker.nodeId, address: KafkaBrokerAddress(host: broker.host, port: Int(broker.port)),
                    rack: broker.rack))
        }
        for name in topicNames {
            guard let topic = metadata.topics.first(where: { $0.name == name }) else {
                topics.append(Topic(name: name, error: .unknownTopicOrPartition))
                continue
            }
            topics.append(
                Topic(
                    name: name, error: KafkaErrorCode(rawValue: topic.errorCode),
                    partitions: topic.partitions.sorted { $0.partitionIndex < $1.partitionIndex }.map {
                        Partition(
                            index: $0.partitionIndex, leaderId: $0.leaderId, replicaNodes: $0.replicaNodes,
                            isrNodes: $0.isrNodes)
                    }))
        }
    }

    /// Records a DescribeConfigs result for a topic or a broker: its entries, or its error.
    /// Results for resources not in the description are ignored.
    public mutating func record(_ result: DescribeConfigsResponse.DescribeConfigsResult) {
        let error = KafkaErrorCode(rawValue: result.errorCode)
        let problem: String? =
            error == .none
            ? nil
            : "DescribeConfigs \(result.resourceType) \(result.resourceName) failed with \(error)"
                + (result.errorMessage.map { ": \($0)" } ?? "")
        var entries: [String: KafkaConfigEntry] = [:]
        for entry in result.configs where entries[entry.name] == nil {
            entries[entry.name] = KafkaConfigEntry(
                value: entry.value, source: entry.configSource, isSensitive: entry.isSensitive)
        }
        switch result.resourceType {
        case .topic:
            guard let index = topics.firstIndex(where: { $0.name == result.resourceName }) else { return }
            topics[index].configs = problem == nil ? entries : [:]
            topics[index].configError = problem
        case .broker:
            guard let index = brokers.firstIndex(where: { "\($0.nodeId)" == result.resourceName }) else { return }
            brokers[index].configs = problem == nil ? entries : [:]
            brokers[index].configError = problem
        default:
            return
        }
    }
}
