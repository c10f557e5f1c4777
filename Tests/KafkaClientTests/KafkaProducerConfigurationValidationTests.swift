import KafkaWire
import Testing

@testable import KafkaClient

@Suite("KafkaProducerConfiguration.validate()")
struct KafkaProducerConfigurationValidationTests {
    static func base() -> KafkaProducerConfiguration {
        KafkaProducerConfiguration(bootstrapServers: [KafkaBrokerAddress(host: "localhost", port: 9092)])
    }

    static func message(_ configuration: KafkaProducerConfiguration) -> String? {
        do {
            try configuration.validate()
            return nil
        } catch let error as KafkaProducerError {
            #expect(error.code == .invalidConfiguration)
            return error.message
        } catch {
            Issue.record("unexpected error \(error)")
            return nil
        }
    }

    @Test("the defaults are valid")
    func defaultsValid() throws {
        try Self.base().validate()
    }

    @Test("delivery.timeout.ms below linger.ms + request.timeout.ms names all three keys")
    func deliveryTimeout() {
        var configuration = Self.base()
        configuration.deliveryTimeout = .milliseconds(100)
        #expect(
            Self.message(configuration)
                == "delivery.timeout.ms=100 must be >= linger.ms (5) + request.timeout.ms (30000)")
        configuration.deliveryTimeout = .milliseconds(30_005)
        #expect(Self.message(configuration) == nil)
    }

    @Test("batch.size above buffer.memory names both keys")
    func batchSizeOverBufferMemory() {
        var configuration = Self.base()
        configuration.bufferMemory = 1000
        configuration.batchSize = 1001
        let message = Self.message(configuration)
        #expect(message?.contains("batch.size=1001") == true)
        #expect(message?.contains("buffer.memory (1000)") == true)
    }

    @Test("idempotence (the default) requires acks=all, retries > 0 and at most 5 in flight, naming the keys")
    func idempotenceRequirements() {
        var configuration = Self.base()
        #expect(configuration.enableIdempotence)
        configuration.acks = .leader
        #expect(
            Self.message(configuration)
                == "enable.idempotence=true requires acks=all (got acks=1); set enable.idempotence=false to produce without idempotence"
        )
        configuration.enableIdempotence = false
        #expect(Self.message(configuration) == nil)

        configuration = Self.base()
        configuration.retries = 0
        #expect(Self.message(configuration)?.contains("enable.idempotence=true requires retries > 0") == true)

        configuration = Self.base()
        configuration.maxInFlightRequestsPerConnection = 6
        #expect(
            Self.message(configuration)?.contains(
                "enable.idempotence=true requires max.in.flight.requests.per.connection <= 5 (got 6)") == true)
        configuration.maxInFlightRequestsPerConnection = 5
        #expect(Self.message(configuration) == nil)
    }

    @Test("accepted as in Java: max.request.size > buffer.memory, retry.backoff.ms > retry.backoff.max.ms")
    func acceptedCombinations() {
        var configuration = Self.base()
        configuration.maxRequestSize = 64 << 20
        configuration.retryBackoff = .seconds(10)
        configuration.reconnectBackoff = .seconds(10)
        configuration.clientId = "any thing/at all!"
        #expect(Self.message(configuration) == nil)
    }

    struct Case: CustomTestStringConvertible, Sendable {
        var key: String
        var change: @Sendable (inout KafkaProducerConfiguration) -> Void
        var testDescription: String { key }
    }

    static let outOfRangeCases: [Case] = [
        Case(key: "bootstrap.servers") { $0.bootstrapServers = [] },
        Case(key: "bootstrap.servers") { $0.bootstrapServers = [KafkaBrokerAddress(host: "", port: 1)] },
        Case(key: "linger.ms") { $0.linger = .milliseconds(-1) },
        Case(key: "batch.size") { $0.batchSize = -1 },
        Case(key: "buffer.memory") { $0.bufferMemory = -1 },
        Case(key: "max.block.ms") { $0.maxBlock = .milliseconds(-1) },
        Case(key: "max.request.size") { $0.maxRequestSize = -1 },
        Case(key: "request.timeout.ms") { $0.requestTimeout = .milliseconds(-1) },
        Case(key: "delivery.timeout.ms") { $0.deliveryTimeout = .milliseconds(Int64(Int32.max) + 1) },
        Case(key: "retries") { $0.retries = -1 },
        Case(key: "retry.backoff.ms") { $0.retryBackoff = .milliseconds(-1) },
        Case(key: "retry.backoff.max.ms") { $0.retryBackoffMax = .milliseconds(-1) },
        Case(key: "reconnect.backoff.ms") { $0.reconnectBackoff = .milliseconds(-1) },
        Case(key: "reconnect.backoff.max.ms") { $0.reconnectBackoffMax = .milliseconds(-1) },
        Case(key: "socket.connection.setup.timeout.ms") { $0.socketConnectionSetupTimeout = .milliseconds(-1) },
        Case(key: "max.in.flight.requests.per.connection") { $0.maxInFlightRequestsPerConnection = 0 },
        Case(key: "metadata.max.age.ms") { $0.metadataMaxAge = .milliseconds(-1) },
        Case(key: "metadata.max.idle.ms") { $0.metadataMaxIdle = .milliseconds(4999) },
        Case(key: "compression.zstd.level") { $0.compression = KafkaCompression(codec: .zstd, level: 23) },
        Case(key: "compression.gzip.level") { $0.compression = KafkaCompression(codec: .gzip, level: -2) },
    ]

    @Test("values outside Java's ranges are rejected, naming the key", arguments: outOfRangeCases)
    func outOfRange(_ testCase: Case) {
        var configuration = Self.base()
        testCase.change(&configuration)
        let message = Self.message(configuration)
        #expect(message?.contains(testCase.key) == true, "\(message ?? "no error")")
    }

    @Test("init(properties:) validates combinations")
    func initValidates() {
        #expect(throws: KafkaProducerError.self) {
            try KafkaProducerConfiguration(properties: [
                "bootstrap.servers": "h:1", "batch.size": "2000", "buffer.memory": "1000",
            ])
        }
    }
}
