import NIOCore

/// Produce response (key 0), v3–v12: the outcome for each partition of a produce request.
///
/// Fields a version does not carry hold the schema default (noted on each property). The v10+
/// tagged fields `CurrentLeader` and `NodeEndpoints` (KIP-951) point at the new leader after
/// NOT_LEADER_OR_FOLLOWER, so the client can retry without a metadata round trip.
public struct ProduceResponse: KafkaResponseMessage, Hashable {
    public static let apiKey = KafkaApiKey.produce
    public static let supportedVersions: ClosedRange<Int16> = 3...12
    public static let firstFlexibleVersion: Int16? = 9

    /// One entry of `RecordErrors` (v8+; schema type `BatchIndexAndErrorMessage`).
    public struct BatchIndexAndErrorMessage: Hashable, Sendable {
        /// `BatchIndex`: the index of the record that caused the batch to be dropped.
        public var batchIndex: Int32
        /// `BatchIndexErrorMessage`: the error message for that record, or nil.
        public var batchIndexErrorMessage: String?

        /// Creates an entry.
        public init(batchIndex: Int32, batchIndexErrorMessage: String? = nil) {
            self.batchIndex = batchIndex
            self.batchIndexErrorMessage = batchIndexErrorMessage
        }
    }

    /// `CurrentLeader` (tag 0 of a partition response, v10+; schema type `LeaderIdAndEpoch`).
    public struct LeaderIdAndEpoch: Hashable, Sendable {
        /// `LeaderId`: the current leader, or −1 when unknown.
        public var leaderId: Int32
        /// `LeaderEpoch`: the latest known leader epoch, or −1.
        public var leaderEpoch: Int32

        /// The schema default: leader and epoch unknown.
        public static let unknown = LeaderIdAndEpoch(leaderId: -1, leaderEpoch: -1)

        /// Creates a leader entry.
        public init(leaderId: Int32, leaderEpoch: Int32) {
            self.leaderId = leaderId
            self.leaderEpoch = leaderEpoch
        }
    }

    /// One entry of a topic's `PartitionResponses` (schema type `PartitionProduceResponse`).
    public struct PartitionProduceResponse: Hashable, Sendable {
        /// `Index`: the partition index.
        public var index: Int32
        /// `ErrorCode`: the error code, or 0.
        public var errorCode: Int16
        /// `BaseOffset`: the offset of the first record of the batch.
        public var baseOffset: Int64
        /// `LogAppendTimeMs`: the broker's append time when the topic uses LogAppendTime, else −1.
        public var logAppendTimeMs: Int64
        /// `LogStartOffset` (v5+): the log start offset; −1 before v5.
        public var logStartOffset: Int64
        /// `RecordErrors` (v8+): the records that caused the batch to be dropped; empty before v8.
        public var recordErrors: [BatchIndexAndErrorMessage]
        /// `ErrorMessage` (v8+): a summary of the records' errors, or nil.
        public var errorMessage: String?
        /// `CurrentLeader` (tagged, v10+): the leader to use from now on; `.unknown` when absent.
        public var currentLeader: LeaderIdAndEpoch

        /// Creates a partition response; defaults are the schema's.
        public init(
            index: Int32, errorCode: Int16 = 0, baseOffset: Int64, logAppendTimeMs: Int64 = -1,
            logStartOffset: Int64 = -1, recordErrors: [BatchIndexAndErrorMessage] = [], errorMessage: String? = nil,
            currentLeader: LeaderIdAndEpoch = .unknown
        ) {
            self.index = index
            self.errorCode = errorCode
            self.baseOffset = baseOffset
            self.logAppendTimeMs = logAppendTimeMs
            self.logStartOffset = logStartOffset
            self.recordErrors = recordErrors
            self.errorMessage = errorMessage
            self.currentLeader = currentLeader
        }
    }

    /// One entry of `Responses` (schema type `TopicProduceResponse`).
    public struct TopicProduceResponse: Hashable, Sendable {
        /// `Name`: the topic name.
        public var name: String
        /// `PartitionResponses`: each partition produced to within the topic.
        public var partitionResponses: [PartitionProduceResponse]

        /// Creates a topic response.
        public init(name: String, partitionResponses: [PartitionProduceResponse]) {
            self.name = name
            self.partitionResponses = partitionResponses
        }
    }

    /// One entry of `NodeEndpoints` (tag 0 of the body, v10+; schema type `NodeEndpoint`).
    public struct NodeEndpoint: Hashable, Sendable {
        /// `NodeId`: the broker id.
        public var nodeId: Int32
        /// `Host`: the broker hostname.
        public var host: String
        /// `Port`: the broker port.
        public var port: Int32
        /// `Rack`: the broker's rack, or nil.
        public var rack: String?

        /// Creates an endpoint.
        public init(nodeId: Int32, host: String, port: Int32, rack: String? = nil) {
            self.nodeId = nodeId
            self.host = host
            self.port = port
            self.rack = rack
        }
    }

    /// `Responses`: one entry per topic.
    public var responses: [TopicProduceResponse]
    /// `ThrottleTimeMs`: how long the request was throttled by a quota, in ms.
    public var throttleTimeMs: Int32
    /// `NodeEndpoints` (tagged, v10+): endpoints of the leaders named in `currentLeader`; empty
    /// when absent.
    public var nodeEndpoints: [NodeEndpoint]

    /// Creates a response; defaults are the schema's.
    public init(responses: [TopicProduceResponse] = [], throttleTimeMs: Int32 = 0, nodeEndpoints: [NodeEndpoint] = []) {
        self.responses = responses
        self.throttleTimeMs = throttleTimeMs
        self.nodeEndpoints = nodeEndpoints
    }

    public static func read(from buffer: inout ByteBuffer, version: Int16) throws -> ProduceResponse {
        try checkVersion(version)
        return try withKafkaLocation("ProduceResponse v\(version) ") {
            try readBody(from: &buffer, version: version)
        }
    }

    private static func readBody(from buffer: inout ByteBuffer, version: Int16) throws -> ProduceResponse {
        let flexible = isFlexible(version)
        let size = MinimumEncodedSize(flexible: flexible)
        let partitionSize =
            4 + 2 + 8 + 8 + (version >= 5 ? 8 : 0) + (version >= 8 ? size.array + size.string : 0) + size.tags
        var response = ProduceResponse()
        response.responses = try buffer.readKafkaArray(
            flexible: flexible, minimumElementSize: size.string + size.array + size.tags, at: ".Responses"
        ) { element in
            let name = try element.readKafkaString(flexible: flexible, at: ".Name")
            let partitions = try element.readKafkaArray(
                flexible: flexible, minimumElementSize: partitionSize, at: ".PartitionResponses"
            ) { element in
                try readPartition(from: &element, version: version, flexible: flexible)
            }
            if flexible { try element.readKafkaTaggedFields(at: "") }
            return TopicProduceResponse(name: name, partitionResponses: partitions)
        }
        response.throttleTimeMs = try buffer.readKafkaInteger(at: ".ThrottleTimeMs")
        if flexible {
            try buffer.readKafkaTaggedFields(at: "") { tag, payload in
                guard version >= 10, tag == 0 else { return false }
                response.nodeEndpoints = try payload.readKafkaArray(
                    flexible: true, minimumElementSize: 4 + 1 + 4 + 1 + 1, at: ".NodeEndpoints"
                ) { element in
                    let nodeId = try element.readKafkaInteger(as: Int32.self, at: ".NodeId")
                    let host = try element.readKafkaString(flexible: true, at: ".Host")
                    let port = try element.readKafkaInteger(as: Int32.self, at: ".Port")
                    let rack = try element.readKafkaNullableString(flexible: true, at: ".Rack")
                    try element.readKafkaTaggedFields(at: "")
                    return NodeEndpoint(nodeId: nodeId, host: host, port: port, rack: rack)
                }
                try payload.requireKafkaTaggedPayloadConsumed(at: ".NodeEndpoints")
                return true
            }
        }
        return response
    }

    private static func readPartition(from buffer: inout ByteBuffer, version: Int16, flexible: Bool) throws
        -> PartitionProduceResponse
    {
        var partition = PartitionProduceResponse(index: 0, baseOffset: -1)
        partition.index = try buffer.readKafkaInteger(at: ".Index")
        partition.errorCode = try buffer.readKafkaInteger(at: ".ErrorCode")
        partition.baseOffset = try buffer.readKafkaInteger(at: ".BaseOffset")
        partition.logAppendTimeMs = try buffer.readKafkaInteger(at: ".LogAppendTimeMs")
        if version >= 5 {
            partition.logStartOffset = try buffer.readKafkaInteger(at: ".LogStartOffset")
        }
        if version >= 8 {
            partition.recordErrors = try buffer.readKafkaArray(
                flexible: flexible, minimumElementSize: 6, at: ".RecordErrors"
            ) { element in
                let batchIndex = try element.readKafkaInteger(as: Int32.self, at: ".BatchIndex")
                let message = try element.readKafkaNullableString(flexible: flexible, at: ".BatchIndexErrorMessage")
                if flexible { try element.readKafkaTaggedFields(at: "") }
                return BatchIndexAndErrorMessage(batchIndex: batchIndex, batchIndexErrorMessage: message)
            }
            partition.errorMessage = try buffer.readKafkaNullableString(flexible: flexible, at: ".ErrorMessage")
        }
        if flexible {
            try buffer.readKafkaTaggedFields(at: "") { tag, payload in
                guard version >= 10, tag == 0 else { return false }
                let leaderId = try payload.readKafkaInteger(as: Int32.self, at: ".CurrentLeader.LeaderId")
                let leaderEpoch = try payload.readKafkaInteger(as: Int32.self, at: ".CurrentLeader.LeaderEpoch")
                try payload.readKafkaTaggedFields(at: ".CurrentLeader")
                try payload.requireKafkaTaggedPayloadConsumed(at: ".CurrentLeader")
                partition.currentLeader = LeaderIdAndEpoch(leaderId: leaderId, leaderEpoch: leaderEpoch)
                return true
            }
        }
        return partition
    }
}
