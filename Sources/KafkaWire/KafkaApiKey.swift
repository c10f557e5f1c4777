/// The request types a producer (and `tributary doctor`) speaks, by Kafka's API key number.
public struct KafkaApiKey: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: Int16
    public init(rawValue: Int16) { self.rawValue = rawValue }

    public static let produce = KafkaApiKey(rawValue: 0)
    public static let fetch = KafkaApiKey(rawValue: 1)
    public static let metadata = KafkaApiKey(rawValue: 3)
    public static let saslHandshake = KafkaApiKey(rawValue: 17)
    public static let apiVersions = KafkaApiKey(rawValue: 18)
    public static let initProducerId = KafkaApiKey(rawValue: 22)
    public static let describeConfigs = KafkaApiKey(rawValue: 32)
    public static let saslAuthenticate = KafkaApiKey(rawValue: 36)

    public var description: String {
        switch self {
        case .produce: "Produce"
        case .fetch: "Fetch"
        case .metadata: "Metadata"
        case .saslHandshake: "SaslHandshake"
        case .apiVersions: "ApiVersions"
        case .initProducerId: "InitProducerId"
        case .describeConfigs: "DescribeConfigs"
        case .saslAuthenticate: "SaslAuthenticate"
        default: "ApiKey(\(rawValue))"
        }
    }
}
