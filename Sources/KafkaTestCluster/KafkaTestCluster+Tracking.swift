/// Request tracking: what the client under test sent, per broker and API key.
extension KafkaTestCluster {
    /// Starts recording every request the brokers receive (the driver's own verifying clients
    /// included, so filter by API key).
    public func startRequestTracking() async throws {
        _ = try await send("start_request_tracking")
    }

    /// Stops recording; what was recorded stays until ``clearRequests()``.
    public func stopRequestTracking() async throws {
        _ = try await send("stop_request_tracking")
    }

    /// The requests recorded so far, in arrival order.
    public func requests() async throws -> [TrackedRequest] {
        try await send("requests", decoding: RequestsReply.self).requests.map {
            TrackedRequest(
                broker: $0.broker, apiKey: $0.api_key, apiVersion: $0.api_version,
                timestampMicroseconds: $0.timestamp_us)
        }
    }

    /// Forgets the recorded requests.
    public func clearRequests() async throws {
        _ = try await send("clear_requests")
    }

    private struct RequestsReply: Decodable {
        struct Entry: Decodable {
            var broker: Int32
            var api_key: Int16
            var api_version: Int16?
            var timestamp_us: Int64
        }
        var requests: [Entry]
    }
}
