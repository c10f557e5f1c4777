import KafkaWire

/// What a route's topic is like on the cluster, as far as the producer's settings depend on it:
/// read from Metadata and the topic's configuration, or, for a topic the brokers will create on
/// first write, predicted from the brokers' defaults.
public struct DoctorTopic: Sendable, Hashable {
    public enum State: Sendable, Hashable {
        /// The topic exists.
        case exists
        /// It does not exist; the brokers create it on the first write (`auto.create.topics.enable`).
        case willBeAutoCreated
        /// It does not exist and will not be created.
        case missing
        /// The brokers refuse to describe it (TOPIC_AUTHORIZATION_FAILED, INVALID_TOPIC_EXCEPTION, …).
        case unavailable(KafkaErrorCode)

        /// The `--json` spelling.
        public var name: String {
            switch self {
            case .exists: "exists"
            case .willBeAutoCreated: "will-be-auto-created"
            case .missing: "missing"
            case .unavailable: "unavailable"
            }
        }
    }

    public var name: String
    public var state: State
    /// The partition count (`num.partitions` for a topic to be created).
    public var partitions: Int?
    /// The replication factor (`default.replication.factor` for a topic to be created).
    public var replicationFactor: Int?
    /// `min.insync.replicas`.
    public var minInsyncReplicas: Int?
    /// `max.message.bytes` (the brokers' `message.max.bytes` for a topic to be created).
    public var maxMessageBytes: Int?
    /// `compression.type`.
    public var compressionType: String?

    public init(
        name: String, state: State, partitions: Int? = nil, replicationFactor: Int? = nil,
        minInsyncReplicas: Int? = nil, maxMessageBytes: Int? = nil, compressionType: String? = nil
    ) {
        self.name = name
        self.state = state
        self.partitions = partitions
        self.replicationFactor = replicationFactor
        self.minInsyncReplicas = minInsyncReplicas
        self.maxMessageBytes = maxMessageBytes
        self.compressionType = compressionType
    }
}
