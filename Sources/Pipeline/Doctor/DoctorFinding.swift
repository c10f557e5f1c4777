/// One thing `tributary doctor` found: what will fail (error), what loses durability or speed
/// (warning), or advice (info).
public struct DoctorFinding: Sendable, Hashable {
    public enum Severity: String, Sendable, Hashable, Comparable, CaseIterable {
        /// Advice: nothing fails and nothing is lost at today's load.
        case info
        /// Durability or throughput is lost.
        case warning
        /// Writes will fail.
        case error

        private var rank: Int {
            switch self {
            case .info: 0
            case .warning: 1
            case .error: 2
            }
        }

        public static func < (a: Severity, b: Severity) -> Bool { a.rank < b.rank }
    }

    /// A finding's stable name, for scripts (`--json`) and for looking it up in the README.
    public struct Code: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        public static let topicNotFound = Code(rawValue: "topic-not-found")
        public static let topicAutoCreated = Code(rawValue: "topic-auto-created")
        public static let topicUnavailable = Code(rawValue: "topic-unavailable")
        public static let topicFromRecords = Code(rawValue: "topic-from-records")
        public static let partitionWithoutLeader = Code(rawValue: "partition-without-leader")
        public static let isrBelowMinInsyncReplicas = Code(rawValue: "isr-below-min-insync-replicas")
        public static let underReplicatedPartitions = Code(rawValue: "under-replicated-partitions")
        public static let minInsyncReplicasAboveReplicationFactor = Code(
            rawValue: "min-insync-replicas-above-replication-factor")
        public static let minInsyncReplicasEqualsReplicationFactor = Code(
            rawValue: "min-insync-replicas-equals-replication-factor")
        public static let minInsyncReplicas1 = Code(rawValue: "min-insync-replicas-1")
        public static let replicationFactor1 = Code(rawValue: "replication-factor-1")
        public static let acks0 = Code(rawValue: "acks-0")
        public static let acks1 = Code(rawValue: "acks-1")
        public static let batchSizeAboveMaxMessageBytes = Code(rawValue: "batch-size-above-max-message-bytes")
        public static let maxRequestSizeAboveMaxMessageBytes = Code(
            rawValue: "max-request-size-above-max-message-bytes")
        public static let topicRecompresses = Code(rawValue: "topic-recompresses")
        public static let numReplicaFetchers1 = Code(rawValue: "num-replica-fetchers-1")
        public static let replicaFetchMaxBytesBelowBatch = Code(rawValue: "replica-fetch-max-bytes-below-batch")
        public static let replicaFetchMaxBytesBelowMessageMaxBytes = Code(
            rawValue: "replica-fetch-max-bytes-below-message-max-bytes")
        public static let replicaSocketReceiveBufferSmall = Code(rawValue: "replica-socket-receive-buffer-small")
        public static let replicaSocketReceiveBufferFixed = Code(rawValue: "replica-socket-receive-buffer-fixed")
        public static let numIoThreadsLow = Code(rawValue: "num-io-threads-low")
        public static let configsUnavailable = Code(rawValue: "configs-unavailable")
        public static let configUnreadable = Code(rawValue: "config-unreadable")
        public static let configNotReported = Code(rawValue: "config-not-reported")
        public static let clusterUnreachable = Code(rawValue: "cluster-unreachable")
        public static let pipelineInvalid = Code(rawValue: "pipeline-invalid")
    }

    public var severity: Severity
    public var code: Code
    /// The route concerned, nil for what concerns brokers only.
    public var route: String?
    /// The topic concerned, or nil.
    public var topic: String?
    /// The brokers concerned (node ids), empty when none in particular.
    public var brokers: [Int32]
    /// What is the case, with the values involved.
    public var message: String
    /// Why it matters and what to do.
    public var reason: String

    public init(
        _ severity: Severity, _ code: Code, route: String? = nil, topic: String? = nil, brokers: [Int32] = [],
        message: String, reason: String
    ) {
        self.severity = severity
        self.code = code
        self.route = route
        self.topic = topic
        self.brokers = brokers
        self.message = message
        self.reason = reason
    }
}
