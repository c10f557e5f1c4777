import NIOCore

/// Metadata response (key 3), v1–v13: the cluster's brokers and each topic's partition leaders.
///
/// Fields a version does not carry hold the schema default (noted on each property).
public struct MetadataResponse: KafkaResponseMessage, Hashable {
    public static let apiKey = KafkaApiKey.metadata
    public static let supportedVersions: ClosedRange<Int16> = 1...13
    public static let firstFlexibleVersion: Int16? = 9

    /// The "not provided" value of the authorized-operations bitfields (`INT32_MIN`).
    public static let authorizedOperationsNotProvided = Int32.min

    /// One entry of `Brokers` (schema type `MetadataResponseBroker`).
    public struct MetadataResponseBroker: Hashable, Sendable {
        /// `NodeId`: the broker id.
        public var nodeId: Int32
        /// `Host`: the broker hostname.
        public var host: String
        /// `Port`: the broker port.
        public var port: Int32
        /// `Rack`: the broker's rack, or nil if it has none.
        public var rack: String?

        /// Creates a broker entry.
        public init(nodeId: Int32, host: String, port: Int32, rack: String? = nil) {
            self.nodeId = nodeId
            self.host = host
            self.port = port
            self.rack = rack
        }
    }

    /// One entry of a topic's `Partitions` (schema type `MetadataResponsePartition`).
    public struct MetadataResponsePartition: Hashable, Sendable {
        /// `ErrorCode`: the partition error, or 0.
        public var errorCode: Int16
        /// `PartitionIndex`: the partition index.
        public var partitionIndex: Int32
        /// `LeaderId`: the leader broker id (−1 when there is none).
        public var leaderId: Int32
        /// `LeaderEpoch` (v7+): the leader epoch; −1 before v7.
        public var leaderEpoch: Int32
        /// `ReplicaNodes`: all brokers that host the partition.
        public var replicaNodes: [Int32]
        /// `IsrNodes`: the brokers in sync with the leader.
        public var isrNodes: [Int32]
        /// `OfflineReplicas` (v5+): the offline replicas; empty before v5.
        public var offlineReplicas: [Int32]

        /// Creates a partition entry; defaults are the schema's.
        public init(
            errorCode: Int16 = 0, partitionIndex: Int32, leaderId: Int32, leaderEpoch: Int32 = -1,
            replicaNodes: [Int32] = [], isrNodes: [Int32] = [], offlineReplicas: [Int32] = []
        ) {
            self.errorCode = errorCode
            self.partitionIndex = partitionIndex
            self.leaderId = leaderId
            self.leaderEpoch = leaderEpoch
            self.replicaNodes = replicaNodes
            self.isrNodes = isrNodes
            self.offlineReplicas = offlineReplicas
        }
    }

    /// One entry of `Topics` (schema type `MetadataResponseTopic`).
    public struct MetadataResponseTopic: Hashable, Sendable {
        /// `ErrorCode`: the topic error, or 0.
        public var errorCode: Int16
        /// `Name`: the topic name; nil only from v12, for unknown topics queried by id.
        public var name: String?
        /// `TopicId` (v10+): the topic id; `.zero` before v10 or for unknown topics.
        public var topicId: KafkaUUID
        /// `IsInternal`: whether the topic is internal.
        public var isInternal: Bool
        /// `Partitions`: each partition of the topic.
        public var partitions: [MetadataResponsePartition]
        /// `TopicAuthorizedOperations` (v8+): bitfield of allowed operations; `INT32_MIN` when
        /// not provided or before v8.
        public var topicAuthorizedOperations: Int32

        /// Creates a topic entry; defaults are the schema's.
        public init(
            errorCode: Int16 = 0, name: String?, topicId: KafkaUUID = .zero, isInternal: Bool = false,
            partitions: [MetadataResponsePartition] = [],
            topicAuthorizedOperations: Int32 = MetadataResponse.authorizedOperationsNotProvided
        ) {
            self.errorCode = errorCode
            self.name = name
            self.topicId = topicId
            self.isInternal = isInternal
            self.partitions = partitions
            self.topicAuthorizedOperations = topicAuthorizedOperations
        }
    }

    /// `ThrottleTimeMs` (v3+): how long the request was throttled by a quota, in ms; 0 before v3.
    public var throttleTimeMs: Int32
    /// `Brokers`: the brokers in the cluster.
    public var brokers: [MetadataResponseBroker]
    /// `ClusterId` (v2+): the cluster id, or nil (always nil before v2).
    public var clusterId: String?
    /// `ControllerId`: the controller broker id, −1 when unknown.
    public var controllerId: Int32
    /// `Topics`: each requested topic.
    public var topics: [MetadataResponseTopic]
    /// `ClusterAuthorizedOperations` (v8–v10): bitfield of allowed cluster operations;
    /// `INT32_MIN` outside v8–v10.
    public var clusterAuthorizedOperations: Int32
    /// `ErrorCode` (v13+): the top-level error (e.g. REBOOTSTRAP_REQUIRED, 129); 0 before v13.
    public var errorCode: Int16

    /// Creates a response; defaults are the schema's.
    public init(
        throttleTimeMs: Int32 = 0, brokers: [MetadataResponseBroker] = [], clusterId: String? = nil,
        controllerId: Int32 = -1, topics: [MetadataResponseTopic] = [],
        clusterAuthorizedOperations: Int32 = MetadataResponse.authorizedOperationsNotProvided, errorCode: Int16 = 0
    ) {
        self.throttleTimeMs = throttleTimeMs
        self.brokers = brokers
        self.clusterId = clusterId
        self.controllerId = controllerId
        self.topics = topics
        self.clusterAuthorizedOperations = clusterAuthorizedOperations
        self.errorCode = errorCode
    }

    public static func read(from buffer: inout ByteBuffer, version: Int16) throws -> MetadataResponse {
        try checkVersion(version)
        return try withKafkaLocation("MetadataResponse v\(version) ") {
            try readBody(from: &buffer, version: version)
        }
    }

    private static func readBody(from buffer: inout ByteBuffer, version: Int16) throws -> MetadataResponse {
        let flexible = isFlexible(version)
        let size = MinimumEncodedSize(flexible: flexible)
        var response = MetadataResponse()
        if version >= 3 {
            response.throttleTimeMs = try buffer.readKafkaInteger(at: ".ThrottleTimeMs")
        }
        response.brokers = try buffer.readKafkaArray(
            flexible: flexible, minimumElementSize: 8 + 2 * size.string + size.tags, at: ".Brokers"
        ) { element in
            let nodeId = try element.readKafkaInteger(as: Int32.self, at: ".NodeId")
            let host = try element.readKafkaString(flexible: flexible, at: ".Host")
            let port = try element.readKafkaInteger(as: Int32.self, at: ".Port")
            let rack = try element.readKafkaNullableString(flexible: flexible, at: ".Rack")
            if flexible { try element.readKafkaTaggedFields(at: "") }
            return MetadataResponseBroker(nodeId: nodeId, host: host, port: port, rack: rack)
        }
        if version >= 2 {
            response.clusterId = try buffer.readKafkaNullableString(flexible: flexible, at: ".ClusterId")
        }
        response.controllerId = try buffer.readKafkaInteger(at: ".ControllerId")
        let partitionSize = 2 + 4 + 4 + (version >= 7 ? 4 : 0) + size.array * (version >= 5 ? 3 : 2) + size.tags
        let topicSize =
            2 + size.string + (version >= 10 ? 16 : 0) + 1 + size.array + (version >= 8 ? 4 : 0) + size.tags
        response.topics = try buffer.readKafkaArray(
            flexible: flexible, minimumElementSize: topicSize, at: ".Topics"
        ) { element in
            var topic = MetadataResponseTopic(name: nil)
            topic.errorCode = try element.readKafkaInteger(at: ".ErrorCode")
            topic.name = try element.readKafkaString(flexible: flexible, nullable: version >= 12, at: ".Name")
            if version >= 10 {
                topic.topicId = try element.readKafkaUUID(at: ".TopicId")
            }
            topic.isInternal = try element.readKafkaBool(at: ".IsInternal")
            topic.partitions = try element.readKafkaArray(
                flexible: flexible, minimumElementSize: partitionSize, at: ".Partitions"
            ) { element in
                var partition = MetadataResponsePartition(partitionIndex: 0, leaderId: -1)
                partition.errorCode = try element.readKafkaInteger(at: ".ErrorCode")
                partition.partitionIndex = try element.readKafkaInteger(at: ".PartitionIndex")
                partition.leaderId = try element.readKafkaInteger(at: ".LeaderId")
                if version >= 7 {
                    partition.leaderEpoch = try element.readKafkaInteger(at: ".LeaderEpoch")
                }
                partition.replicaNodes = try element.readKafkaInt32Array(flexible: flexible, at: ".ReplicaNodes")
                partition.isrNodes = try element.readKafkaInt32Array(flexible: flexible, at: ".IsrNodes")
                if version >= 5 {
                    partition.offlineReplicas = try element.readKafkaInt32Array(
                        flexible: flexible, at: ".OfflineReplicas")
                }
                if flexible { try element.readKafkaTaggedFields(at: "") }
                return partition
            }
            if version >= 8 {
                topic.topicAuthorizedOperations = try element.readKafkaInteger(at: ".TopicAuthorizedOperations")
            }
            if flexible { try element.readKafkaTaggedFields(at: "") }
            return topic
        }
        if (8...10).contains(version) {
            response.clusterAuthorizedOperations = try buffer.readKafkaInteger(at: ".ClusterAuthorizedOperations")
        }
        if version >= 13 {
            response.errorCode = try buffer.readKafkaInteger(at: ".ErrorCode")
        }
        if flexible { try buffer.readKafkaTaggedFields(at: "") }
        return response
    }
}
