import KafkaClient

/// The `kafka` section: where the cluster is and the producer settings every route starts from.
public struct KafkaSettings: Sendable, Hashable {
    /// `bootstrap_servers`: `host:port` pairs to learn the cluster from. Required.
    public var bootstrapServers: [String]
    /// `client_id`: the client id sent with every request, which brokers log and quota by.
    /// Default: `tributary`.
    public var clientID: String = "tributary"
    /// `producer`: Java producer properties (`acks`, `compression.type`, `linger.ms`,
    /// `buffer.memory`, …) applied to every route; a route's own `producer` overrides the
    /// per-topic ones. Default: none, so the agent's defaults (`KafkaSettings.agentDefaults`) hold.
    public var producer: [String: String] = [:]

    /// The producer settings the agent uses where the file says nothing: chosen for shipping
    /// logs, measured with `make bench-agent` (README, "The agent's producer defaults"). The
    /// library keeps the Java producer's; these differ where log shipping is better served.
    public static let agentDefaults: [String: String] = [
        // Lines compress 3–10× with lz4 at a fraction of a core; less network, fewer requests.
        "compression.type": "lz4",
        // 256 KiB batches: 16× fewer requests than Java's 16 KiB at the same linger.ms.
        "batch.size": "262144",
        // The file is the buffer: reading waits while Kafka is slow, so memory can stay small.
        // 8 MiB holds 32 open batches.
        "buffer.memory": "8388608",
    ]

    public init(bootstrapServers: [String]) {
        self.bootstrapServers = bootstrapServers
    }

    /// The producer's configuration: the agent's defaults, then `producer`, then the servers and
    /// client id, with every route's topic settings.
    public func producerConfiguration(topics: [String: KafkaTopicConfiguration]) throws -> KafkaProducerConfiguration {
        var properties = Self.agentDefaults.merging(producer) { $1 }
        properties["bootstrap.servers"] = bootstrapServers.joined(separator: ",")
        properties["client.id"] = clientID
        var configuration = try KafkaProducerConfiguration(properties: properties)
        configuration.topicConfigurations = topics
        try configuration.validate()
        return configuration
    }
}

extension PipelineConfiguration {
    /// The per-topic settings of the routes with a fixed topic and their own `producer`.
    public func topicConfigurations() throws -> [String: KafkaTopicConfiguration] {
        var topics: [String: KafkaTopicConfiguration] = [:]
        for route in routes where !route.producer.isEmpty {
            guard let topic = route.topic.constant else { continue }
            topics[topic] = try KafkaTopicConfiguration(properties: route.producer)
        }
        return topics
    }

    /// The one producer's configuration: `kafka` with every route's topic settings.
    public func producerConfiguration() throws -> KafkaProducerConfiguration {
        try kafka.producerConfiguration(topics: topicConfigurations())
    }

    /// A topic the routes are sure to write, to learn whether the brokers answer: a fixed topic
    /// or fallback, or a template over `source` and `host` rendered for the route's first
    /// source. Nil when every topic depends on the records' contents.
    public func probeTopic(hostName: String) -> String? {
        for route in routes {
            if let topic = route.topic.constant ?? route.fallbackTopic { return topic }
        }
        for route in routes {
            guard let source = route.from.first else { continue }
            var topic = ""
            for part in route.topic.parts {
                switch part {
                case .literal(let text): topic += text
                case .field(.source): topic += source
                case .field(.host): topic += hostName
                case .field: topic = ""
                }
                if topic.isEmpty { break }
            }
            if !topic.isEmpty { return topic }
        }
        return nil
    }
}
