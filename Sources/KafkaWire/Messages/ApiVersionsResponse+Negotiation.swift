import NIOCore

/// Version negotiation (PROTOCOL-NOTES §1.6): reading the answer to an ApiVersions request that
/// may have been newer than the broker, and picking the version to use for each API.
extension ApiVersionsResponse {
    /// UNSUPPORTED_VERSION: the broker does not know the ApiVersions version that was sent.
    public static let unsupportedVersionErrorCode: Int16 = 35

    /// What to do after reading an ApiVersions response with `readNegotiating(from:version:)`.
    public enum NegotiationOutcome: Hashable, Sendable {
        /// The broker understood the request; `response` is the body read at the sent version.
        /// Its `errorCode` may still be non-zero (any error other than 35).
        case accepted(ApiVersionsResponse)
        /// The broker answered UNSUPPORTED_VERSION (35). Send ApiVersions again at `retryVersion`.
        /// `brokerVersions` is the broker's ApiVersions range when its (v0-format) error body
        /// could be read and listed one, else nil and `retryVersion` is 0.
        case retry(retryVersion: Int16, brokerVersions: ClosedRange<Int16>?)
    }

    /// Reads the body of an ApiVersions response to a request sent at `version`, applying the
    /// safe client rule: when the error code (the first two body bytes, at the same place in every
    /// version) is 35, the rest of the body is not trusted. It is tried as a v0 body to learn the
    /// broker's ApiVersions range (KIP-511); when that fails — the librdkafka mock sends a body
    /// that is malformed for every version — the outcome is a retry at v0. Either way the whole
    /// body is consumed and nothing is thrown for it.
    ///
    /// Other error codes are read at `version` like `readComplete(from:version:)`, which throws
    /// for malformed input.
    public static func readNegotiating(from buffer: inout ByteBuffer, version: Int16) throws -> NegotiationOutcome {
        try checkVersion(version)
        guard let errorCode = buffer.getInteger(at: buffer.readerIndex, as: Int16.self) else {
            throw KafkaWireError(.truncated, "needed 2 bytes", location: "ApiVersionsResponse v\(version) .ErrorCode")
        }
        guard errorCode == unsupportedVersionErrorCode else {
            return .accepted(try readComplete(from: &buffer, version: version))
        }
        var copy = buffer
        buffer.moveReaderIndex(to: buffer.writerIndex)
        guard let v0 = try? readComplete(from: &copy, version: 0),
            let brokerVersions = v0.versionRange(for: .apiVersions)
        else {
            return .retry(retryVersion: 0, brokerVersions: nil)
        }
        // The broker refused `version`, so never retry at it or above, whatever it advertised.
        let ours =
            supportedVersions
            .lowerBound...max(supportedVersions.lowerBound, min(version - 1, supportedVersions.upperBound))
        let retryVersion = KafkaVersionNegotiation.highestCommonVersion(broker: brokerVersions, client: ours) ?? 0
        return .retry(retryVersion: retryVersion, brokerVersions: brokerVersions)
    }

    /// The broker's version range for `apiKey`: nil when the API is not listed or its range is
    /// empty (min > max). The first entry wins if an API is listed twice.
    public func versionRange(for apiKey: KafkaApiKey) -> ClosedRange<Int16>? {
        guard let entry = apiKeys.first(where: { $0.apiKey == apiKey }), entry.minVersion <= entry.maxVersion else {
            return nil
        }
        return entry.minVersion...entry.maxVersion
    }

    /// The highest version of `apiKey` that both the broker and `client` support, or nil.
    public func highestCommonVersion(for apiKey: KafkaApiKey, client: ClosedRange<Int16>) -> Int16? {
        versionRange(for: apiKey).flatMap { KafkaVersionNegotiation.highestCommonVersion(broker: $0, client: client) }
    }

    /// The highest version of `Request`'s API that both the broker and this encoder support.
    public func highestCommonVersion<Request: KafkaRequestMessage>(for request: Request.Type) -> Int16? {
        highestCommonVersion(for: Request.apiKey, client: Request.supportedVersions)
    }

    /// The version to use for each API in `client` that the broker supports; APIs without a
    /// common version are absent.
    public func negotiatedVersions(
        client: [KafkaApiKey: ClosedRange<Int16>] = KafkaVersionNegotiation.clientVersions
    ) -> [KafkaApiKey: Int16] {
        var result: [KafkaApiKey: Int16] = [:]
        for (apiKey, range) in client {
            if let version = highestCommonVersion(for: apiKey, client: range) { result[apiKey] = version }
        }
        return result
    }
}

/// Picking request versions from the broker's advertised ranges.
public enum KafkaVersionNegotiation {
    /// The versions this library's encoders write, per API.
    public static let clientVersions: [KafkaApiKey: ClosedRange<Int16>] = [
        ProduceRequest.apiKey: ProduceRequest.supportedVersions,
        MetadataRequest.apiKey: MetadataRequest.supportedVersions,
        SaslHandshakeRequest.apiKey: SaslHandshakeRequest.supportedVersions,
        ApiVersionsRequest.apiKey: ApiVersionsRequest.supportedVersions,
        InitProducerIdRequest.apiKey: InitProducerIdRequest.supportedVersions,
        SaslAuthenticateRequest.apiKey: SaslAuthenticateRequest.supportedVersions,
        DescribeConfigsRequest.apiKey: DescribeConfigsRequest.supportedVersions,
    ]

    /// The highest version in both ranges, or nil when they do not overlap. The broker's minimum
    /// is not required to be 0: Kafka 4.0 rejects Produce v0–v2 (while still advertising min 0),
    /// and future brokers may advertise a higher minimum.
    public static func highestCommonVersion(broker: ClosedRange<Int16>, client: ClosedRange<Int16>) -> Int16? {
        let low = max(broker.lowerBound, client.lowerBound)
        let high = min(broker.upperBound, client.upperBound)
        return low <= high ? high : nil
    }
}
