import KafkaWire
import NIOCore
import Testing

/// Malformed input throws a KafkaWireError; it never traps and never allocates for a count the
/// input cannot back.
@Suite struct MalformedResponseTests {
    @Test(arguments: MessageVector.responses)
    func everyStrictPrefixThrows(_ vector: MessageVector) {
        let body = vector.responseBody
        for length in 0..<body.readableBytes {
            let prefix = body.getSlice(at: body.readerIndex, length: length)!
            #expect(throws: KafkaWireError.self, "prefix of \(length) bytes") {
                try Responses.decode(api: vector.api, version: vector.version, body: prefix)
            }
        }
        var extended = body
        extended.writeInteger(UInt8(0))
        #expect(throws: KafkaWireError.self) {
            try Responses.decode(api: vector.api, version: vector.version, body: extended)
        }
    }

    @Test(arguments: MessageVector.responses)
    func randomByteFlipsNeverCrash(_ vector: MessageVector) {
        var random = SplitMix64(state: UInt64(bitPattern: Int64(vector.correlationId)))
        let body = vector.responseBody
        guard body.readableBytes > 0 else { return }
        for _ in 0..<300 {
            var mutated = body
            for _ in 0..<Int.random(in: 1...3, using: &random) {
                let offset = mutated.readerIndex + Int.random(in: 0..<mutated.readableBytes, using: &random)
                let byte = mutated.getInteger(at: offset, as: UInt8.self)!
                mutated.setInteger(byte ^ UInt8.random(in: 1...255, using: &random), at: offset)
            }
            do {
                _ = try Responses.decode(api: vector.api, version: vector.version, body: mutated)
            } catch is KafkaWireError {
            } catch {
                Issue.record("unexpected error type \(error)")
            }
        }
    }

    /// Bodies whose first array claims 0x7fffffff elements.
    static let absurdCounts: [(String, Int16, String)] = [
        ("Produce", 3, "7fffffff"),
        ("Produce", 9, "ffffffff07"),  // compact: uvarint 0x7fffffff (count 0x7ffffffe)
        ("Metadata", 1, "7fffffff"),
        ("Metadata", 3, "00000000" + "7fffffff"),
        ("Metadata", 12, "00000000" + "ffffffff07"),
        ("ApiVersions", 0, "0000" + "7fffffff"),
        ("ApiVersions", 3, "0000" + "ffffffff07"),
        ("SaslHandshake", 1, "0000" + "7fffffff"),
        ("Metadata", 1, "00000000" + "ffffffff" + "7fffffff"),  // no brokers, controller, then topics
    ]

    @Test(arguments: 0..<absurdCounts.count)
    func absurdArrayCountThrowsBeforeAllocating(_ index: Int) {
        let (api, version, hex) = Self.absurdCounts[index]
        var body = ByteBuffer(hex: hex)
        body.writeRepeatingByte(0, count: 64)
        let error = #expect(throws: KafkaWireError.self) {
            try Responses.decode(api: api, version: version, body: body)
        }
        #expect(error?.code == .invalidLength)
    }

    @Test func errorsNameTheSchemaPath() throws {
        // ProduceResponse v8: topic "t" with two partitions; the second has a record error whose
        // message is not UTF-8.
        let offsets = String(repeating: "00", count: 24)
        let body = ByteBuffer(
            hex: "00000001" + "000174" + "00000002"
                + "00000000" + "0000" + offsets + "00000000" + "ffff"
                + "00000001" + "0000" + offsets + "00000001" + "00000002" + "0001ff" + "ffff"
                + "00000000")
        let error = try #require(throws: KafkaWireError.self) {
            try Responses.decode(api: "Produce", version: 8, body: body)
        }
        #expect(error.code == .invalidValue)
        #expect(
            error.location
                == "ProduceResponse v8 .Responses[0].PartitionResponses[1].RecordErrors[0].BatchIndexErrorMessage")
        // A count the remaining bytes cannot hold is reported at the array.
        let short = ByteBuffer(hex: "02" + "0274" + "02" + "00000001" + "0000" + "00000000")
        let countError = try #require(throws: KafkaWireError.self) {
            try Responses.decode(api: "Produce", version: 9, body: short)
        }
        #expect(countError.code == .invalidLength)
        #expect(countError.location == "ProduceResponse v9 .Responses[0].PartitionResponses")
    }

    @Test func nullNameBeforeV12IsRejected() throws {
        // Metadata v10 with no brokers, no cluster id, and one topic whose name is null.
        let body = ByteBuffer(
            hex: "00000000" + "01" + "00" + "ffffffff" + "02"
                + "0000" + "00" + String(repeating: "00", count: 16) + "00" + "01" + "00000000" + "00"
                + "00000000" + "00")
        let error = try #require(throws: KafkaWireError.self) {
            try Responses.decode(api: "Metadata", version: 10, body: body)
        }
        #expect(error.code == .invalidValue)
        #expect(error.location == "MetadataResponse v10 .Topics[0].Name")
    }

    @Test func unknownTaggedFieldsAreSkipped() throws {
        // InitProducerId v2 with an unknown tag 7 of 3 bytes at the end.
        let body = ByteBuffer(hex: "00000000" + "0000" + "0000000000000005" + "0001" + "01" + "07" + "03" + "aabbcc")
        let decoded = try Responses.decode(api: "InitProducerId", version: 2, body: body)
        #expect(decoded == AnyHashable(InitProducerIdResponse(producerId: 5, producerEpoch: 1)))
    }

    @Test func knownTaggedFieldWithExtraBytesIsRejected() {
        // ProduceResponse v10, no topics, throttle 0, NodeEndpoints tag holding an empty array plus a stray byte.
        let body = ByteBuffer(hex: "01" + "00000000" + "01" + "00" + "02" + "01" + "ff")
        #expect(throws: KafkaWireError.self) {
            try Responses.decode(api: "Produce", version: 10, body: body)
        }
    }

    @Test func unsupportedVersionsAreRejected() {
        var body = ByteBuffer()
        #expect(throws: KafkaWireError.self) { try ProduceResponse.read(from: &body, version: 13) }
        #expect(throws: KafkaWireError.self) { try ProduceResponse.read(from: &body, version: 2) }
        #expect(throws: KafkaWireError.self) { try MetadataResponse.read(from: &body, version: 0) }
        #expect(throws: KafkaWireError.self) { try InitProducerIdResponse.read(from: &body, version: 6) }
    }
}

/// Values a request version cannot express are rejected, and a failed write leaves no bytes.
@Suite struct RequestValidationTests {
    static func code<R: KafkaRequestMessage>(_ request: R, version: Int16) -> KafkaWireError.Code? {
        var buffer = ByteBuffer()
        buffer.writeString("keep")
        do {
            try KafkaFrame.writeRequest(request, version: version, correlationId: 1, clientId: "c", into: &buffer)
            return nil
        } catch let error as KafkaWireError {
            #expect(buffer.readableBytes == 4, "a failed write must leave the buffer as it was")
            return error.code
        } catch {
            return nil
        }
    }

    @Test func metadataFieldsOutsideTheirVersions() {
        let byId = MetadataRequest(topics: [
            .init(topicId: KafkaUUID(mostSignificantBits: 1, leastSignificantBits: 2), name: "t")
        ])
        #expect(Self.code(byId, version: 9) == .invalidValue)
        #expect(Self.code(byId, version: 10) == nil)
        let nullName = MetadataRequest(topics: [.init(name: nil)])
        #expect(Self.code(nullName, version: 9) == .invalidValue)
        #expect(Self.code(nullName, version: 10) == nil)
        let noAutoCreate = MetadataRequest(topicNames: ["t"], allowAutoTopicCreation: false)
        #expect(Self.code(noAutoCreate, version: 3) == .invalidValue)
        #expect(Self.code(noAutoCreate, version: 4) == nil)
        let clusterOps = MetadataRequest(includeClusterAuthorizedOperations: true)
        #expect(Self.code(clusterOps, version: 7) == .invalidValue)
        #expect(Self.code(clusterOps, version: 10) == nil)
        #expect(Self.code(clusterOps, version: 11) == .invalidValue)
        let topicOps = MetadataRequest(includeTopicAuthorizedOperations: true)
        #expect(Self.code(topicOps, version: 7) == .invalidValue)
        #expect(Self.code(topicOps, version: 8) == nil)
    }

    @Test func initProducerIdEpochBeforeV3() {
        let bump = InitProducerIdRequest(
            transactionalId: "t", transactionTimeoutMs: 1000, producerId: 5, producerEpoch: 2)
        #expect(Self.code(bump, version: 2) == .invalidValue)
        #expect(Self.code(bump, version: 3) == nil)
    }

    @Test func apiVersionsSoftwareFieldsAreIgnoredBeforeV3() throws {
        var a = ByteBuffer()
        var b = ByteBuffer()
        try KafkaFrame.writeRequest(
            ApiVersionsRequest(clientSoftwareName: "x", clientSoftwareVersion: "1"), version: 2, correlationId: 1,
            clientId: "c", into: &a)
        try KafkaFrame.writeRequest(ApiVersionsRequest(), version: 2, correlationId: 1, clientId: "c", into: &b)
        #expect(a == b)
    }

    @Test func unsupportedVersionsAndOverlongStrings() {
        let produce = ProduceRequest(acks: 1, timeoutMs: 1, topicData: [])
        #expect(Self.code(produce, version: 13) == .unsupportedVersion)
        #expect(Self.code(produce, version: 2) == .unsupportedVersion)
        #expect(Self.code(MetadataRequest(), version: 0) == .unsupportedVersion)
        #expect(Self.code(InitProducerIdRequest(), version: 6) == .unsupportedVersion)
        let long = String(repeating: "x", count: 32768)
        #expect(Self.code(SaslHandshakeRequest(mechanism: long), version: 1) == .invalidValue)
        #expect(
            Self.code(
                ProduceRequest(acks: 1, timeoutMs: 1, topicData: [.init(name: long, partitionData: [])]), version: 9)
                == .invalidValue)
    }
}
