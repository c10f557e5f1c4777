import KafkaWire

/// Reading and writing the settings under the Java producer's property names.
///
/// Every supported key is one row of `KafkaProducerConfiguration.propertyTable`.
///
/// * Values are trimmed of surrounding whitespace, as Java's `ConfigDef` does. Numbers must fit
///   the Java type of the key (`int` or `long`); Booleans are `true`/`false` in any case.
/// * Unknown keys are errors (Java only warns), so typos do not go unnoticed.
/// * Java keys whose behaviour this producer does not have yet (`transactional.id`, the `ssl.*`
///   and `sasl.*` keys beyond those of `KafkaProducerConfiguration+Security.swift`, serializer and
///   interceptor classes, …) are errors saying "… is not supported yet".
/// * Secrets (`sasl.password`, `sasl.jaas.config`, `ssl.key.password`, `ssl.keystore.key`) are
///   accepted but never read back by `properties`, and no error message repeats a value given
///   for an unknown key.
/// * `partitioner.class` (a Java class name) is rejected; `partitioner` takes
///   `murmur2_round_robin`, `murmur2_sticky`, `consistent` or `consistent_random`.
/// * `compression.gzip.level`, `compression.lz4.level` and `compression.zstd.level` are each
///   range-checked for their codec, as Java does, whichever codec is chosen. Only the chosen
///   codec's level is used, and only that one is stored (`KafkaCompression.level`): a level for
///   another codec is checked and then dropped, so `properties` reports only the chosen
///   codec's level. `init(properties:)` applies `compression.type` before the levels, so the
///   order of keys does not matter there; with `set(_:_:)`, set `compression.type` first.
///   Changing `compression.type` keeps the level only when the codec stays the same.
/// * `partitioner.adaptive.partitioning.enable` and `partitioner.availability.timeout.ms` are
///   checked (Boolean; `long` ≥ 0) and not honoured: without load statistics Java's adaptive
///   partitioner picks uniformly among partitions with a leader, which is what
///   `.murmur2UniformSticky` does, and no partition is excluded for a slow leader.
extension KafkaProducerConfiguration {
    /// Reads the settings from Java producer properties and validates them.
    ///
    /// Starts from the defaults, applies every pair, then mirrors the Java client's
    /// post-processing of keys that were (not) given:
    /// * `reconnect.backoff.ms` given without `reconnect.backoff.max.ms`: the maximum becomes
    ///   the backoff, i.e. no exponential growth (`CommonClientConfigs.postProcessReconnectBackoffConfigs`).
    /// * `enable.idempotence` not given while `acks` is not `all`, `retries` is 0 or
    ///   `max.in.flight.requests.per.connection` is above 5: idempotence is turned off
    ///   (`ProducerConfig.postProcessAndValidateIdempotenceConfigs`); given as true, `validate()`
    ///   rejects the combination.
    /// * `delivery.timeout.ms` not given and the default below `linger.ms` +
    ///   `request.timeout.ms`: it is raised to that sum (`KafkaProducer.configureDeliveryTimeout`);
    ///   given explicitly, `validate()` rejects it.
    ///
    /// - Throws: `KafkaProducerError` with code `.invalidConfiguration` naming the key (and
    ///   value) for an unknown, unsupported or malformed setting, a missing
    ///   `bootstrap.servers`, or any contradiction `validate()` finds.
    public init(properties: [String: String]) throws {
        guard let servers = properties[Self.bootstrapServersKey] else {
            throw KafkaProducerError(
                .invalidConfiguration, "Missing required setting bootstrap.servers (a comma list of host:port)")
        }
        self.init(bootstrapServers: try Self.parseBootstrapServers(servers))
        // Table order: compression.type precedes the levels.
        for property in Self.propertyTable {
            if let value = properties[property.name] { try property.apply(&self, value) }
        }
        for name in properties.keys.sorted() where Self.propertyIndex[name] == nil {
            try Self.rejectUnsupported(name: name, value: properties[name]!)
        }
        if properties["reconnect.backoff.ms"] != nil && properties["reconnect.backoff.max.ms"] == nil {
            reconnectBackoffMax = reconnectBackoff
        }
        if properties["enable.idempotence"] == nil
            && (acks != .all || retries == 0
                || maxInFlightRequestsPerConnection > Self.maxInFlightRequestsForIdempotence)
        {
            enableIdempotence = false
        }
        if properties["delivery.timeout.ms"] == nil {
            let floor = Self.cappedSumMilliseconds(linger, requestTimeout)
            if Self.milliseconds(deliveryTimeout) < floor { deliveryTimeout = .milliseconds(floor) }
        }
        try validate()
    }

    /// Sets one setting by its Java name. Checks the value's form and the key's Java range;
    /// combinations are left to `validate()`.
    ///
    /// - Throws: `KafkaProducerError(.invalidConfiguration)` naming the key (and value) when the
    ///   key is unknown or unsupported or the value malformed.
    public mutating func set(_ name: String, _ value: String) throws {
        guard let index = Self.propertyIndex[name] else {
            try Self.rejectUnsupported(name: name, value: value)
            return
        }
        try Self.propertyTable[index].apply(&self, value)
    }

    /// The effective settings under their Java names, values formatted as Java properties
    /// (durations in milliseconds). `KafkaProducerConfiguration(properties: properties)`
    /// reproduces these settings. Settings that are checked but not stored (another codec's
    /// level, the adaptive partitioning keys) are not listed.
    public var properties: [String: String] {
        var result: [String: String] = [:]
        for property in Self.propertyTable {
            if let value = property.read(self) { result[property.name] = value }
        }
        return result
    }
}

// MARK: - The table

extension KafkaProducerConfiguration {
    /// One supported key: how a value is applied and how the current value reads back.
    struct Property: Sendable {
        let name: String
        let apply: @Sendable (inout KafkaProducerConfiguration, String) throws -> Void
        let read: @Sendable (KafkaProducerConfiguration) -> String?
    }

    static let bootstrapServersKey = "bootstrap.servers"

    /// Every supported Java property, in the order `init(properties:)` applies them.
    static let propertyTable: [Property] = coreProperties + securityProperties

    static let coreProperties: [Property] = [
        Property(
            name: bootstrapServersKey, apply: { $0.bootstrapServers = try parseBootstrapServers($1) },
            read: { $0.bootstrapServers.map(\.description).joined(separator: ",") }),
        Property(name: "client.id", apply: { $0.clientId = $1 }, read: { $0.clientId }),
        Property(name: "acks", apply: { $0.acks = try parseAcks($1) }, read: { $0.acks.description }),
        duration("linger.ms", \.linger, javaType: .long),
        integer("batch.size", \.batchSize, javaType: .int, minimum: 0),
        integer("buffer.memory", \.bufferMemory, javaType: .long, minimum: 0),
        duration("max.block.ms", \.maxBlock, javaType: .long),
        integer("max.request.size", \.maxRequestSize, javaType: .int, minimum: 0),
        duration("request.timeout.ms", \.requestTimeout, javaType: .int),
        duration("delivery.timeout.ms", \.deliveryTimeout, javaType: .int),
        integer("retries", \.retries, javaType: .int, minimum: 0),
        duration("retry.backoff.ms", \.retryBackoff, javaType: .long),
        duration("retry.backoff.max.ms", \.retryBackoffMax, javaType: .long),
        duration("reconnect.backoff.ms", \.reconnectBackoff, javaType: .long),
        duration("reconnect.backoff.max.ms", \.reconnectBackoffMax, javaType: .long),
        duration("socket.connection.setup.timeout.ms", \.socketConnectionSetupTimeout, javaType: .long),
        integer(
            "max.in.flight.requests.per.connection", \.maxInFlightRequestsPerConnection, javaType: .int, minimum: 1),
        // Java has no lower bound here: a negative value means idle connections are never closed.
        duration("connections.max.idle.ms", \.connectionsMaxIdle, javaType: .long, minimum: nil),
        duration("metadata.max.age.ms", \.metadataMaxAge, javaType: .long),
        duration("metadata.max.idle.ms", \.metadataMaxIdle, javaType: .long, minimum: 5000),
        Property(
            name: "compression.type",
            apply: { config, value in
                guard let codec = KafkaCompression.Codec(name: trimmed(value)) else {
                    throw invalidValue(
                        "compression.type", value, expected: "one of none, gzip, snappy, lz4, zstd")
                }
                if codec != config.compression.codec { config.compression = KafkaCompression(codec: codec) }
            },
            read: { $0.compression.codec.description }),
        compressionLevel(.gzip),
        compressionLevel(.lz4),
        compressionLevel(.zstd),
        Property(
            name: "partitioner", apply: { $0.partitioner = try parsePartitioner($1) },
            read: { $0.partitioner.propertyValue }),
        Property(
            name: "partitioner.ignore.keys",
            apply: { $0.partitionerIgnoreKeys = try parseBoolean("partitioner.ignore.keys", $1) },
            read: { String($0.partitionerIgnoreKeys) }),
        // Checked, not honoured (see the extension's documentation).
        Property(
            name: "partitioner.adaptive.partitioning.enable",
            apply: { _ = try parseBoolean("partitioner.adaptive.partitioning.enable", $1) }, read: { _ in nil }),
        Property(
            name: "partitioner.availability.timeout.ms",
            apply: { _ = try parseInteger("partitioner.availability.timeout.ms", $1, javaType: .long, minimum: 0) },
            read: { _ in nil }),
        Property(
            name: "enable.idempotence",
            apply: { $0.enableIdempotence = try parseBoolean("enable.idempotence", $1) },
            read: { String($0.enableIdempotence) }),
    ]

    /// Row index by name.
    static let propertyIndex: [String: Int] = Dictionary(
        uniqueKeysWithValues: propertyTable.enumerated().map { ($0.element.name, $0.offset) })

    /// Every key `init(properties:)` and `set(_:_:)` accept, including those `properties` does
    /// not list (unset ones, and secrets).
    public static var propertyNames: [String] { propertyTable.map(\.name) }

    /// Java producer keys this producer does not implement yet (besides other `ssl.*` and `sasl.*` ones).
    static let unsupportedJavaKeys: Set<String> = [
        "transactional.id", "transaction.timeout.ms", "transaction.two.phase.commit.enable",
        "key.serializer", "value.serializer", "interceptor.classes", "security.providers",
        "client.dns.lookup", "send.buffer.bytes", "receive.buffer.bytes",
        "socket.connection.setup.timeout.max.ms", "metadata.recovery.strategy",
        "metadata.recovery.rebootstrap.trigger.ms", "metric.reporters", "metrics.sample.window.ms",
        "metrics.num.samples", "metrics.recording.level", "enable.metrics.push", "auto.include.jmx.reporter",
        "config.providers",
    ]

    /// Throws the error for a key that is not in the table.
    static func rejectUnsupported(name: String, value: String) throws {
        if name == "partitioner.class" {
            throw KafkaProducerError(
                .invalidConfiguration,
                "partitioner.class is not supported (Java partitioner classes cannot be loaded); use "
                    + "partitioner=\(KafkaPartitionerStrategy.propertyValues.joined(separator: "|"))")
        }
        if unsupportedJavaKeys.contains(name) || name.hasPrefix("ssl.") || name.hasPrefix("sasl.") {
            throw KafkaProducerError(.invalidConfiguration, "\(name) is not supported yet")
        }
        // The value is not repeated: a misspelt key may hold a password.
        throw KafkaProducerError(.invalidConfiguration, "Unknown producer setting \(name)")
    }
}

// MARK: - Row builders and parsers

extension KafkaProducerConfiguration {
    /// The Java type of a numeric key, which bounds its values.
    enum JavaType: Sendable {
        case int, long

        var range: ClosedRange<Int64> {
            switch self {
            case .int: Int64(Int32.min)...Int64(Int32.max)
            case .long: Int64.min...Int64.max
            }
        }
    }

    static func integer(
        _ name: String, _ keyPath: WritableKeyPath<KafkaProducerConfiguration, Int> & Sendable, javaType: JavaType,
        minimum: Int64
    ) -> Property {
        Property(
            name: name,
            apply: { config, value in
                config[keyPath: keyPath] = Int(try parseInteger(name, value, javaType: javaType, minimum: minimum))
            },
            read: { String($0[keyPath: keyPath]) })
    }

    /// A duration in milliseconds; `minimum` nil for keys without a lower bound.
    static func duration(
        _ name: String, _ keyPath: WritableKeyPath<KafkaProducerConfiguration, Duration> & Sendable,
        javaType: JavaType, minimum: Int64? = 0
    ) -> Property {
        Property(
            name: name,
            apply: { config, value in
                config[keyPath: keyPath] = .milliseconds(
                    try parseInteger(name, value, javaType: javaType, minimum: minimum))
            },
            read: { String(milliseconds($0[keyPath: keyPath])) })
    }

    static func compressionLevel(_ codec: KafkaCompression.Codec) -> Property {
        let name = "compression.\(codec).level"
        return Property(
            name: name,
            apply: { config, value in
                let level = Int(try parseInteger(name, value, javaType: .int, minimum: nil))
                if let range = codec.levelRange, !range.contains(level) {
                    throw KafkaProducerError(
                        .invalidConfiguration,
                        "Invalid value \(value) for \(name): must be in \(range.lowerBound)...\(range.upperBound)")
                }
                if config.compression.codec == codec { config.compression.level = level }
            },
            read: { config in config.compression.codec == codec ? config.compression.level.map(String.init) : nil })
    }

    static func trimmed(_ value: String) -> String {
        String(value.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }

    static func invalidValue(_ name: String, _ value: String, expected: String) -> KafkaProducerError {
        KafkaProducerError(.invalidConfiguration, "Invalid value '\(value)' for \(name): expected \(expected)")
    }

    static func parseInteger(_ name: String, _ value: String, javaType: JavaType, minimum: Int64?) throws -> Int64 {
        let typeName = javaType == .int ? "a 32-bit integer" : "a 64-bit integer"
        guard let number = Int64(trimmed(value)), javaType.range.contains(number) else {
            throw invalidValue(name, value, expected: typeName)
        }
        if let minimum, number < minimum {
            throw KafkaProducerError(.invalidConfiguration, "Invalid value \(value) for \(name): must be >= \(minimum)")
        }
        return number
    }

    static func parseBoolean(_ name: String, _ value: String) throws -> Bool {
        switch trimmed(value).lowercased() {
        case "true": return true
        case "false": return false
        default: throw invalidValue(name, value, expected: "true or false")
        }
    }

    /// `acks`: `all`, `-1`, `0` or `1`, as Java accepts them.
    static func parseAcks(_ value: String) throws -> KafkaAcks {
        switch trimmed(value) {
        case "all", "-1": return .all
        case "1": return .leader
        case "0": return .none
        default: throw invalidValue("acks", value, expected: "one of all, -1, 0, 1")
        }
    }

    static func parsePartitioner(_ value: String) throws -> KafkaPartitionerStrategy {
        let name = trimmed(value)
        if let strategy = KafkaPartitionerStrategy(propertyValue: name) { return strategy }
        var message =
            "Invalid value '\(value)' for partitioner: expected one of "
            + KafkaPartitionerStrategy.propertyValues.joined(separator: ", ")
        if ["murmur2", "murmur2_random", "random", "fnv1a", "fnv1a_random"].contains(name) {
            message +=
                " (librdkafka's \(name) is not supported; murmur2_sticky places records as Java's default "
                + "partitioner does)"
        }
        throw KafkaProducerError(.invalidConfiguration, message)
    }

    /// `bootstrap.servers`: a comma list of `host:port`, IPv6 hosts in brackets
    /// (`[::1]:9092`). Whitespace around entries and empty entries are ignored; duplicates and
    /// an empty list are errors (Java 4.x).
    static func parseBootstrapServers(_ value: String) throws -> [KafkaBrokerAddress] {
        var addresses: [KafkaBrokerAddress] = []
        for entry in value.split(separator: ",", omittingEmptySubsequences: false).map({ trimmed(String($0)) })
        where !entry.isEmpty {
            guard let address = parseBrokerAddress(entry) else {
                throw KafkaProducerError(
                    .invalidConfiguration,
                    "Invalid url in bootstrap.servers: '\(entry)' (expected host:port, or [ipv6]:port)")
            }
            if addresses.contains(address) {
                throw KafkaProducerError(.invalidConfiguration, "bootstrap.servers lists \(entry) twice")
            }
            addresses.append(address)
        }
        guard !addresses.isEmpty else {
            throw KafkaProducerError(
                .invalidConfiguration, "bootstrap.servers='\(value)' holds no host:port")
        }
        return addresses
    }

    static func parseBrokerAddress(_ entry: String) -> KafkaBrokerAddress? {
        guard let colon = entry.lastIndex(of: ":") else { return nil }
        var host = entry[..<colon]
        let portText = entry[entry.index(after: colon)...]
        guard !portText.isEmpty, portText.allSatisfy(\.isASCII), portText.allSatisfy(\.isNumber),
            let port = Int(portText), (0...65535).contains(port)
        else { return nil }
        if host.hasPrefix("[") {
            guard host.hasSuffix("]"), host.count > 2 else { return nil }
            host = host.dropFirst().dropLast()
        } else if host.contains(":") {
            return nil  // an IPv6 address needs brackets
        }
        guard !host.isEmpty, !host.contains(where: { $0.isWhitespace || $0 == "[" || $0 == "]" }) else {
            return nil
        }
        return KafkaBrokerAddress(host: String(host), port: port)
    }

    /// Whole milliseconds of a duration (sub-millisecond parts truncated).
    static func milliseconds(_ duration: Duration) -> Int64 {
        duration.milliseconds
    }

    /// `linger.ms + request.timeout.ms` in milliseconds, capped at `Int32.max` as Java does.
    static func cappedSumMilliseconds(_ linger: Duration, _ requestTimeout: Duration) -> Int64 {
        let (sum, overflow) = milliseconds(linger).addingReportingOverflow(milliseconds(requestTimeout))
        return overflow ? Int64(Int32.max) : min(sum, Int64(Int32.max))
    }
}

extension KafkaPartitionerStrategy {
    /// The accepted `partitioner` values.
    static let propertyValues = ["murmur2_round_robin", "murmur2_sticky", "consistent", "consistent_random"]

    /// The `partitioner` value naming this strategy.
    var propertyValue: String {
        switch self {
        case .murmur2RoundRobin: "murmur2_round_robin"
        case .murmur2UniformSticky: "murmur2_sticky"
        case .consistent: "consistent"
        case .consistentRandom: "consistent_random"
        }
    }

    init?(propertyValue: String) {
        switch propertyValue {
        case "murmur2_round_robin": self = .murmur2RoundRobin
        case "murmur2_sticky": self = .murmur2UniformSticky
        case "consistent": self = .consistent
        case "consistent_random": self = .consistentRandom
        default: return nil
        }
    }
}
