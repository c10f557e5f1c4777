import KafkaWire

/// The producer's settings: the Java producer's, under its names and with its defaults
/// (Kafka 4.x). `KafkaProducerConfiguration(properties:)` reads them from `name=value` pairs;
/// `validate()` rejects contradictions and names the keys.
public struct KafkaProducerConfiguration: Sendable {
    /// `bootstrap.servers`: brokers to ask for the cluster's metadata first. Default: none (required).
    public var bootstrapServers: [KafkaBrokerAddress]

    /// `client.id`: sent with every request, for the broker's logs and quotas.
    /// Default: "" (then "tributary-producer-N" is used, as Java uses "producer-N").
    public var clientId: String = ""

    /// `acks`: how many acknowledgements the leader must have before answering.
    /// Default: `.all`.
    public var acks: KafkaAcks = .all

    /// `linger.ms`: how long a partition's batch may wait for more records before it is sent.
    /// Default: 5 ms (Kafka 4.0+).
    public var linger: Duration = .milliseconds(5)

    /// `batch.size`: bytes after which a partition's batch is sent without waiting.
    /// Default: 16384.
    public var batchSize: Int = 16_384

    /// `buffer.memory`: bytes of records the producer may hold before `send` waits.
    /// Default: 33554432 (32 MiB).
    public var bufferMemory: Int = 33_554_432

    /// `max.block.ms`: how long `send` may wait for buffer space or metadata before failing.
    /// Default: 60 s.
    public var maxBlock: Duration = .seconds(60)

    /// `max.request.size`: the largest record (serialized) and the largest Produce request.
    /// Default: 1048576.
    public var maxRequestSize: Int = 1_048_576

    /// `request.timeout.ms`: how long to wait for a response before giving up on the request
    /// (and the connection). Also sent as Produce `TimeoutMs`. Default: 30 s.
    public var requestTimeout: Duration = .seconds(30)

    /// `delivery.timeout.ms`: upper bound from `send` to success or failure, retries included.
    /// Must be ≥ `linger.ms` + `request.timeout.ms`. Default: 120 s.
    public var deliveryTimeout: Duration = .seconds(120)

    /// `retries`: how often a batch is retried after a retriable error. Default: 2147483647.
    public var retries: Int = Int(Int32.max)

    /// `retry.backoff.ms`: the first wait before a retry; doubles per attempt with ±20 % jitter.
    /// Default: 100 ms.
    public var retryBackoff: Duration = .milliseconds(100)

    /// `retry.backoff.max.ms`: the longest wait between retries. Default: 1 s.
    public var retryBackoffMax: Duration = .seconds(1)

    /// `reconnect.backoff.ms`: the first wait before reconnecting to a broker. Default: 50 ms.
    public var reconnectBackoff: Duration = .milliseconds(50)

    /// `reconnect.backoff.max.ms`: the longest wait before reconnecting. Default: 1 s.
    public var reconnectBackoffMax: Duration = .seconds(1)

    /// `socket.connection.setup.timeout.ms`: how long a TCP connect may take. Default: 10 s.
    public var socketConnectionSetupTimeout: Duration = .seconds(10)

    /// `max.in.flight.requests.per.connection`: Produce requests awaiting a response per broker.
    /// Default: 5.
    public var maxInFlightRequestsPerConnection: Int = 5

    /// `enable.idempotence`: every batch carries a producer id, epoch and per-partition sequence
    /// numbers, so that retries can neither duplicate nor reorder records. Needs `acks=all`,
    /// `retries` > 0 and `max.in.flight.requests.per.connection` ≤ 5 (`validate()` names the
    /// key otherwise). `init(properties:)` turns it off, as Java does, when it was not given
    /// and one of those settings conflicts. Default: true.
    public var enableIdempotence: Bool = true

    /// `connections.max.idle.ms`: idle connections are closed after this long. Default: 540 s.
    public var connectionsMaxIdle: Duration = .seconds(540)

    /// `metadata.max.age.ms`: metadata is refreshed at least this often. Default: 300 s.
    public var metadataMaxAge: Duration = .seconds(300)

    /// `metadata.max.idle.ms`: a topic not produced to for this long is dropped from metadata
    /// requests. Default: 300 s.
    public var metadataMaxIdle: Duration = .seconds(300)

    /// `compression.type` with `compression.gzip.level` / `compression.lz4.level` /
    /// `compression.zstd.level`. Default: none.
    public var compression: KafkaCompression = .none

    /// `partitioner.class` (Java) / `partitioner` (librdkafka): how partitions are chosen for
    /// records without an explicit partition. Default: `.murmur2UniformSticky`, Java's built-in
    /// partitioner (the default since Kafka 3.3, when `partitioner.class` is unset).
    public var partitioner: KafkaPartitionerStrategy = .murmur2UniformSticky

    /// `partitioner.ignore.keys`: partition keyed records as if they had no key. Default: false.
    public var partitionerIgnoreKeys: Bool = false

    /// Settings that differ per topic (acks, compression, linger, batch size, partitioner,
    /// idempotence), by topic name. Every topic still shares the producer's connections,
    /// metadata, event loop and `buffer.memory`. Default: none.
    public var topicConfigurations: [String: KafkaTopicConfiguration] = [:]

    /// `security.protocol`: PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL. Default: PLAINTEXT.
    public var securityProtocol: KafkaSecurityProtocol = .plaintext

    /// The `ssl.*` settings, used when `securityProtocol` is SSL or SASL_SSL.
    public var tls = KafkaTLSConfiguration()

    /// `sasl.mechanism`: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512. Java's default, GSSAPI (Kerberos),
    /// is not supported, so there is no default: SASL_PLAINTEXT and SASL_SSL need it given.
    public var saslMechanism: KafkaSASLMechanism?

    /// `sasl.username` (librdkafka's name), or `username` in `sasl.jaas.config`. Default: none.
    public var saslUsername: String?

    /// `sasl.password` (librdkafka's name), or `password` in `sasl.jaas.config`. Never read back
    /// by `properties`. Default: none.
    public var saslPassword: KafkaSecret?

    /// The login module `sasl.jaas.config` named, checked against `saslMechanism`.
    var saslLoginModule: String?

    /// The mechanism and credentials together, once all three are given.
    public var sasl: KafkaSASLConfiguration? {
        guard let saslMechanism, let saslUsername, let saslPassword else { return nil }
        return KafkaSASLConfiguration(mechanism: saslMechanism, username: saslUsername, password: saslPassword)
    }

    public init(bootstrapServers: [KafkaBrokerAddress]) {
        self.bootstrapServers = bootstrapServers
    }
}

/// `acks`.
public enum KafkaAcks: Int16, Sendable, Hashable, CustomStringConvertible {
    /// `acks=0`: no response; the record counts as delivered once written to the socket.
    case none = 0
    /// `acks=1`: the leader has written it.
    case leader = 1
    /// `acks=all` (−1): every in-sync replica has it.
    case all = -1

    public var description: String {
        switch self {
        case .none: "0"
        case .leader: "1"
        case .all: "all"
        }
    }
}

/// How partitions are chosen for records without an explicit partition.
public enum KafkaPartitionerStrategy: Sendable, Hashable {
    /// Keyed records by Java's murmur2 (`toPositive(murmur2(key)) % partitions`); null keys
    /// round-robin record by record over the available partitions (Java ≤ 2.3's default).
    case murmur2RoundRobin
    /// Keyed records by murmur2; null keys stick to one partition until about `batch.size`
    /// bytes went to it, then move on (Java's built-in uniform sticky partitioner, KIP-794).
    /// The default.
    case murmur2UniformSticky
    /// librdkafka's `consistent`: CRC-32 of the key modulo partitions; null and empty keys all
    /// go to one partition (CRC-32 of nothing is 0).
    case consistent
    /// librdkafka's `consistent_random`: CRC-32 for non-empty keys; null and empty keys go to a
    /// random partition.
    case consistentRandom
}
