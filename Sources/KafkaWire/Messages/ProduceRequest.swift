import NIOCore

/// Produce request (key 0), v3–v12: record batches for topic partitions.
///
/// v3 is the first version with RecordBatch v2 (magic 2) and the Kafka 4.0 baseline; v9+ is
/// flexible. v13 (topic ids instead of names) is not implemented. With `acks == 0` a real broker
/// sends no response.
public struct ProduceRequest: KafkaRequestMessage, Hashable {
    public static let apiKey = KafkaApiKey.produce
    public static let supportedVersions: ClosedRange<Int16> = 3...12
    public static let firstFlexibleVersion: Int16? = 9

    /// One entry of a topic's `PartitionData` (schema type `PartitionProduceData`).
    public struct PartitionProduceData: Hashable, Sendable {
        /// `Index`: the partition index.
        public var index: Int32
        /// `Records`: the already-encoded record batches, written as they are; nil is null.
        public var records: ByteBuffer?

        /// Creates a partition entry.
        public init(index: Int32, records: ByteBuffer?) {
            self.index = index
            self.records = records
        }
    }

    /// One entry of `TopicData` (schema type `TopicProduceData`).
    public struct TopicProduceData: Hashable, Sendable {
        /// `Name`: the topic name.
        public var name: String
        /// `PartitionData`: each partition to produce to.
        public var partitionData: [PartitionProduceData]

        /// Creates a topic entry.
        public init(name: String, partitionData: [PartitionProduceData]) {
            self.name = name
            self.partitionData = partitionData
        }
    }

    /// `TransactionalId`: the transactional id, or nil when the producer is not transactional.
    public var transactionalId: String?
    /// `Acks`: 0 (no response), 1 (leader only) or −1 (all in-sync replicas).
    public var acks: Int16
    /// `TimeoutMs`: how long the broker may wait for the acknowledgements, in ms.
    public var timeoutMs: Int32
    /// `TopicData`: each topic to produce to.
    public var topicData: [TopicProduceData]

    /// Creates a request.
    public init(transactionalId: String? = nil, acks: Int16, timeoutMs: Int32, topicData: [TopicProduceData]) {
        self.transactionalId = transactionalId
        self.acks = acks
        self.timeoutMs = timeoutMs
        self.topicData = topicData
    }

    public func write(into buffer: inout ByteBuffer, version: Int16) throws {
        try Self.checkVersion(version)
        let flexible = Self.isFlexible(version)
        try buffer.writeKafkaString(
            transactionalId, flexible: flexible, nullable: true, at: "ProduceRequest v\(version) .TransactionalId")
        buffer.writeInteger(acks)
        buffer.writeInteger(timeoutMs)
        buffer.writeKafkaArrayCount(topicData.count, flexible: flexible)
        for (topicIndex, topic) in topicData.enumerated() {
            try buffer.writeKafkaString(
                topic.name, flexible: flexible, nullable: false,
                at: "ProduceRequest v\(version) .TopicData[\(topicIndex)].Name")
            buffer.writeKafkaArrayCount(topic.partitionData.count, flexible: flexible)
            for partition in topic.partitionData {
                buffer.writeInteger(partition.index)
                buffer.writeKafkaNullableBytes(partition.records, flexible: flexible)
                buffer.writeKafkaTaggedFieldsIfFlexible(flexible)
            }
            buffer.writeKafkaTaggedFieldsIfFlexible(flexible)
        }
        buffer.writeKafkaTaggedFieldsIfFlexible(flexible)
    }
}
