/// Topic layout and fault injection (librdkafka `rd_kafka_mock_*` functions).
extension KafkaTestCluster {
    /// Creates a topic (the mock has no CreateTopics over the wire).
    ///
    /// - Parameters:
    ///   - replicationFactor: Replicas per partition. Default: 1. librdkafka assigns replicas
    ///     and a leader itself; use ``setPartitionLeader(topic:partition:broker:)`` for a fixed layout.
    public func createTopic(_ topic: String, partitions: Int, replicationFactor: Int = 1) async throws {
        _ = try await send(
            "create_topic", ["topic": topic, "partitions": partitions, "replication_factor": replicationFactor])
    }

    /// Closes the broker's connections and its listener: new connects are refused until
    /// ``setBrokerUp(_:)``. Leadership does not move. `-1` means every broker.
    public func setBrokerDown(_ broker: Int32) async throws {
        _ = try await send("broker_down", ["broker": Int(broker)])
    }

    /// Makes a broker set down by ``setBrokerDown(_:)`` listen again on the same port. `-1` means
    /// every broker.
    public func setBrokerUp(_ broker: Int32) async throws {
        _ = try await send("broker_up", ["broker": Int(broker)])
    }

    /// Queues errors cluster-wide for the next requests with this API key, one per request,
    /// in order (for Produce an error applies to every partition of the request, and nothing is
    /// appended). `0` lets one request through; `-195` (`__TRANSPORT`) drops the connection.
    public func pushRequestErrors(apiKey: Int16, errors: [Int16]) async throws {
        _ = try await send("push_request_errors", ["api_key": Int(apiKey), "errors": errors.map { Int($0) }])
    }

    /// Queues (error, response delay) pairs on one broker for the next requests with this API
    /// key. They take precedence over ``pushRequestErrors(apiKey:errors:)``. `(0, 5000)` means
    /// "succeed, but answer after five seconds" (the request is processed at once).
    public func pushBrokerRequestErrors(
        broker: Int32, apiKey: Int16, errors: [(error: Int16, rttMs: Int)]
    ) async throws {
        _ = try await send(
            "push_broker_request_errors",
            ["broker": Int(broker), "api_key": Int(apiKey), "errors": errors.map { [Int($0.error), $0.rttMs] }])
    }

    /// Drops the cluster-wide errors still queued for this API key.
    public func clearRequestErrors(apiKey: Int16) async throws {
        _ = try await send("clear_request_errors", ["api_key": Int(apiKey)])
    }

    /// Delays every response from a broker (`-1`: every broker) by `milliseconds`.
    public func setRTT(broker: Int32, milliseconds: Int) async throws {
        _ = try await send("set_rtt", ["broker": Int(broker), "rtt_ms": milliseconds])
    }

    /// Makes `broker` the partition leader (`-1`: leaderless). Metadata responses report it at once;
    /// Produce requests to the old leader get NOT_LEADER_OR_FOLLOWER (6).
    public func setPartitionLeader(topic: String, partition: Int32, broker: Int32) async throws {
        _ = try await send("set_leader", ["topic": topic, "partition": Int(partition), "broker": Int(broker)])
    }

    /// Changes the version range the brokers advertise in ApiVersions and accept for this key,
    /// to pretend to be an older broker. `max` must not exceed what the mock implements (the
    /// driver checks against the ranges it read at start and refuses otherwise); `-1/-1`
    /// disables the API.
    public func setApiVersion(apiKey: Int16, min: Int16, max: Int16) async throws {
        _ = try await send("set_api_version", ["api_key": Int(apiKey), "min": Int(min), "max": Int(max)])
    }
}

extension KafkaTestCluster {
    /// Moves the host and port `broker` advertises in Metadata; where it listens stays. Clients
    /// then reach it through a `SecurityFront`. The cluster's verifiers (`consume`, watermarks)
    /// follow the advertised address too, so move it back before verifying.
    public func setAdvertisedAddress(broker: Int32, host: String, port: Int) async throws {
        _ = try await send("set_advertised_address", ["broker": Int(broker), "host": host, "port": port])
    }
}
