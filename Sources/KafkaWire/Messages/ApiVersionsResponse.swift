import NIOCore

/// ApiVersions response (key 18), v0–v4: the API versions and features the broker supports.
///
/// The response header is always v0, even for the flexible v3+ bodies
/// (`KafkaResponseHeader.headerVersion`). When the broker did not support the request's version
/// it answers UNSUPPORTED_VERSION (35) in a v0 body; use `readNegotiating(from:version:)` to
/// read a response to a request that may have been too new.
public struct ApiVersionsResponse: KafkaResponseMessage, Hashable {
    public static let apiKey = KafkaApiKey.apiVersions
    public static let supportedVersions: ClosedRange<Int16> = 0...4
    public static let firstFlexibleVersion: Int16? = 3

    /// One entry of `ApiKeys`: the versions the broker accepts for one API.
    public struct ApiVersion: Hashable, Sendable {
        /// `ApiKey`: the API index.
        public var apiKey: KafkaApiKey
        /// `MinVersion`: the minimum supported version, inclusive.
        public var minVersion: Int16
        /// `MaxVersion`: the maximum supported version, inclusive.
        public var maxVersion: Int16

        /// Creates an entry.
        public init(apiKey: KafkaApiKey, minVersion: Int16, maxVersion: Int16) {
            self.apiKey = apiKey
            self.minVersion = minVersion
            self.maxVersion = maxVersion
        }
    }

    /// One entry of `SupportedFeatures` (tagged, v3+): a feature's supported version range.
    public struct SupportedFeatureKey: Hashable, Sendable {
        /// `Name`: the name of the feature.
        public var name: String
        /// `MinVersion`: the minimum supported version for the feature.
        public var minVersion: Int16
        /// `MaxVersion`: the maximum supported version for the feature.
        public var maxVersion: Int16

        /// Creates an entry.
        public init(name: String, minVersion: Int16, maxVersion: Int16) {
            self.name = name
            self.minVersion = minVersion
            self.maxVersion = maxVersion
        }
    }

    /// One entry of `FinalizedFeatures` (tagged, v3+): a cluster-wide finalized feature level.
    public struct FinalizedFeatureKey: Hashable, Sendable {
        /// `Name`: the name of the feature.
        public var name: String
        /// `MaxVersionLevel`: the cluster-wide finalized max version level.
        public var maxVersionLevel: Int16
        /// `MinVersionLevel`: the cluster-wide finalized min version level.
        public var minVersionLevel: Int16

        /// Creates an entry.
        public init(name: String, maxVersionLevel: Int16, minVersionLevel: Int16) {
            self.name = name
            self.maxVersionLevel = maxVersionLevel
            self.minVersionLevel = minVersionLevel
        }
    }

    /// `ErrorCode`: the top-level error code.
    public var errorCode: Int16
    /// `ApiKeys`: the APIs supported by the broker.
    public var apiKeys: [ApiVersion]
    /// `ThrottleTimeMs` (v1+): how long the request was throttled by a quota, in ms. 0 at v0.
    public var throttleTimeMs: Int32
    /// `SupportedFeatures` (tag 0, v3+): features supported by the broker. Empty when absent.
    public var supportedFeatures: [SupportedFeatureKey]
    /// `FinalizedFeaturesEpoch` (tag 1, v3+): epoch of the finalized features; −1 when unknown.
    public var finalizedFeaturesEpoch: Int64
    /// `FinalizedFeatures` (tag 2, v3+): cluster-wide finalized features. Empty when absent.
    public var finalizedFeatures: [FinalizedFeatureKey]
    /// `ZkMigrationReady` (tag 3, v3+): set by a KRaft controller ready for ZK migration.
    public var zkMigrationReady: Bool

    /// Creates a response; defaults are the schema's.
    public init(
        errorCode: Int16 = 0, apiKeys: [ApiVersion] = [], throttleTimeMs: Int32 = 0,
        supportedFeatures: [SupportedFeatureKey] = [], finalizedFeaturesEpoch: Int64 = -1,
        finalizedFeatures: [FinalizedFeatureKey] = [], zkMigrationReady: Bool = false
    ) {
        self.errorCode = errorCode
        self.apiKeys = apiKeys
        self.throttleTimeMs = throttleTimeMs
        self.supportedFeatures = supportedFeatures
        self.finalizedFeaturesEpoch = finalizedFeaturesEpoch
        self.finalizedFeatures = finalizedFeatures
        self.zkMigrationReady = zkMigrationReady
    }

    public static func read(from buffer: inout ByteBuffer, version: Int16) throws -> ApiVersionsResponse {
        try checkVersion(version)
        return try withKafkaLocation("ApiVersionsResponse v\(version) ") {
            try readBody(from: &buffer, flexible: isFlexible(version), version: version)
        }
    }

    private static func readBody(from buffer: inout ByteBuffer, flexible: Bool, version: Int16) throws
        -> ApiVersionsResponse
    {
        var response = ApiVersionsResponse()
        response.errorCode = try buffer.readKafkaInteger(at: ".ErrorCode")
        response.apiKeys = try buffer.readKafkaArray(
            flexible: flexible, minimumElementSize: flexible ? 7 : 6, at: ".ApiKeys"
        ) { element in
            let apiKey = try element.readKafkaInteger(as: Int16.self, at: ".ApiKey")
            let minVersion = try element.readKafkaInteger(as: Int16.self, at: ".MinVersion")
            let maxVersion = try element.readKafkaInteger(as: Int16.self, at: ".MaxVersion")
            if flexible { try element.readKafkaTaggedFields(at: "") }
            return ApiVersion(apiKey: KafkaApiKey(rawValue: apiKey), minVersion: minVersion, maxVersion: maxVersion)
        }
        if version >= 1 {
            response.throttleTimeMs = try buffer.readKafkaInteger(at: ".ThrottleTimeMs")
        }
        if flexible {
            try buffer.readKafkaTaggedFields(at: "") { tag, payload in
                switch tag {
                case 0:
                    response.supportedFeatures = try payload.readKafkaArray(
                        flexible: true, minimumElementSize: 6, at: ".SupportedFeatures"
                    ) { element in
                        let name = try element.readKafkaString(flexible: true, at: ".Name")
                        let minVersion = try element.readKafkaInteger(as: Int16.self, at: ".MinVersion")
                        let maxVersion = try element.readKafkaInteger(as: Int16.self, at: ".MaxVersion")
                        try element.readKafkaTaggedFields(at: "")
                        return SupportedFeatureKey(name: name, minVersion: minVersion, maxVersion: maxVersion)
                    }
                    try payload.requireKafkaTaggedPayloadConsumed(at: ".SupportedFeatures")
                case 1:
                    response.finalizedFeaturesEpoch = try payload.readKafkaInteger(at: ".FinalizedFeaturesEpoch")
                    try payload.requireKafkaTaggedPayloadConsumed(at: ".FinalizedFeaturesEpoch")
                case 2:
                    response.finalizedFeatures = try payload.readKafkaArray(
                        flexible: true, minimumElementSize: 6, at: ".FinalizedFeatures"
                    ) { element in
                        let name = try element.readKafkaString(flexible: true, at: ".Name")
                        let maxLevel = try element.readKafkaInteger(as: Int16.self, at: ".MaxVersionLevel")
                        let minLevel = try element.readKafkaInteger(as: Int16.self, at: ".MinVersionLevel")
                        try element.readKafkaTaggedFields(at: "")
                        return FinalizedFeatureKey(name: name, maxVersionLevel: maxLevel, minVersionLevel: minLevel)
                    }
                    try payload.requireKafkaTaggedPayloadConsumed(at: ".FinalizedFeatures")
                case 3:
                    response.zkMigrationReady = try payload.readKafkaBool(at: ".ZkMigrationReady")
                    try payload.requireKafkaTaggedPayloadConsumed(at: ".ZkMigrationReady")
                default:
                    return false
                }
                return true
            }
        }
        return response
    }
}
