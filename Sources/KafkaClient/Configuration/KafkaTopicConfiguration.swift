import KafkaWire
import NIOCore

/// Settings one topic uses instead of the producer's: what a route of the agent sets for its
/// topic. Every topic of a producer shares its connections (one per broker), metadata, event
/// loop, `buffer.memory` and producer id; only these settings differ. A nil field means the
/// producer's setting.
///
/// Put them in `KafkaProducerConfiguration.topicConfigurations` under the topic's name. The
/// fields are optionals: write `KafkaCompression.none` and `KafkaAcks.none` in full, since a
/// bare `.none` is nil ("the producer's setting").
public struct KafkaTopicConfiguration: Sendable, Hashable {
    /// `acks` for this topic's Produce requests (a request carries one `acks`, so requests are
    /// built per `acks` value; they share the connection). Default: nil (the producer's).
    public var acks: KafkaAcks?
    /// `compression.type` and its level for this topic's batches. Default: nil.
    public var compression: KafkaCompression?
    /// `linger.ms` for this topic's batches. Default: nil.
    public var linger: Duration?
    /// `batch.size` for this topic's batches. Default: nil.
    public var batchSize: Int?
    /// How this topic's records without an explicit partition are placed. Default: nil.
    public var partitioner: KafkaPartitionerStrategy?
    /// `partitioner.ignore.keys` for this topic. Default: nil.
    public var partitionerIgnoreKeys: Bool?
    /// `enable.idempotence` for this topic. When nil, the topic is idempotent if the producer is
    /// and the topic's `acks` is `all` (Java's rule for an idempotence that was not asked for).
    /// Default: nil.
    public var enableIdempotence: Bool?

    public init(
        acks: KafkaAcks? = nil, compression: KafkaCompression? = nil, linger: Duration? = nil, batchSize: Int? = nil,
        partitioner: KafkaPartitionerStrategy? = nil, partitionerIgnoreKeys: Bool? = nil,
        enableIdempotence: Bool? = nil
    ) {
        self.acks = acks
        self.compression = compression
        self.linger = linger
        self.batchSize = batchSize
        self.partitioner = partitioner
        self.partitionerIgnoreKeys = partitionerIgnoreKeys
        self.enableIdempotence = enableIdempotence
    }

    /// The Java property names that may be set per topic.
    public static let propertyNames: Set<String> = [
        "acks", "compression.type", "compression.gzip.level", "compression.lz4.level", "compression.zstd.level",
        "linger.ms", "batch.size", "partitioner", "partitioner.ignore.keys", "enable.idempotence",
    ]

    /// Reads overrides from Java producer properties (only `propertyNames`), with the same
    /// parsing and range checks as `KafkaProducerConfiguration(properties:)`.
    public init(properties: [String: String]) throws {
        self.init()
        var scratch = KafkaProducerConfiguration(bootstrapServers: [])
        for name in properties.keys.sorted() where !Self.propertyNames.contains(name) {
            throw KafkaProducerError(
                .invalidConfiguration,
                "\(name) cannot be set per topic (per-topic settings: \(Self.propertyNames.sorted().joined(separator: ", ")))"
            )
        }
        // compression.type first, so that a level applies to the chosen codec.
        let ordered = properties.sorted { a, b in
            a.key == "compression.type"
                ? b.key != "compression.type" : (b.key == "compression.type" ? false : a.key < b.key)
        }
        for (name, value) in ordered {
            try scratch.set(name, value)
            switch name {
            case "acks": acks = scratch.acks
            case "compression.type", "compression.gzip.level", "compression.lz4.level", "compression.zstd.level":
                compression = scratch.compression
            case "linger.ms": linger = scratch.linger
            case "batch.size": batchSize = scratch.batchSize
            case "partitioner": partitioner = scratch.partitioner
            case "partitioner.ignore.keys": partitionerIgnoreKeys = scratch.partitionerIgnoreKeys
            case "enable.idempotence": enableIdempotence = scratch.enableIdempotence
            default: break
            }
        }
    }
}

/// A topic's settings with the producer's filled in: what the accumulator and the sender use.
struct TopicSettings: Sendable, Hashable {
    var acks: KafkaAcks
    var compression: KafkaCompression
    var linger: TimeAmount
    var batchSize: Int
    var partitioner: KafkaPartitionerStrategy
    var partitionerIgnoreKeys: Bool
    /// Whether the topic's batches carry the producer id and sequences.
    var isIdempotent: Bool
}

extension KafkaProducerConfiguration {
    /// The settings `topic` is produced with.
    func settings(forTopic topic: String) -> TopicSettings {
        let overrides = topicConfigurations[topic] ?? KafkaTopicConfiguration()
        let acks = overrides.acks ?? self.acks
        return TopicSettings(
            acks: acks, compression: overrides.compression ?? compression,
            linger: TimeAmount(overrides.linger ?? linger), batchSize: max(overrides.batchSize ?? batchSize, 1),
            partitioner: overrides.partitioner ?? partitioner,
            partitionerIgnoreKeys: overrides.partitionerIgnoreKeys ?? partitionerIgnoreKeys,
            isIdempotent: overrides.enableIdempotence ?? (enableIdempotence && acks == .all))
    }

    /// Whether any topic can be idempotent: the producer then needs a producer id.
    var needsProducerId: Bool {
        enableIdempotence || topicConfigurations.values.contains { $0.enableIdempotence == true }
    }

    /// The `acks` values Produce requests are built for.
    var acksInUse: [KafkaAcks] {
        var values: [KafkaAcks] = [acks]
        for overrides in topicConfigurations.values {
            if let acks = overrides.acks, !values.contains(acks) { values.append(acks) }
        }
        return values
    }

    /// Checks each topic's overrides as `validate()` checks the producer's settings.
    func validateTopicConfigurations() throws {
        for (topic, overrides) in topicConfigurations.sorted(by: { $0.key < $1.key }) {
            let place = "topic \(topic): "
            if topic.isEmpty {
                throw KafkaProducerError(.invalidConfiguration, "a per-topic configuration has an empty topic name")
            }
            if let linger = overrides.linger, linger < .zero {
                throw KafkaProducerError(.invalidConfiguration, place + "linger.ms must be >= 0")
            }
            if let batchSize = overrides.batchSize {
                guard (0...Int(Int32.max)).contains(batchSize) else {
                    throw KafkaProducerError(.invalidConfiguration, place + "batch.size=\(batchSize) is out of range")
                }
                guard batchSize <= bufferMemory else {
                    throw KafkaProducerError(
                        .invalidConfiguration,
                        place + "batch.size=\(batchSize) must be <= buffer.memory (\(bufferMemory))")
                }
            }
            if let compression = overrides.compression {
                do {
                    try compression.validate()
                } catch {
                    throw KafkaProducerError(.invalidConfiguration, place + "\(error)", cause: error)
                }
            }
            if overrides.enableIdempotence == true {
                let acks = overrides.acks ?? self.acks
                let remedy = "; set enable.idempotence=false for this topic to produce it without idempotence"
                if acks != .all {
                    throw KafkaProducerError(
                        .invalidConfiguration,
                        place + "enable.idempotence=true requires acks=all (got acks=\(acks))" + remedy)
                }
                if retries == 0 {
                    throw KafkaProducerError(
                        .invalidConfiguration, place + "enable.idempotence=true requires retries > 0" + remedy)
                }
                if maxInFlightRequestsPerConnection > Self.maxInFlightRequestsForIdempotence {
                    throw KafkaProducerError(
                        .invalidConfiguration,
                        place + "enable.idempotence=true requires max.in.flight.requests.per.connection <= "
                            + "\(Self.maxInFlightRequestsForIdempotence)" + remedy)
                }
            }
        }
    }
}
