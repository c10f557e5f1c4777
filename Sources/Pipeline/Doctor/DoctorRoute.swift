import KafkaClient
import KafkaWire
import PipelineConfig

/// What `tributary doctor` checks of one route: its topics and the producer settings it writes
/// them with, the agent's defaults, `kafka.producer` and the route's own `producer` applied.
public struct DoctorRoute: Sendable, Hashable {
    /// The route's name.
    public var name: String
    /// The topics it is sure to write: the fixed topic, or the fallback topic of a template.
    public var topics: [String]
    /// The topic template when the topic comes from each record; nil for a fixed topic.
    public var topicTemplate: String?
    /// `acks`.
    public var acks: KafkaAcks
    /// `batch.size`, in bytes.
    public var batchSize: Int
    /// `max.request.size`, in bytes: also the largest record the producer accepts.
    public var maxRequestSize: Int
    /// `compression.type` (and level).
    public var compression: KafkaCompression

    public init(
        name: String, topics: [String], topicTemplate: String? = nil, acks: KafkaAcks = .all,
        batchSize: Int = 16_384, maxRequestSize: Int = 1_048_576, compression: KafkaCompression = .none
    ) {
        self.name = name
        self.topics = topics
        self.topicTemplate = topicTemplate
        self.acks = acks
        self.batchSize = batchSize
        self.maxRequestSize = maxRequestSize
        self.compression = compression
    }

    /// The largest batch the route can send: a full batch, or one record alone up to
    /// `max.request.size` (a record larger than `batch.size` gets a batch of its own).
    public var largestBatch: Int { max(batchSize, maxRequestSize) }

    /// Every route of a pipeline with its effective settings. Throws what `validate` reports for
    /// settings that do not parse.
    public static func routes(of pipeline: PipelineConfiguration) throws -> [DoctorRoute] {
        let producer = try pipeline.producerConfiguration()
        return try pipeline.routes.map { route in
            let overrides = try KafkaTopicConfiguration(properties: route.producer)
            let constant = route.topic.constant
            return DoctorRoute(
                name: route.name, topics: constant.map { [$0] } ?? route.fallbackTopic.map { [$0] } ?? [],
                topicTemplate: constant == nil ? route.topic.text : nil, acks: overrides.acks ?? producer.acks,
                batchSize: overrides.batchSize ?? producer.batchSize, maxRequestSize: producer.maxRequestSize,
                compression: overrides.compression ?? producer.compression)
        }
    }
}
