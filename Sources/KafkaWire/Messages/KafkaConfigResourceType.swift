/// What a DescribeConfigs resource names (Kafka's `ConfigResource.Type`, an int8 on the wire).
public struct KafkaConfigResourceType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: Int8
    public init(rawValue: Int8) { self.rawValue = rawValue }

    public static let unknown = KafkaConfigResourceType(rawValue: 0)
    /// A topic, named by its name.
    public static let topic = KafkaConfigResourceType(rawValue: 2)
    /// A broker, named by its node id in decimal (empty for the cluster-wide defaults).
    public static let broker = KafkaConfigResourceType(rawValue: 4)
    /// A broker's log4j loggers.
    public static let brokerLogger = KafkaConfigResourceType(rawValue: 8)

    public var description: String {
        switch self {
        case .unknown: "UNKNOWN"
        case .topic: "TOPIC"
        case .broker: "BROKER"
        case .brokerLogger: "BROKER_LOGGER"
        default: "ResourceType(\(rawValue))"
        }
    }
}
