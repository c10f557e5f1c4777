import NIOCore

/// Metadata request (key 3), v1–v13: brokers, and leaders for the given topics.
///
/// `topics == nil` asks for every topic, an empty array for none (brokers only). Fields that a
/// version cannot carry are rejected with `.invalidValue` rather than dropped, because dropping
/// them would change what is asked:
/// - a non-zero `topicId` or a nil `name` below v10;
/// - `allowAutoTopicCreation == false` below v4 (older brokers always may auto-create);
/// - `includeClusterAuthorizedOperations` outside v8–v10, `includeTopicAuthorizedOperations`
///   below v8.
public struct MetadataRequest: KafkaRequestMessage, Hashable {
    public static let apiKey = KafkaApiKey.metadata
    public static let supportedVersions: ClosedRange<Int16> = 1...13
    public static let firstFlexibleVersion: Int16? = 9

    /// One entry of `Topics` (schema type `MetadataRequestTopic`).
    public struct MetadataRequestTopic: Hashable, Sendable {
        /// `TopicId` (v10+): the topic id; `.zero` when asking by name.
        public var topicId: KafkaUUID
        /// `Name`: the topic name; nil (v10+) when asking by `topicId`.
        public var name: String?

        /// Creates a topic entry, by name by default.
        public init(topicId: KafkaUUID = .zero, name: String?) {
            self.topicId = topicId
            self.name = name
        }
    }

    /// `Topics`: the topics to fetch metadata for; nil means all topics.
    public var topics: [MetadataRequestTopic]?
    /// `AllowAutoTopicCreation` (v4+): whether the broker may auto-create requested topics.
    public var allowAutoTopicCreation: Bool
    /// `IncludeClusterAuthorizedOperations` (v8–v10): whether to include cluster operations.
    public var includeClusterAuthorizedOperations: Bool
    /// `IncludeTopicAuthorizedOperations` (v8+): whether to include topic operations.
    public var includeTopicAuthorizedOperations: Bool

    /// Creates a request; defaults are the schema's (all topics, auto-creation allowed).
    public init(
        topics: [MetadataRequestTopic]? = nil, allowAutoTopicCreation: Bool = true,
        includeClusterAuthorizedOperations: Bool = false, includeTopicAuthorizedOperations: Bool = false
    ) {
        self.topics = topics
        self.allowAutoTopicCreation = allowAutoTopicCreation
        self.includeClusterAuthorizedOperations = includeClusterAuthorizedOperations
        self.includeTopicAuthorizedOperations = includeTopicAuthorizedOperations
    }

    /// Creates a request for topics by name.
    public init(topicNames: [String], allowAutoTopicCreation: Bool = true) {
        self.init(
            topics: topicNames.map { MetadataRequestTopic(name: $0) }, allowAutoTopicCreation: allowAutoTopicCreation)
    }

    public func write(into buffer: inout ByteBuffer, version: Int16) throws {
        try Self.checkVersion(version)
        let flexible = Self.isFlexible(version)
        func location(_ path: String) -> String { "MetadataRequest v\(version) \(path)" }
        if let topics {
            buffer.writeKafkaArrayCount(topics.count, flexible: flexible)
            for (index, topic) in topics.enumerated() {
                if version >= 10 {
                    buffer.writeKafkaUUID(topic.topicId)
                } else if topic.topicId != .zero {
                    throw KafkaWireError(
                        .invalidValue, "a topic id cannot be sent before v10",
                        location: location(".Topics[\(index)].TopicId"))
                }
                try buffer.writeKafkaString(
                    topic.name, flexible: flexible, nullable: version >= 10, at: location(".Topics[\(index)].Name"))
                buffer.writeKafkaTaggedFieldsIfFlexible(flexible)
            }
        } else {
            buffer.writeKafkaArrayCount(nil, flexible: flexible)
        }
        if version >= 4 {
            buffer.writeKafkaBool(allowAutoTopicCreation)
        } else if !allowAutoTopicCreation {
            throw KafkaWireError(
                .invalidValue, "auto-creation cannot be disabled before v4",
                location: location(".AllowAutoTopicCreation"))
        }
        if (8...10).contains(version) {
            buffer.writeKafkaBool(includeClusterAuthorizedOperations)
        } else if includeClusterAuthorizedOperations {
            throw KafkaWireError(
                .invalidValue, "only v8–v10 can include cluster authorized operations",
                location: location(".IncludeClusterAuthorizedOperations"))
        }
        if version >= 8 {
            buffer.writeKafkaBool(includeTopicAuthorizedOperations)
        } else if includeTopicAuthorizedOperations {
            throw KafkaWireError(
                .invalidValue, "topic authorized operations need v8+",
                location: location(".IncludeTopicAuthorizedOperations"))
        }
        buffer.writeKafkaTaggedFieldsIfFlexible(flexible)
    }
}
