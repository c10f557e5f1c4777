import KafkaWire
import NIOCore
import Testing

/// PROTOCOL-NOTES §1.6: ApiVersions fallback and picking the highest common version.
@Suite struct ApiVersionsNegotiationTests {
    /// The librdkafka v2.0.2 mock's answer to an ApiVersions v3 request, after the correlation id
    /// (librdkafka-mock.md §4): error 35, a one-byte "count" 1, {18, 0, 2} without tag bytes,
    /// throttle 0. Malformed for both the v0 and the v3 layouts.
    static let mockBody = "0023" + "01" + "0012" + "0000" + "0002" + "00000000"

    @Test(arguments: [Int16(3), 4])
    func librdkafkaMockMalformedErrorFallsBackToV0(_ sent: Int16) throws {
        var body = ByteBuffer(hex: Self.mockBody)
        #expect(
            try ApiVersionsResponse.readNegotiating(from: &body, version: sent)
                == .retry(retryVersion: 0, brokerVersions: nil))
        #expect(body.readableBytes == 0)
        // The strict readers do reject it.
        var v0 = ByteBuffer(hex: Self.mockBody)
        #expect(throws: KafkaWireError.self) { try ApiVersionsResponse.readComplete(from: &v0, version: 0) }
    }

    @Test func mockFrameThroughTheFrameReader() throws {
        var frame = ByteBuffer(hex: "00000011" + "00000001" + Self.mockBody)
        var payload = try #require(try KafkaFrame.readFrame(from: &frame))
        let header = try KafkaResponseHeader.read(from: &payload, headerVersion: 0)
        #expect(header.correlationId == 1)
        #expect(
            try ApiVersionsResponse.readNegotiating(from: &payload, version: 3)
                == .retry(retryVersion: 0, brokerVersions: nil))
    }

    /// A 2.4+ broker that does not know the version sent: a well-formed v0 body listing its own
    /// ApiVersions range (KIP-511).
    @Test func kip511ErrorBodyGivesTheBrokersRange() throws {
        var body = ByteBuffer(hex: "0023" + "00000001" + "0012" + "0000" + "0003")
        #expect(
            try ApiVersionsResponse.readNegotiating(from: &body, version: 4)
                == .retry(retryVersion: 3, brokerVersions: 0...3))
        // A broker that advertises the version it just refused: never retry at or above it.
        var contradictory = ByteBuffer(hex: "0023" + "00000001" + "0012" + "0000" + "0004")
        #expect(
            try ApiVersionsResponse.readNegotiating(from: &contradictory, version: 4)
                == .retry(retryVersion: 3, brokerVersions: 0...4))
        // A v0 body without an ApiVersions entry: fall back to v0.
        var missing = ByteBuffer(hex: "0023" + "00000000")
        #expect(
            try ApiVersionsResponse.readNegotiating(from: &missing, version: 3)
                == .retry(retryVersion: 0, brokerVersions: nil))
    }

    @Test func successfulResponseIsAccepted() throws {
        let vector = try #require(
            MessageVector.responses.first { $0.api == "ApiVersions" && $0.version == 3 && $0.variant == "values" })
        var body = vector.responseBody
        let outcome = try ApiVersionsResponse.readNegotiating(from: &body, version: 3)
        guard case .accepted(let response) = outcome else {
            Issue.record("expected accepted, got \(outcome)")
            return
        }
        #expect(response == Responses.expected(vector) as! ApiVersionsResponse)
        // Other errors are read at the version sent.
        var error = ByteBuffer(hex: "0029" + "01" + "00000000" + "00")
        #expect(
            try ApiVersionsResponse.readNegotiating(from: &error, version: 3)
                == .accepted(ApiVersionsResponse(errorCode: 41)))
        var empty = ByteBuffer(hex: "00")
        #expect(throws: KafkaWireError.self) { try ApiVersionsResponse.readNegotiating(from: &empty, version: 3) }
    }

    static func response(_ ranges: [(KafkaApiKey, Int16, Int16)]) -> ApiVersionsResponse {
        ApiVersionsResponse(apiKeys: ranges.map { .init(apiKey: $0.0, minVersion: $0.1, maxVersion: $0.2) })
    }

    @Test func kafka40AdvertisesProduceFromZero() {
        // Kafka 4.0 advertises Produce 0-12 although it rejects v0-v2; 4.1+ advertises 0-13.
        let kafka40 = Self.response([
            (.produce, 0, 12), (.metadata, 0, 13), (.apiVersions, 0, 4), (.initProducerId, 0, 5),
            (.saslHandshake, 0, 1), (.saslAuthenticate, 0, 2),
        ])
        #expect(kafka40.highestCommonVersion(for: ProduceRequest.self) == 12)
        #expect(
            kafka40.negotiatedVersions() == [
                .produce: 12, .metadata: 13, .apiVersions: 4, .initProducerId: 5, .saslHandshake: 1,
                .saslAuthenticate: 2,
            ])
        let kafka43 = Self.response([(.produce, 0, 13), (.initProducerId, 0, 6)])
        #expect(kafka43.highestCommonVersion(for: ProduceRequest.self) == 12)
        #expect(kafka43.highestCommonVersion(for: InitProducerIdRequest.self) == 5)
        #expect(kafka43.highestCommonVersion(for: MetadataRequest.self) == nil)
    }

    @Test func brokerMinimumNeedNotBeZero() {
        #expect(KafkaVersionNegotiation.highestCommonVersion(broker: 3...13, client: 3...12) == 12)
        #expect(KafkaVersionNegotiation.highestCommonVersion(broker: 8...20, client: 3...12) == 12)
        #expect(KafkaVersionNegotiation.highestCommonVersion(broker: 0...7, client: 3...12) == 7)
        #expect(KafkaVersionNegotiation.highestCommonVersion(broker: 0...2, client: 3...12) == nil)
        #expect(KafkaVersionNegotiation.highestCommonVersion(broker: 13...14, client: 3...12) == nil)
        // An empty advertised range (min > max) counts as unsupported, without trapping.
        #expect(Self.response([(.produce, 9, 4)]).highestCommonVersion(for: .produce, client: 3...12) == nil)
    }

    @Test func librdkafka202MockRanges() {
        // librdkafka-mock.md §2: the v2.0.2 mock needs Metadata <= 2, Produce <= 7, ApiVersions <= 2.
        let mock = Self.response([(.produce, 0, 7), (.metadata, 0, 2), (.apiVersions, 0, 2), (.initProducerId, 0, 4)])
        #expect(mock.negotiatedVersions() == [.produce: 7, .metadata: 2, .apiVersions: 2, .initProducerId: 4])
    }
}
