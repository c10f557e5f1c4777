import KafkaWire
import NIOCore
import Testing

/// The directions MessageVectorTests does not cover: test brokers read DescribeConfigs requests
/// and write responses, and both must agree with kafka-python's bytes.
@Suite struct DescribeConfigsTests {
    static let requests = MessageVector.requests.filter { $0.api == "DescribeConfigs" }
    static let responses = MessageVector.responses.filter { $0.api == "DescribeConfigs" }

    @Test func vectorsArePresent() {
        #expect(Self.requests.count == 8)
        #expect(Self.responses.count == 8)
    }

    @Test(arguments: requests)
    func requestReadsBackFromKafkaPythonBytes(_ vector: MessageVector) throws {
        var frame = ByteBuffer(hex: vector.hex)
        frame.moveReaderIndex(forwardBy: 4)
        let header = try KafkaRequestHeader.read(from: &frame, headerVersion: vector.version >= 4 ? 2 : 1)
        #expect(header.requestApiKey == .describeConfigs)
        #expect(header.requestApiVersion == vector.version)
        #expect(header.clientId == vector.clientId)
        let request = try DescribeConfigsRequest.read(from: &frame, version: vector.version)
        #expect(frame.readableBytes == 0)
        #expect(request == Requests.describeConfigs(vector.fields))
    }

    @Test(arguments: responses)
    func responseWritesKafkaPythonBytes(_ vector: MessageVector) throws {
        var body = ByteBuffer()
        try Responses.describeConfigs(vector.fields).write(into: &body, version: vector.version)
        #expect(body == vector.responseBody)
    }

    @Test func documentationCannotBeAskedBeforeV3() {
        var buffer = ByteBuffer()
        let request = DescribeConfigsRequest(
            resources: [.init(resourceType: .topic, resourceName: "logs")], includeDocumentation: true)
        #expect(throws: KafkaWireError.self) { try request.write(into: &buffer, version: 2) }
        #expect(throws: KafkaWireError.self) { try request.write(into: &buffer, version: 0) }
        #expect(throws: Never.self) { try request.write(into: &buffer, version: 3) }
    }

    @Test func truncatedResponseNamesTheField() throws {
        let vector = try #require(Self.responses.first { $0.version == 4 && $0.variant == "values" })
        let body = vector.responseBody
        for length in stride(from: 0, to: body.readableBytes, by: 7) {
            var cut = body.getSlice(at: body.readerIndex, length: length)!
            let error = #expect(throws: KafkaWireError.self) {
                try DescribeConfigsResponse.readComplete(from: &cut, version: 4)
            }
            #expect(error?.location.hasPrefix("DescribeConfigsResponse v4") == true)
        }
    }
}
