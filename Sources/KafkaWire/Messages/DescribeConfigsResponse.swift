import NIOCore

/// DescribeConfigs response (key 32), v1–v4: each resource's configuration entries, or its error.
///
/// Fields a version does not carry hold the schema default (noted on each property). The writer
/// exists for brokers (test brokers answer with it); it writes what the version can carry.
public struct DescribeConfigsResponse: KafkaResponseMessage, Hashable {
    public static let apiKey = KafkaApiKey.describeConfigs
    public static let supportedVersions: ClosedRange<Int16> = 1...4
    public static let firstFlexibleVersion: Int16? = 4

    /// One entry of an entry's `Synonyms` (schema type `DescribeConfigsSynonym`).
    public struct DescribeConfigsSynonym: Hashable, Sendable {
        /// `Name`: the synonym's name (`log.retention.ms` behind `retention.ms`).
        public var name: String
        /// `Value`: its value, or nil (sensitive).
        public var value: String?
        /// `Source`: where it is set.
        public var source: KafkaConfigSource

        /// Creates a synonym.
        public init(name: String, value: String?, source: KafkaConfigSource) {
            self.name = name
            self.value = value
            self.source = source
        }
    }

    /// One entry of a result's `Configs` (schema type `DescribeConfigsResourceResult`).
    public struct DescribeConfigsResourceResult: Hashable, Sendable {
        /// `Name`: the configuration key.
        public var name: String
        /// `Value`: the value, or nil when it is sensitive or unset.
        public var value: String?
        /// `ReadOnly`: whether it cannot be changed dynamically.
        public var readOnly: Bool
        /// `ConfigSource`: where the value comes from; `.unknown` (−1) when not said.
        public var configSource: KafkaConfigSource
        /// `IsSensitive`: whether the value is hidden.
        public var isSensitive: Bool
        /// `Synonyms`: the settings this one stands for, in precedence order; empty unless asked.
        public var synonyms: [DescribeConfigsSynonym]
        /// `ConfigType` (v3+): the value's type (1 BOOLEAN, 2 STRING, 3 INT, …); 0 before v3.
        public var configType: Int8
        /// `Documentation` (v3+): the documentation, or nil (always nil before v3).
        public var documentation: String?

        /// Creates an entry; defaults are the schema's.
        public init(
            name: String, value: String?, readOnly: Bool = false, configSource: KafkaConfigSource = .unknown,
            isSensitive: Bool = false, synonyms: [DescribeConfigsSynonym] = [], configType: Int8 = 0,
            documentation: String? = nil
        ) {
            self.name = name
            self.value = value
            self.readOnly = readOnly
            self.configSource = configSource
            self.isSensitive = isSensitive
            self.synonyms = synonyms
            self.configType = configType
            self.documentation = documentation
        }
    }

    /// One entry of `Results` (schema type `DescribeConfigsResult`).
    public struct DescribeConfigsResult: Hashable, Sendable {
        /// `ErrorCode`: why the resource could not be described, or 0.
        public var errorCode: Int16
        /// `ErrorMessage`: the broker's sentence about the error, or nil.
        public var errorMessage: String?
        /// `ResourceType`: what `resourceName` names.
        public var resourceType: KafkaConfigResourceType
        /// `ResourceName`: the topic name or broker id.
        public var resourceName: String
        /// `Configs`: the entries.
        public var configs: [DescribeConfigsResourceResult]

        /// Creates a result; defaults are the schema's.
        public init(
            errorCode: Int16 = 0, errorMessage: String? = nil, resourceType: KafkaConfigResourceType,
            resourceName: String, configs: [DescribeConfigsResourceResult] = []
        ) {
            self.errorCode = errorCode
            self.errorMessage = errorMessage
            self.resourceType = resourceType
            self.resourceName = resourceName
            self.configs = configs
        }
    }

    /// `ThrottleTimeMs`: how long the request was throttled by a quota, in ms.
    public var throttleTimeMs: Int32
    /// `Results`: one per resource asked for.
    public var results: [DescribeConfigsResult]

    /// Creates a response.
    public init(throttleTimeMs: Int32 = 0, results: [DescribeConfigsResult] = []) {
        self.throttleTimeMs = throttleTimeMs
        self.results = results
    }

    public static func read(from buffer: inout ByteBuffer, version: Int16) throws -> DescribeConfigsResponse {
        try checkVersion(version)
        return try withKafkaLocation("DescribeConfigsResponse v\(version) ") {
            try readBody(from: &buffer, version: version)
        }
    }

    private static func readBody(from buffer: inout ByteBuffer, version: Int16) throws -> DescribeConfigsResponse {
        let flexible = isFlexible(version)
        let size = MinimumEncodedSize(flexible: flexible)
        var response = DescribeConfigsResponse()
        response.throttleTimeMs = try buffer.readKafkaInteger(at: ".ThrottleTimeMs")
        let synonymSize = 2 * size.string + 1 + size.tags
        let entrySize = 2 * size.string + 3 + size.array + (version >= 3 ? 1 + size.string : 0) + size.tags
        response.results = try buffer.readKafkaArray(
            flexible: flexible, minimumElementSize: 2 + 2 * size.string + 1 + size.array + size.tags, at: ".Results"
        ) { element in
            let errorCode = try element.readKafkaInteger(as: Int16.self, at: ".ErrorCode")
            let errorMessage = try element.readKafkaNullableString(flexible: flexible, at: ".ErrorMessage")
            let resourceType = try element.readKafkaInteger(as: Int8.self, at: ".ResourceType")
            let resourceName = try element.readKafkaString(flexible: flexible, at: ".ResourceName")
            let configs = try element.readKafkaArray(
                flexible: flexible, minimumElementSize: entrySize, at: ".Configs"
            ) { element in
                var entry = DescribeConfigsResourceResult(name: "", value: nil)
                entry.name = try element.readKafkaString(flexible: flexible, at: ".Name")
                entry.value = try element.readKafkaNullableString(flexible: flexible, at: ".Value")
                entry.readOnly = try element.readKafkaBool(at: ".ReadOnly")
                entry.configSource = KafkaConfigSource(
                    rawValue: try element.readKafkaInteger(as: Int8.self, at: ".ConfigSource"))
                entry.isSensitive = try element.readKafkaBool(at: ".IsSensitive")
                entry.synonyms = try element.readKafkaArray(
                    flexible: flexible, minimumElementSize: synonymSize, at: ".Synonyms"
                ) { element in
                    let name = try element.readKafkaString(flexible: flexible, at: ".Name")
                    let value = try element.readKafkaNullableString(flexible: flexible, at: ".Value")
                    let source = try element.readKafkaInteger(as: Int8.self, at: ".Source")
                    if flexible { try element.readKafkaTaggedFields(at: "") }
                    return DescribeConfigsSynonym(name: name, value: value, source: KafkaConfigSource(rawValue: source))
                }
                if version >= 3 {
                    entry.configType = try element.readKafkaInteger(at: ".ConfigType")
                    entry.documentation = try element.readKafkaNullableString(flexible: flexible, at: ".Documentation")
                }
                if flexible { try element.readKafkaTaggedFields(at: "") }
                return entry
            }
            if flexible { try element.readKafkaTaggedFields(at: "") }
            return DescribeConfigsResult(
                errorCode: errorCode, errorMessage: errorMessage,
                resourceType: KafkaConfigResourceType(rawValue: resourceType), resourceName: resourceName,
                configs: configs)
        }
        if flexible { try buffer.readKafkaTaggedFields(at: "") }
        return response
    }

    /// Appends the body for `version` (what a broker does). Fields the version cannot carry
    /// (`configType`, `documentation` below v3) are left out, as a broker leaves them out.
    public func write(into buffer: inout ByteBuffer, version: Int16) throws {
        try Self.checkVersion(version)
        let flexible = Self.isFlexible(version)
        func location(_ path: String) -> String { "DescribeConfigsResponse v\(version) \(path)" }
        buffer.writeInteger(throttleTimeMs)
        buffer.writeKafkaArrayCount(results.count, flexible: flexible)
        for (index, result) in results.enumerated() {
            let place = ".Results[\(index)]"
            buffer.writeInteger(result.errorCode)
            try buffer.writeKafkaString(
                result.errorMessage, flexible: flexible, nullable: true, at: location(place + ".ErrorMessage"))
            buffer.writeInteger(result.resourceType.rawValue)
            try buffer.writeKafkaString(
                result.resourceName, flexible: flexible, nullable: false, at: location(place + ".ResourceName"))
            buffer.writeKafkaArrayCount(result.configs.count, flexible: flexible)
            for (entryIndex, entry) in result.configs.enumerated() {
                let entryPlace = place + ".Configs[\(entryIndex)]"
                try buffer.writeKafkaString(
                    entry.name, flexible: flexible, nullable: false, at: location(entryPlace + ".Name"))
                try buffer.writeKafkaString(
                    entry.value, flexible: flexible, nullable: true, at: location(entryPlace + ".Value"))
                buffer.writeKafkaBool(entry.readOnly)
                buffer.writeInteger(entry.configSource.rawValue)
                buffer.writeKafkaBool(entry.isSensitive)
                buffer.writeKafkaArrayCount(entry.synonyms.count, flexible: flexible)
                for (synonymIndex, synonym) in entry.synonyms.enumerated() {
                    let synonymPlace = entryPlace + ".Synonyms[\(synonymIndex)]"
                    try buffer.writeKafkaString(
                        synonym.name, flexible: flexible, nullable: false, at: location(synonymPlace + ".Name"))
                    try buffer.writeKafkaString(
                        synonym.value, flexible: flexible, nullable: true, at: location(synonymPlace + ".Value"))
                    buffer.writeInteger(synonym.source.rawValue)
                    buffer.writeKafkaTaggedFieldsIfFlexible(flexible)
                }
                if version >= 3 {
                    buffer.writeInteger(entry.configType)
                    try buffer.writeKafkaString(
                        entry.documentation, flexible: flexible, nullable: true,
                        at: location(entryPlace + ".Documentation"))
                }
                buffer.writeKafkaTaggedFieldsIfFlexible(flexible)
            }
            buffer.writeKafkaTaggedFieldsIfFlexible(flexible)
        }
        buffer.writeKafkaTaggedFieldsIfFlexible(flexible)
    }
}
