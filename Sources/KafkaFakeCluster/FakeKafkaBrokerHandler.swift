import KafkaWire
import NIOConcurrencyHelpers
import NIOCore

/// One connection to one fake broker: reads request frames, writes the answers the spec gives.
/// A request it cannot read closes the connection, as a broker does.
final class FakeKafkaBrokerHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// The versions offered besides DescribeConfigs (whose range the spec sets). Metadata is
    /// offered at v4 only: the lowest that can refuse auto-creation, and the one this fake writes.
    static let apiVersionsRange: ClosedRange<Int16> = 0...3
    static let metadataVersion: Int16 = 4

    let nodeId: Int32
    let spec: NIOLockedValueBox<FakeClusterSpec>
    let ports: NIOLockedValueBox<[Int32: Int]>
    let requests: NIOLockedValueBox<[FakeKafkaCluster.FakeRequest]>

    init(
        nodeId: Int32, spec: NIOLockedValueBox<FakeClusterSpec>, ports: NIOLockedValueBox<[Int32: Int]>,
        requests: NIOLockedValueBox<[FakeKafkaCluster.FakeRequest]>
    ) {
        self.nodeId = nodeId
        self.spec = spec
        self.ports = ports
        self.requests = requests
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var frame = unwrapInboundIn(data)
        do {
            guard let key = frame.getInteger(at: frame.readerIndex, as: Int16.self),
                let version = frame.getInteger(at: frame.readerIndex + 2, as: Int16.self)
            else { throw KafkaWireError(.truncated, "request header", location: "fake broker") }
            let apiKey = KafkaApiKey(rawValue: key)
            let flexible =
                (apiKey == .apiVersions && version >= 3) || (apiKey == .describeConfigs && version >= 4)
                || (apiKey == .metadata && version >= 9)
            let header = try KafkaRequestHeader.read(from: &frame, headerVersion: flexible ? 2 : 1)
            var received = FakeKafkaCluster.FakeRequest(
                nodeId: nodeId, apiKey: apiKey, apiVersion: version, clientId: header.clientId)
            defer { requests.withLockedValue { [received] in $0.append(received) } }
            let current = spec.withLockedValue { $0 }
            var body = context.channel.allocator.buffer(capacity: 256)
            var responseHeaderVersion: Int16 = 0
            switch apiKey {
            case .apiVersions:
                Self.writeApiVersions(version: version, spec: current, into: &body)
            case .metadata where version == Self.metadataVersion:
                let topics = try Self.readMetadataV4Topics(&frame)
                received.allowAutoTopicCreation = try frame.readKafkaBool(at: "AllowAutoTopicCreation")
                Self.writeMetadataV4(
                    topics: topics, spec: current, ports: ports.withLockedValue { $0 }, into: &body)
            case .describeConfigs where current.describeConfigsVersions?.contains(version) == true:
                let request = try DescribeConfigsRequest.read(from: &frame, version: version)
                try answer(request, spec: current).write(into: &body, version: version)
                responseHeaderVersion = DescribeConfigsResponse.isFlexible(version) ? 1 : 0
            default:
                context.close(promise: nil)
                return
            }
            var out = context.channel.allocator.buffer(capacity: body.readableBytes + 9)
            let start = out.writerIndex
            out.writeInteger(Int32(0))
            KafkaResponseHeader(correlationId: header.correlationId).write(
                into: &out, headerVersion: responseHeaderVersion)
            out.writeImmutableBuffer(body)
            out.setInteger(Int32(out.writerIndex - start - 4), at: start)
            context.writeAndFlush(wrapOutboundOut(out), promise: nil)
        } catch {
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    // MARK: Answers

    func answer(_ request: DescribeConfigsRequest, spec: FakeClusterSpec) -> DescribeConfigsResponse {
        DescribeConfigsResponse(
            results: request.resources.map { resource in
                let name = resource.resourceName
                func result(_ configs: [String: String]) -> DescribeConfigsResponse.DescribeConfigsResult {
                    let keys = resource.configurationKeys ?? configs.keys.sorted()
                    return .init(
                        resourceType: resource.resourceType, resourceName: name,
                        configs: keys.compactMap { key in
                            configs[key].map { .init(name: key, value: $0, configSource: .defaultConfig) }
                        })
                }
                func failure(_ code: Int16, _ message: String?) -> DescribeConfigsResponse.DescribeConfigsResult {
                    .init(
                        errorCode: code, errorMessage: message, resourceType: resource.resourceType, resourceName: name)
                }
                switch resource.resourceType {
                case .topic:
                    if let error = spec.describeConfigsErrors["topic:\(name)"] {
                        return failure(error.code, error.message)
                    }
                    guard let topic = spec.topics.first(where: { $0.name == name }) else {
                        return failure(KafkaErrorCode.unknownTopicOrPartition.rawValue, "Topic \(name) does not exist.")
                    }
                    return result(topic.configs)
                case .broker:
                    if let error = spec.describeConfigsErrors["broker:\(name)"] {
                        return failure(error.code, error.message)
                    }
                    guard name.isEmpty || name == "\(nodeId)",
                        let broker = spec.brokers.first(where: { $0.nodeId == nodeId })
                    else {
                        // Kafka's words for a BROKER resource sent to another broker.
                        return failure(
                            42, "Unexpected broker id, expected \(nodeId) or empty string, but received \(name)")
                    }
                    return result(broker.configs)
                default:
                    return failure(42, "Unsupported resource type \(resource.resourceType)")
                }
            })
    }

    /// ApiVersions v0–v3; a newer request gets UNSUPPORTED_VERSION with a v0 body (KIP-511).
    static func writeApiVersions(version: Int16, spec: FakeClusterSpec, into body: inout ByteBuffer) {
        var offered: [(KafkaApiKey, ClosedRange<Int16>)] = [
            (.metadata, metadataVersion...metadataVersion), (.apiVersions, apiVersionsRange),
        ]
        if let range = spec.describeConfigsVersions { offered.append((.describeConfigs, range)) }
        offered.sort { $0.0.rawValue < $1.0.rawValue }
        guard apiVersionsRange.contains(version) else {
            body.writeInteger(ApiVersionsResponse.unsupportedVersionErrorCode)
            body.writeInteger(Int32(1))
            body.writeInteger(KafkaApiKey.apiVersions.rawValue)
            body.writeInteger(apiVersionsRange.lowerBound)
            body.writeInteger(apiVersionsRange.upperBound)
            return
        }
        let flexible = version >= 3
        body.writeInteger(Int16(0))
        body.writeKafkaArrayCount(offered.count, flexible: flexible)
        for (key, range) in offered {
            body.writeInteger(key.rawValue)
            body.writeInteger(range.lowerBound)
            body.writeInteger(range.upperBound)
            if flexible { body.writeEmptyTaggedFields() }
        }
        if version >= 1 { body.writeInteger(Int32(0)) }  // ThrottleTimeMs
        if flexible { body.writeEmptyTaggedFields() }
    }

    /// The topic names of a Metadata v4 request (nil: all topics).
    static func readMetadataV4Topics(_ body: inout ByteBuffer) throws -> [String]? {
        guard let count = try body.readKafkaArrayCount(flexible: false, minimumElementSize: 2, at: "Topics") else {
            return nil
        }
        return try (0..<count).map { _ in try body.readKafkaString(flexible: false, at: "Topics.Name") }
    }

    /// A Metadata v4 body: every broker, and each asked-for topic (UNKNOWN_TOPIC_OR_PARTITION
    /// for those the spec does not have; a fake never auto-creates).
    static func writeMetadataV4(
        topics names: [String]?, spec: FakeClusterSpec, ports: [Int32: Int], into body: inout ByteBuffer
    ) {
        body.writeInteger(Int32(0))  // ThrottleTimeMs
        body.writeInteger(Int32(spec.brokers.count))
        for broker in spec.brokers {
            body.writeInteger(broker.nodeId)
            body.writeKafkaString("127.0.0.1", flexible: false)
            body.writeInteger(Int32(ports[broker.nodeId] ?? 0))
            body.writeKafkaNullableString(broker.rack, flexible: false)
        }
        body.writeKafkaNullableString(spec.clusterId, flexible: false)
        body.writeInteger(spec.brokers.first?.nodeId ?? -1)  // ControllerId
        let wanted = names ?? spec.topics.map(\.name)
        body.writeInteger(Int32(wanted.count))
        for name in wanted {
            guard let topic = spec.topics.first(where: { $0.name == name }) else {
                body.writeInteger(KafkaErrorCode.unknownTopicOrPartition.rawValue)
                body.writeKafkaString(name, flexible: false)
                body.writeKafkaBool(false)
                body.writeInteger(Int32(0))
                continue
            }
            body.writeInteger(Int16(0))
            body.writeKafkaString(name, flexible: false)
            body.writeKafkaBool(false)  // IsInternal
            body.writeInteger(Int32(topic.partitions.count))
            for (index, partition) in topic.partitions.enumerated() {
                body.writeInteger(Int16(partition.leader < 0 ? 5 : 0))  // LEADER_NOT_AVAILABLE
                body.writeInteger(Int32(index))
                body.writeInteger(partition.leader)
                body.writeInteger(Int32(partition.replicas.count))
                for replica in partition.replicas { body.writeInteger(replica) }
                body.writeInteger(Int32(partition.isr.count))
                for replica in partition.isr { body.writeInteger(replica) }
            }
        }
    }
}
