/// Where a configuration value comes from (Kafka's `ConfigEntry.ConfigSource`, DescribeConfigs
/// v1+; an int8 on the wire).
public struct KafkaConfigSource: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: Int8
    public init(rawValue: Int8) { self.rawValue = rawValue }

    /// The schema default for a response that does not say (`ConfigSource` is ignorable).
    public static let unknown = KafkaConfigSource(rawValue: -1)
    /// Set on the topic (`kafka-configs --alter --entity-type topics`).
    public static let dynamicTopicConfig = KafkaConfigSource(rawValue: 1)
    /// Set dynamically for this broker.
    public static let dynamicBrokerConfig = KafkaConfigSource(rawValue: 2)
    /// Set dynamically as the default of every broker.
    public static let dynamicDefaultBrokerConfig = KafkaConfigSource(rawValue: 3)
    /// From the broker's `server.properties`.
    public static let staticBrokerConfig = KafkaConfigSource(rawValue: 4)
    /// Kafka's built-in default.
    public static let defaultConfig = KafkaConfigSource(rawValue: 5)
    public static let dynamicBrokerLoggerConfig = KafkaConfigSource(rawValue: 6)
    public static let clientMetricsConfig = KafkaConfigSource(rawValue: 7)
    public static let groupConfig = KafkaConfigSource(rawValue: 8)

    public var description: String {
        switch self {
        case .unknown: "UNKNOWN"
        case .dynamicTopicConfig: "DYNAMIC_TOPIC_CONFIG"
        case .dynamicBrokerConfig: "DYNAMIC_BROKER_CONFIG"
        case .dynamicDefaultBrokerConfig: "DYNAMIC_DEFAULT_BROKER_CONFIG"
        case .staticBrokerConfig: "STATIC_BROKER_CONFIG"
        case .defaultConfig: "DEFAULT_CONFIG"
        case .dynamicBrokerLoggerConfig: "DYNAMIC_BROKER_LOGGER_CONFIG"
        case .clientMetricsConfig: "CLIENT_METRICS_CONFIG"
        case .groupConfig: "GROUP_CONFIG"
        default: "ConfigSource(\(rawValue))"
        }
    }
}
