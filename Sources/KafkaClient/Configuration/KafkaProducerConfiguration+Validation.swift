import KafkaWire

extension KafkaProducerConfiguration {
    /// Rejects settings the producer cannot work with, naming the keys concerned.
    ///
    /// Single settings are checked against the Java client's validators (`ConfigDef` ranges);
    /// combinations name both keys. What Java does for each combination, and what is done here:
    /// * `delivery.timeout.ms` < `linger.ms` + `request.timeout.ms`: rejected (Java throws a
    ///   `ConfigException` when delivery.timeout.ms was set explicitly; `init(properties:)`
    ///   raises the default instead when it was not, as Java does).
    /// * `batch.size` > `buffer.memory`: rejected. Java accepts the setting but then fails every
    ///   send, because each batch of `batch.size` bytes is allocated from `buffer.memory`.
    /// * `max.request.size` > `buffer.memory`: accepted, as in Java; a record larger than
    ///   `buffer.memory` fails when it is sent (`.recordTooLarge`).
    /// * `retry.backoff.ms` > `retry.backoff.max.ms`: accepted, as in Java, which then retries
    ///   after a fixed `retry.backoff.max.ms` (`ExponentialBackoff` caps the first interval).
    ///   The same holds for the reconnect backoffs.
    /// * `enable.idempotence=true` with `acks` other than `all`, `retries=0` or
    ///   `max.in.flight.requests.per.connection` > 5: rejected, as Java does when idempotence
    ///   was set explicitly (brokers keep the state of only the last 5 batches per partition, so
    ///   more in flight could not be deduplicated). `init(properties:)` turns idempotence off
    ///   instead when it was not given, as Java does.
    /// * `client.id` is not checked (nor is it in Java).
    ///
    /// - Throws: `KafkaProducerError` with code `.invalidConfiguration`.
    public func validate() throws {
        guard !bootstrapServers.isEmpty else {
            throw KafkaProducerError(
                .invalidConfiguration, "bootstrap.servers is empty: give at least one host:port")
        }
        for address in bootstrapServers where address.host.isEmpty || !(0...65535).contains(address.port) {
            throw KafkaProducerError(.invalidConfiguration, "bootstrap.servers holds an invalid address \(address)")
        }

        try Self.require("linger.ms", linger, atLeast: 0)
        try Self.require("batch.size", batchSize, in: 0...Int(Int32.max))
        try Self.require("buffer.memory", bufferMemory, in: 0...Int.max)
        try Self.require("max.block.ms", maxBlock, atLeast: 0)
        try Self.require("max.request.size", maxRequestSize, in: 0...Int(Int32.max))
        try Self.require("request.timeout.ms", requestTimeout, atLeast: 0, atMost: Int64(Int32.max))
        try Self.require("delivery.timeout.ms", deliveryTimeout, atLeast: 0, atMost: Int64(Int32.max))
        try Self.require("retries", retries, in: 0...Int(Int32.max))
        try Self.require("retry.backoff.ms", retryBackoff, atLeast: 0)
        try Self.require("retry.backoff.max.ms", retryBackoffMax, atLeast: 0)
        try Self.require("reconnect.backoff.ms", reconnectBackoff, atLeast: 0)
        try Self.require("reconnect.backoff.max.ms", reconnectBackoffMax, atLeast: 0)
        // Java has no validator here; a negative connect timeout makes no sense.
        try Self.require("socket.connection.setup.timeout.ms", socketConnectionSetupTimeout, atLeast: 0)
        try Self.require(
            "max.in.flight.requests.per.connection", maxInFlightRequestsPerConnection, in: 1...Int(Int32.max))
        try Self.require("metadata.max.age.ms", metadataMaxAge, atLeast: 0)
        try Self.require("metadata.max.idle.ms", metadataMaxIdle, atLeast: 5000)
        do {
            try compression.validate()
        } catch {
            throw KafkaProducerError(.invalidConfiguration, "\(error)", cause: error)
        }

        let lingerMs = Self.milliseconds(linger)
        let requestTimeoutMs = Self.milliseconds(requestTimeout)
        let deliveryTimeoutMs = Self.milliseconds(deliveryTimeout)
        if deliveryTimeoutMs < Self.cappedSumMilliseconds(linger, requestTimeout) {
            throw KafkaProducerError(
                .invalidConfiguration,
                "delivery.timeout.ms=\(deliveryTimeoutMs) must be >= linger.ms (\(lingerMs)) + "
                    + "request.timeout.ms (\(requestTimeoutMs))")
        }
        if enableIdempotence {
            let remedy = "; set enable.idempotence=false to produce without idempotence"
            if acks != .all {
                throw KafkaProducerError(
                    .invalidConfiguration,
                    "enable.idempotence=true requires acks=all (got acks=\(acks))" + remedy)
            }
            if retries == 0 {
                throw KafkaProducerError(
                    .invalidConfiguration, "enable.idempotence=true requires retries > 0 (got retries=0)" + remedy)
            }
            if maxInFlightRequestsPerConnection > Self.maxInFlightRequestsForIdempotence {
                throw KafkaProducerError(
                    .invalidConfiguration,
                    "enable.idempotence=true requires max.in.flight.requests.per.connection <= "
                        + "\(Self.maxInFlightRequestsForIdempotence) (got \(maxInFlightRequestsPerConnection))" + remedy
                )
            }
        }
        try validateTopicConfigurations()
        if batchSize > bufferMemory {
            throw KafkaProducerError(
                .invalidConfiguration,
                "batch.size=\(batchSize) must be <= buffer.memory (\(bufferMemory)): every batch is allocated "
                    + "from buffer.memory")
        }
        try validateSecurity()
    }

    /// Brokers remember the last 5 batches per producer and partition (Kafka's
    /// `MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION_FOR_IDEMPOTENCE`).
    static let maxInFlightRequestsForIdempotence = 5

    private static func require(_ name: String, _ value: Int, in range: ClosedRange<Int>) throws {
        guard range.contains(value) else {
            let bound = value < range.lowerBound ? ">= \(range.lowerBound)" : "<= \(range.upperBound)"
            throw KafkaProducerError(.invalidConfiguration, "\(name)=\(value) must be \(bound)")
        }
    }

    private static func require(
        _ name: String, _ value: Duration, atLeast minimum: Int64, atMost maximum: Int64 = .max
    ) throws {
        let ms = milliseconds(value)
        if value < .milliseconds(minimum) {
            throw KafkaProducerError(.invalidConfiguration, "\(name)=\(ms) must be >= \(minimum)")
        }
        if ms > maximum {
            throw KafkaProducerError(.invalidConfiguration, "\(name)=\(ms) must be <= \(maximum)")
        }
    }
}
