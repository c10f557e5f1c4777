import Foundation
import KafkaWire
import NIOCore
import Testing

/// Known answers from kafka-python's schema-driven encoder (scripts/generate_wire_vectors.py).
@Suite struct MessageVectorTests {
    @Test func vectorsArePresent() {
        #expect(MessageVector.requests.count >= 80)
        #expect(MessageVector.responses.count >= 70)
        // Every version of every message has at least one request and one response vector.
        let expected: [(String, ClosedRange<Int16>)] = [
            ("ApiVersions", 0...4), ("Metadata", 1...13), ("Produce", 3...12), ("InitProducerId", 0...5),
            ("SaslHandshake", 0...1), ("SaslAuthenticate", 0...2), ("DescribeConfigs", 1...4),
        ]
        for (api, versions) in expected {
            for version in versions {
                for kind in ["request", "response"] {
                    #expect(
                        MessageVector.all.contains { $0.api == api && $0.kind == kind && $0.version == version },
                        "no \(api) \(kind) v\(version) vector")
                }
            }
        }
    }

    @Test(arguments: MessageVector.requests)
    func requestEncodesToTheVector(_ vector: MessageVector) throws {
        let frame = try Requests.frame(vector)
        #expect(frame.hex == vector.hex)
        // Deterministic: a retry re-encodes to the same bytes.
        #expect(try Requests.frame(vector) == frame)
    }

    @Test(arguments: MessageVector.responses)
    func responseDecodesToTheVectorFields(_ vector: MessageVector) throws {
        let (header, body) = try Responses.decodePayload(vector)
        #expect(header.correlationId == vector.correlationId)
        let expected = Responses.expected(vector)
        #expect(body == expected, "decoded \(body)\nexpected \(expected)")
    }
}

/// The framed examples of Tests/Vectors/test-vectors.md §6 (client id "agent").
@Suite struct SharedFrameVectorTests {
    struct Case: Decodable { var name: String; var bytes_hex: String }
    struct Cases: Decodable { var cases: [Case] }
    struct File: Decodable { var requests: Cases; var responses: Cases }

    static func load() throws -> File {
        let data = try Data(contentsOf: TestPaths.knownAnswers)
        return try JSONDecoder().decode(File.self, from: data)
    }

    static let batchA = ByteBuffer(
        hex:
            "00000000000000000000003dffffffff02e641a44b0000000000000000018bcfe568000000018bcfe56800ffffffffffffffffffffffffffff0000000116000000010a68656c6c6f00"
    )

    static func frame<R: KafkaRequestMessage>(_ request: R, version: Int16, correlationId: Int32) throws -> String {
        var buffer = ByteBuffer()
        try KafkaFrame.writeRequest(
            request, version: version, correlationId: correlationId, clientId: "agent", into: &buffer)
        return buffer.hex
    }

    @Test func requests() throws {
        let file = try Self.load()
        var byName: [String: String] = [:]
        for c in file.requests.cases { byName[c.name] = c.bytes_hex }
        let produce = ProduceRequest(
            acks: -1, timeoutMs: 30000,
            topicData: [.init(name: "logs", partitionData: [.init(index: 0, records: Self.batchA)])])
        let built: [(String, String)] = [
            ("ApiVersions v0 corr=1 client=agent", try Self.frame(ApiVersionsRequest(), version: 0, correlationId: 1)),
            (
                "ApiVersions v3 corr=1 client=agent sw=swift-agent/0.1.0",
                try Self.frame(
                    ApiVersionsRequest(clientSoftwareName: "swift-agent", clientSoftwareVersion: "0.1.0"), version: 3,
                    correlationId: 1)
            ),
            (
                "Metadata v4 corr=2 topics=[logs] allowAuto=true",
                try Self.frame(MetadataRequest(topicNames: ["logs"]), version: 4, correlationId: 2)
            ),
            (
                "Metadata v12 corr=2 topics=[logs] allowAuto=false",
                try Self.frame(
                    MetadataRequest(topicNames: ["logs"], allowAutoTopicCreation: false), version: 12, correlationId: 2)
            ),
            (
                "InitProducerId v1 corr=3 txn=null timeout=2147483647",
                try Self.frame(InitProducerIdRequest(), version: 1, correlationId: 3)
            ),
            (
                "InitProducerId v4 corr=3 txn=null timeout=2147483647 pid=-1 epoch=-1",
                try Self.frame(InitProducerIdRequest(), version: 4, correlationId: 3)
            ),
            (
                "Produce v7 corr=4 acks=-1 timeout=30000 logs/0 batch A",
                try Self.frame(produce, version: 7, correlationId: 4)
            ),
            (
                "Produce v9 corr=4 acks=-1 timeout=30000 logs/0 batch A",
                try Self.frame(produce, version: 9, correlationId: 4)
            ),
            (
                "SaslHandshake v1 corr=5 mech=PLAIN",
                try Self.frame(SaslHandshakeRequest(mechanism: "PLAIN"), version: 1, correlationId: 5)
            ),
            (
                "SaslAuthenticate v2 corr=6 auth=\\0user\\0pass",
                try Self.frame(
                    SaslAuthenticateRequest(authBytes: ByteBuffer(bytes: Array("\0user\0pass".utf8))), version: 2,
                    correlationId: 6)
            ),
        ]
        #expect(built.count == file.requests.cases.count)
        for (name, hex) in built {
            let expected = try #require(byName[name], "no known-answer vector named \(name)")
            #expect(hex == expected, "\(name)")
        }
    }

    static func payload(_ hex: String) throws -> ByteBuffer {
        var frame = ByteBuffer(hex: hex)
        let payload = try #require(try KafkaFrame.readFrame(from: &frame))
        #expect(frame.readableBytes == 0)
        return payload
    }

    @Test func responses() throws {
        let cases = try Self.load().responses.cases
        #expect(cases.count == 4)
        let produceV7 = ProduceResponse(responses: [
            .init(
                name: "logs",
                partitionResponses: [
                    .init(index: 0, errorCode: 0, baseOffset: 42, logAppendTimeMs: -1, logStartOffset: 0)
                ])
        ])
        let apiVersions = ApiVersionsResponse(apiKeys: [
            .init(apiKey: .produce, minVersion: 0, maxVersion: 12),
            .init(apiKey: .apiVersions, minVersion: 0, maxVersion: 4),
        ])
        for c in cases {
            let payload = try Self.payload(c.bytes_hex)
            if c.name.hasPrefix("ProduceResponse v7") {
                let r = try KafkaFrame.readResponse(ProduceResponse.self, version: 7, payload: payload)
                #expect(r.header.correlationId == 4)
                #expect(r.body == produceV7)
            } else if c.name.hasPrefix("ProduceResponse v9") {
                let r = try KafkaFrame.readResponse(ProduceResponse.self, version: 9, payload: payload)
                #expect(r.header.correlationId == 4)
                #expect(r.body == produceV7)
            } else if c.name.hasPrefix("ApiVersionsResponse v3") {
                let r = try KafkaFrame.readResponse(ApiVersionsResponse.self, version: 3, payload: payload)
                #expect(r.header.correlationId == 1)
                #expect(r.body == apiVersions)
            } else if c.name.hasPrefix("ApiVersionsResponse v0") {
                let r = try KafkaFrame.readResponse(ApiVersionsResponse.self, version: 0, payload: payload)
                #expect(r.header.correlationId == 1)
                #expect(r.body == apiVersions)
            } else {
                Issue.record("unexpected known-answer response vector \(c.name)")
            }
        }
    }
}
