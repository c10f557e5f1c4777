import KafkaWire

/// One configuration value as a broker described it (a DescribeConfigs entry, without its
/// synonyms and documentation).
public struct KafkaConfigEntry: Sendable, Hashable {
    /// The value; nil when the broker hides it (sensitive) or it is unset.
    public var value: String?
    /// Where the value comes from: set on the topic, on the broker, or Kafka's default.
    public var source: KafkaConfigSource
    /// Whether the broker hides the value.
    public var isSensitive: Bool

    public init(value: String?, source: KafkaConfigSource = .unknown, isSensitive: Bool = false) {
        self.value = value
        self.source = source
        self.isSensitive = isSensitive
    }
}
