import Foundation
import KafkaWire
import Testing

@testable import KafkaClient

@Suite("KafkaProducerConfiguration: Java properties")
struct KafkaProducerConfigurationPropertiesTests {
    static let bootstrap = ["bootstrap.servers": "localhost:9092"]

    static func configuration(_ extra: [String: String]) throws -> KafkaProducerConfiguration {
        try KafkaProducerConfiguration(properties: bootstrap.merging(extra) { $1 })
    }

    /// One key, a value, and a check that the value arrived.
    struct Case: CustomTestStringConvertible, Sendable {
        var key: String
        var value: String
        var check: @Sendable (KafkaProducerConfiguration) -> Bool
        var testDescription: String { "\(key)=\(value)" }
    }

    static let cases: [Case] = [
        Case(key: "bootstrap.servers", value: " a:1 , [::1]:9092,b.example:9093 ") {
            $0.bootstrapServers == [
                KafkaBrokerAddress(host: "a", port: 1), KafkaBrokerAddress(host: "::1", port: 9092),
                KafkaBrokerAddress(host: "b.example", port: 9093),
            ]
        },
        Case(key: "client.id", value: "shipper-1") { $0.clientId == "shipper-1" },
        Case(key: "acks", value: "0") { $0.acks == KafkaAcks.none },
        Case(key: "acks", value: "1") { $0.acks == .leader },
        Case(key: "acks", value: "-1") { $0.acks == .all },
        Case(key: "acks", value: "all") { $0.acks == .all },
        Case(key: "linger.ms", value: "250") { $0.linger == .milliseconds(250) },
        Case(key: "batch.size", value: "65536") { $0.batchSize == 65536 },
        Case(key: "buffer.memory", value: "67108864") { $0.bufferMemory == 67_108_864 },
        Case(key: "max.block.ms", value: "1500") { $0.maxBlock == .milliseconds(1500) },
        Case(key: "max.request.size", value: "2097152") { $0.maxRequestSize == 2_097_152 },
        Case(key: "request.timeout.ms", value: "15000") { $0.requestTimeout == .seconds(15) },
        Case(key: "delivery.timeout.ms", value: "200000") { $0.deliveryTimeout == .seconds(200) },
        Case(key: "retries", value: "3") { $0.retries == 3 },
        Case(key: "retry.backoff.ms", value: "250") { $0.retryBackoff == .milliseconds(250) },
        Case(key: "retry.backoff.max.ms", value: "5000") { $0.retryBackoffMax == .seconds(5) },
        Case(key: "reconnect.backoff.ms", value: "20") {
            $0.reconnectBackoff == .milliseconds(20) && $0.reconnectBackoffMax == .milliseconds(20)
        },
        Case(key: "reconnect.backoff.max.ms", value: "9000") { $0.reconnectBackoffMax == .seconds(9) },
        Case(key: "socket.connection.setup.timeout.ms", value: "3000") {
            $0.socketConnectionSetupTimeout == .seconds(3)
        },
        Case(key: "max.in.flight.requests.per.connection", value: "1") { $0.maxInFlightRequestsPerConnection == 1 },
        Case(key: "connections.max.idle.ms", value: "60000") { $0.connectionsMaxIdle == .seconds(60) },
        Case(key: "connections.max.idle.ms", value: "-1") { $0.connectionsMaxIdle == .milliseconds(-1) },
        Case(key: "metadata.max.age.ms", value: "10000") { $0.metadataMaxAge == .seconds(10) },
        Case(key: "metadata.max.idle.ms", value: "5000") { $0.metadataMaxIdle == .seconds(5) },
        Case(key: "compression.type", value: "none") { $0.compression == .none },
        Case(key: "compression.type", value: "gzip") { $0.compression == KafkaCompression(codec: .gzip, level: -1) },
        Case(key: "compression.type", value: "snappy") { $0.compression == .snappy },
        Case(key: "compression.type", value: "lz4") { $0.compression == KafkaCompression(codec: .lz4, level: 9) },
        Case(key: "compression.type", value: "zstd") { $0.compression == KafkaCompression(codec: .zstd, level: 3) },
        // A level for a codec that is not chosen is checked and then not used.
        Case(key: "compression.gzip.level", value: "9") { $0.compression == .none },
        Case(key: "compression.lz4.level", value: "17") { $0.compression == .none },
        Case(key: "compression.zstd.level", value: "-5") { $0.compression == .none },
        Case(key: "partitioner", value: "murmur2_round_robin") { $0.partitioner == .murmur2RoundRobin },
        Case(key: "partitioner", value: "murmur2_sticky") { $0.partitioner == .murmur2UniformSticky },
        Case(key: "partitioner", value: "consistent") { $0.partitioner == .consistent },
        Case(key: "partitioner", value: "consistent_random") { $0.partitioner == .consistentRandom },
        Case(key: "partitioner.ignore.keys", value: "true") { $0.partitionerIgnoreKeys },
        Case(key: "partitioner.ignore.keys", value: "FALSE") { !$0.partitionerIgnoreKeys },
        Case(key: "partitioner.adaptive.partitioning.enable", value: "false") { _ in true },
        Case(key: "partitioner.availability.timeout.ms", value: "100") { _ in true },
        Case(key: "enable.idempotence", value: "false") { !$0.enableIdempotence },
        Case(key: "enable.idempotence", value: "TRUE") { $0.enableIdempotence },
        Case(key: "security.protocol", value: "plaintext") { _ in true },
    ]

    @Test("every supported key is parsed", arguments: cases)
    func parsesKey(_ testCase: Case) throws {
        let configuration = try Self.configuration([testCase.key: testCase.value])
        #expect(testCase.check(configuration))
        var viaSet = try Self.configuration([:])
        try viaSet.set(testCase.key, testCase.value)
        if testCase.key != "reconnect.backoff.ms" {  // set() does not post-process
            #expect(testCase.check(viaSet))
        }
    }

    /// The security keys have their own cases (SecurityConfigurationTests).
    @Test("the table covers every key the tests parse")
    func tableCoversCases() {
        let tested = Set(Self.cases.map(\.key))
        let table = Set(KafkaProducerConfiguration.coreProperties.map(\.name)).union(["security.protocol"])
        #expect(tested == table)
    }

    @Test("compression levels apply to the codec they name, in any key order")
    func compressionLevels() throws {
        let zstd = try Self.configuration(["compression.zstd.level": "7", "compression.type": "zstd"])
        #expect(zstd.compression == KafkaCompression(codec: .zstd, level: 7))
        let gzip = try Self.configuration([
            "compression.type": "gzip", "compression.gzip.level": "1", "compression.lz4.level": "12",
        ])
        #expect(gzip.compression == KafkaCompression(codec: .gzip, level: 1))
        #expect(gzip.properties["compression.gzip.level"] == "1")
        #expect(gzip.properties["compression.lz4.level"] == nil)

        var configuration = try Self.configuration([:])
        try configuration.set("compression.type", "lz4")
        try configuration.set("compression.lz4.level", "3")
        try configuration.set("compression.type", "lz4")  // same codec: level kept
        #expect(configuration.compression == KafkaCompression(codec: .lz4, level: 3))
        try configuration.set("compression.type", "zstd")  // other codec: its default level
        #expect(configuration.compression == KafkaCompression(codec: .zstd, level: 3))
    }

    @Test("defaults equal the Java 4.x producer's (PROTOCOL-NOTES §8)")
    func javaDefaults() throws {
        let properties = try Self.configuration([:]).properties
        let expected: [String: String] = [
            "bootstrap.servers": "localhost:9092",
            "client.id": "",
            "acks": "all",
            "linger.ms": "5",
            "batch.size": "16384",
            "buffer.memory": "33554432",
            "max.block.ms": "60000",
            "max.request.size": "1048576",
            "request.timeout.ms": "30000",
            "delivery.timeout.ms": "120000",
            "retries": "2147483647",
            "retry.backoff.ms": "100",
            "retry.backoff.max.ms": "1000",
            "reconnect.backoff.ms": "50",
            "reconnect.backoff.max.ms": "1000",
            "socket.connection.setup.timeout.ms": "10000",
            "max.in.flight.requests.per.connection": "5",
            "connections.max.idle.ms": "540000",
            "metadata.max.age.ms": "300000",
            "metadata.max.idle.ms": "300000",
            "compression.type": "none",
            "partitioner.ignore.keys": "false",
            "enable.idempotence": "true",
            "security.protocol": "PLAINTEXT",
            "ssl.enabled.protocols": "TLSv1.2,TLSv1.3",
            "ssl.endpoint.identification.algorithm": "https",
            // Not Java's default (JKS): only PEM stores are read.
            "ssl.truststore.type": "PEM",
            "ssl.keystore.type": "PEM",
            // Java's `partitioner.class` unset: the built-in uniform sticky partitioner (3.3+,
            // PROTOCOL-NOTES §7.2).
            "partitioner": "murmur2_sticky",
        ]
        #expect(properties == expected)
        // The level defaults of KIP-390, for each codec when chosen.
        #expect(try Self.configuration(["compression.type": "gzip"]).properties["compression.gzip.level"] == "-1")
        #expect(try Self.configuration(["compression.type": "lz4"]).properties["compression.lz4.level"] == "9")
        #expect(try Self.configuration(["compression.type": "zstd"]).properties["compression.zstd.level"] == "3")
    }

    @Test("properties read back into the same settings")
    func roundTrip() throws {
        let configuration = try Self.configuration([
            "bootstrap.servers": "k1:9092,[fe80::1]:19092", "acks": "1", "linger.ms": "20",
            "compression.type": "zstd", "compression.zstd.level": "-3", "partitioner": "consistent_random",
            "client.id": "x", "connections.max.idle.ms": "-1",
        ])
        let again = try KafkaProducerConfiguration(properties: configuration.properties)
        #expect(again.properties == configuration.properties)
        #expect(configuration.properties["bootstrap.servers"] == "k1:9092,[fe80::1]:19092")
    }

    @Test("Java post-processing: reconnect backoff max follows the backoff only when not given")
    func reconnectBackoffPostProcessing() throws {
        let onlyBackoff = try Self.configuration(["reconnect.backoff.ms": "5000"])
        #expect(onlyBackoff.reconnectBackoffMax == .seconds(5))
        let both = try Self.configuration(["reconnect.backoff.ms": "200", "reconnect.backoff.max.ms": "800"])
        #expect(both.reconnectBackoffMax == .milliseconds(800))
        // retry.backoff.ms above retry.backoff.max.ms is accepted and left alone (Java only warns).
        let retry = try Self.configuration(["retry.backoff.ms": "5000"])
        #expect(retry.retryBackoff == .seconds(5) && retry.retryBackoffMax == .seconds(1))
    }

    @Test("Java post-processing: an unset delivery.timeout.ms is raised to linger.ms + request.timeout.ms")
    func deliveryTimeoutPostProcessing() throws {
        let raised = try Self.configuration(["linger.ms": "100000", "request.timeout.ms": "60000"])
        #expect(raised.deliveryTimeout == .milliseconds(160_000))
        #expect(throws: KafkaProducerError.self) {
            try Self.configuration([
                "linger.ms": "100000", "request.timeout.ms": "60000", "delivery.timeout.ms": "120000",
            ])
        }
    }

    static func errorMessage(_ body: () throws -> Void) -> String? {
        do {
            try body()
            return nil
        } catch let error as KafkaProducerError {
            #expect(error.code == .invalidConfiguration)
            return error.message
        } catch {
            Issue.record("unexpected error \(error)")
            return nil
        }
    }

    @Test(
        "unknown keys are errors naming the key",
        arguments: ["lingerms", "batch.sise", "message.timeout.ms", "queue.buffering.max.ms"])
    func unknownKey(key: String) {
        let message = Self.errorMessage { _ = try Self.configuration([key: "1"]) }
        #expect(message?.contains(key) == true, "\(message ?? "no error")")
        #expect(message?.contains("Unknown") == true)
        var configuration = try! Self.configuration([:])
        #expect(Self.errorMessage { try configuration.set(key, "1") }?.contains(key) == true)
    }

    @Test(
        "Java keys not implemented yet are errors saying so",
        arguments: [
            ("transactional.id", "tx"), ("ssl.cipher.suites", "TLS_AES_128_GCM_SHA256"),
            ("sasl.login.callback.handler.class", "a.B"), ("sasl.kerberos.service.name", "kafka"),
            ("ssl.keymanager.algorithm", "SunX509"), ("key.serializer", "a.B"),
            ("value.serializer", "a.B"), ("interceptor.classes", "a.B"), ("transaction.timeout.ms", "1000"),
            ("socket.connection.setup.timeout.max.ms", "30000"), ("send.buffer.bytes", "1"),
            ("metadata.recovery.strategy", "rebootstrap"),
        ])
    func unsupportedKey(key: String, value: String) {
        let message = Self.errorMessage { _ = try Self.configuration([key: value]) }
        #expect(message?.contains(key) == true, "\(message ?? "no error")")
        #expect(message?.contains("not supported yet") == true, "\(message ?? "no error")")
    }

    @Test(
        "enable.idempotence not given is turned off by a conflicting setting, as in Java",
        arguments: [
            ["acks": "1"], ["acks": "0"], ["retries": "0"], ["max.in.flight.requests.per.connection": "6"],
        ])
    func idempotenceTurnedOff(settings: [String: String]) throws {
        let configuration = try Self.configuration(settings)
        #expect(!configuration.enableIdempotence)
        #expect(configuration.properties["enable.idempotence"] == "false")
    }

    @Test(
        "enable.idempotence=true with a conflicting setting is an error naming both keys",
        arguments: [
            ("acks", "1"), ("acks", "0"), ("retries", "0"), ("max.in.flight.requests.per.connection", "6"),
        ])
    func idempotenceConflict(key: String, value: String) throws {
        let message = Self.errorMessage {
            _ = try Self.configuration(["enable.idempotence": "true", key: value])
        }
        #expect(message?.contains("enable.idempotence=true") == true, "\(message ?? "no error")")
        #expect(message?.contains(key) == true, "\(message ?? "no error")")
        // Within the limits it stays on.
        #expect(try Self.configuration(["max.in.flight.requests.per.connection": "5"]).enableIdempotence)
    }

    @Test("partitioner.class is rejected with the accepted partitioner names")
    func partitionerClass() {
        let message = Self.errorMessage {
            _ = try Self.configuration(["partitioner.class": "org.apache.kafka.clients.producer.RoundRobinPartitioner"])
        }
        #expect(message?.contains("partitioner.class") == true)
        #expect(message?.contains("murmur2_sticky") == true)
    }

    @Test(
        "malformed values are errors naming key and value",
        arguments: [
            ("acks", "2"), ("acks", "ALL"), ("linger.ms", "5ms"), ("linger.ms", "-1"), ("batch.size", "1.5"),
            ("batch.size", "2147483648"), ("buffer.memory", "-1"), ("retries", "-1"), ("request.timeout.ms", "x"),
            ("delivery.timeout.ms", "99999999999"), ("max.in.flight.requests.per.connection", "0"),
            ("metadata.max.idle.ms", "4999"), ("compression.type", "brotli"), ("compression.gzip.level", "10"),
            ("compression.lz4.level", "0"), ("compression.zstd.level", "23"), ("partitioner", "murmur2_random"),
            ("partitioner", "sticky"), ("partitioner.ignore.keys", "yes"),
            ("partitioner.adaptive.partitioning.enable", "1"), ("partitioner.availability.timeout.ms", "-5"),
            ("enable.idempotence", "maybe"), ("bootstrap.servers", "localhost"),
            ("bootstrap.servers", "::1:9092"), ("bootstrap.servers", "host:99999"), ("bootstrap.servers", "host:"),
            ("bootstrap.servers", "a:1,a:1"), ("bootstrap.servers", " , "),
        ])
    func malformedValue(key: String, value: String) {
        let message = Self.errorMessage { _ = try Self.configuration([key: value]) }
        #expect(message?.contains(key) == true, "\(message ?? "no error")")
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        if !trimmed.isEmpty && trimmed != "," && value != "a:1,a:1" {
            #expect(message?.contains(trimmed) == true, "\(message ?? "no error")")
        }
    }

    @Test("bootstrap.servers is required")
    func missingBootstrap() {
        let message = Self.errorMessage { _ = try KafkaProducerConfiguration(properties: ["acks": "1"]) }
        #expect(message?.contains("bootstrap.servers") == true)
    }

    @Test("whitespace around values is ignored, as Java trims")
    func trimming() throws {
        let configuration = try Self.configuration(["linger.ms": " 7 ", "acks": " all", "compression.type": "lz4 "])
        #expect(configuration.linger == .milliseconds(7))
        #expect(configuration.compression.codec == .lz4)
    }
}
