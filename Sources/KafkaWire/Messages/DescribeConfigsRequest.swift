import NIOCore

/// DescribeConfigs request (key 32), v1–v4: the configuration of topics and brokers.
///
/// v0 is not written: Kafka 4.0 removed it and every broker from 2.0 on takes v1. BROKER
/// resources name the broker id as a string and must be sent to that broker itself (any broker
/// answers for topics). The reader exists for brokers (test brokers decode what they are asked).
public struct DescribeConfigsRequest: KafkaRequestMessage, Hashable {
    public static let apiKey = KafkaApiKey.describeConfigs
    public static let supportedVersions: ClosedRange<Int16> = 1...4
    public static let firstFlexibleVersion: Int16? = 4

    /// One entry of `Resources` (schema type `DescribeConfigsResource`).
    public struct DescribeConfigsResource: Hashable, Sendable {
        /// `ResourceType`: what `resourceName` names.
        public var resourceType: KafkaConfigResourceType
        /// `ResourceName`: the topic name, or the broker id in decimal.
        public var resourceName: String
        /// `ConfigurationKeys`: the keys to describe, or nil for all of them.
        public var configurationKeys: [String]?

        /// Creates a resource entry; all keys by default.
        public init(resourceType: KafkaConfigResourceType, resourceName: String, configurationKeys: [String]? = nil) {
            self.resourceType = resourceType
            self.resourceName = resourceName
            self.configurationKeys = configurationKeys
        }
    }

    /// `Resources`: what to describe.
    public var resources: [DescribeConfigsResource]
    /// `IncludeSynonyms` (v1+): whether each entry lists the settings it stands for (the
    /// broker's `log.retention.ms` behind a topic's `retention.ms`, …).
    public var includeSynonyms: Bool
    /// `IncludeDocumentation` (v3+): whether each entry carries its documentation. Below v3 only
    /// false can be sent.
    public var includeDocumentation: Bool

    /// Creates a request; defaults are the schema's.
    public init(
        resources: [DescribeConfigsResource], includeSynonyms: Bool = false, includeDocumentation: Bool = false
    ) {
        self.resources = resources
        self.includeSynonyms = includeSynonyms
        self.includeDocumentation = includeDocumentation
    }

    public func write(into buffer: inout ByteBuffer, version: Int16) throws {
        try Self.checkVersion(version)
        let flexible = Self.isFlexible(version)
        func location(_ path: String) -> String { "DescribeConfigsRequest v\(version) \(path)" }
        buffer.writeKafkaArrayCount(resources.count, flexible: flexible)
        for (index, resource) in resources.enumerated() {
            buffer.writeInteger(resource.resourceType.rawValue)
            try buffer.writeKafkaString(
                resource.resourceName, flexible: flexible, nullable: false,
                at: location(".Resources[\(index)].ResourceName"))
            if let keys = resource.configurationKeys {
                buffer.writeKafkaArrayCount(keys.count, flexible: flexible)
                for (keyIndex, key) in keys.enumerated() {
                    try buffer.writeKafkaString(
                        key, flexible: flexible, nullable: false,
                        at: location(".Resources[\(index)].ConfigurationKeys[\(keyIndex)]"))
                }
            } else {
                buffer.writeKafkaArrayCount(nil, flexible: flexible)
            }
            buffer.writeKafkaTaggedFieldsIfFlexible(flexible)
        }
        buffer.writeKafkaBool(includeSynonyms)
        if version >= 3 {
            buffer.writeKafkaBool(includeDocumentation)
        } else if includeDocumentation {
            throw KafkaWireError(
                .invalidValue, "documentation can only be asked for from v3",
                location: location(".IncludeDocumentation"))
        }
        buffer.writeKafkaTaggedFieldsIfFlexible(flexible)
    }

    /// Decodes a request body at `version` (what a broker does), leaving any bytes after it unread.
    public static func read(from buffer: inout ByteBuffer, version: Int16) throws -> DescribeConfigsRequest {
        try checkVersion(version)
        return try withKafkaLocation("DescribeConfigsRequest v\(version) ") {
            let flexible = isFlexible(version)
            let size = MinimumEncodedSize(flexible: flexible)
            let resources = try buffer.readKafkaArray(
                flexible: flexible, minimumElementSize: 1 + size.string + size.array + size.tags, at: ".Resources"
            ) { element in
                let type = try element.readKafkaInteger(as: Int8.self, at: ".ResourceType")
                let name = try element.readKafkaString(flexible: flexible, at: ".ResourceName")
                let keys = try element.readKafkaNullableArray(
                    flexible: flexible, minimumElementSize: size.string, at: ".ConfigurationKeys"
                ) { try $0.readKafkaString(flexible: flexible, at: "") }
                if flexible { try element.readKafkaTaggedFields(at: "") }
                return DescribeConfigsResource(
                    resourceType: KafkaConfigResourceType(rawValue: type), resourceName: name, configurationKeys: keys)
            }
            let includeSynonyms = try buffer.readKafkaBool(at: ".IncludeSynonyms")
            let includeDocumentation = version >= 3 ? try buffer.readKafkaBool(at: ".IncludeDocumentation") : false
            if flexible { try buffer.readKafkaTaggedFields(at: "") }
            return DescribeConfigsRequest(
                resources: resources, includeSynonyms: includeSynonyms, includeDocumentation: includeDocumentation)
        }
    }
}
