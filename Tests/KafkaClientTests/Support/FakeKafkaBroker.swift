import KafkaWire
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A broker that says what a test tells it to: it answers ApiVersions (offering the versions the
/// test chose), and hands every other request to `respond`, whose answer is written as crafted
/// bytes. Its responses are built by hand (not with KafkaWire, which has no response writers), so
/// a test can send exactly the malformed answer it wants. Listens on 127.0.0.1 only.
final class FakeKafkaBroker: Sendable {
    /// A request as the broker read it.
    struct Request: Sendable {
        var apiKey: Int16
        var apiVersion: Int16
        var correlationId: Int32
        /// The body after the request header (header v1: client id; no tagged fields are offered).
        var body: ByteBuffer
        /// How many requests of this API key came before this one, on any connection.
        var ordinal: Int
        /// The port the broker listens on (for Metadata answers that name it).
        var brokerPort: Int
    }

    /// What to do with a request.
    enum Response: Sendable {
        /// A response body: the broker adds the size and the v0 response header.
        case body(ByteBuffer)
        /// Bytes written as they are (no size, no header): for broken frames.
        case raw(ByteBuffer)
        /// Bytes written as they are, then the connection closes.
        case rawThenClose(ByteBuffer)
        /// No answer at all.
        case silence
    }

    let port: Int
    private let channel: any Channel
    private let group: MultiThreadedEventLoopGroup
    /// Requests received per API key, on any connection.
    private let counts: NIOLockedValueBox<[Int16: Int]>

    /// Starts the broker. `versions` are the API versions it offers (ApiVersions itself is
    /// always offered 0...3); every request except ApiVersions goes to `respond`.
    static func start(
        versions: [Int16: ClosedRange<Int16>], respond: @escaping @Sendable (Request) -> Response
    ) async throws -> FakeKafkaBroker {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let counts = NIOLockedValueBox<[Int16: Int]>([:])
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(KafkaFrameDecoder()))
                    try channel.pipeline.syncOperations.addHandler(
                        Handler(versions: versions, respond: respond, counts: counts))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return FakeKafkaBroker(channel: channel, group: group, counts: counts)
    }

    private init(channel: any Channel, group: MultiThreadedEventLoopGroup, counts: NIOLockedValueBox<[Int16: Int]>) {
        self.channel = channel
        self.group = group
        self.port = channel.localAddress!.port!
        self.counts = counts
    }

    /// Requests of `apiKey` received so far.
    func requestCount(apiKey: Int16) -> Int { counts.withLockedValue { $0[apiKey] ?? 0 } }

    var bootstrapServers: String { "127.0.0.1:\(port)" }

    func stop() async {
        try? await channel.close()
        try? await group.shutdownGracefully()
    }

    private final class Handler: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer

        let versions: [Int16: ClosedRange<Int16>]
        let respond: @Sendable (Request) -> Response
        let counts: NIOLockedValueBox<[Int16: Int]>

        init(
            versions: [Int16: ClosedRange<Int16>], respond: @escaping @Sendable (Request) -> Response,
            counts: NIOLockedValueBox<[Int16: Int]>
        ) {
            self.versions = versions
            self.respond = respond
            self.counts = counts
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var frame = unwrapInboundIn(data)
            guard let apiKey = frame.readInteger(as: Int16.self), let version = frame.readInteger(as: Int16.self),
                let correlationId = frame.readInteger(as: Int32.self),
                let clientIdLength = frame.readInteger(as: Int16.self)
            else {
                context.close(promise: nil)
                return
            }
            if clientIdLength > 0 { frame.moveReaderIndex(forwardBy: Int(clientIdLength)) }
            let ordinal = counts.withLockedValue { counts in
                defer { counts[apiKey, default: 0] += 1 }
                return counts[apiKey] ?? 0
            }
            let response: Response
            if apiKey == KafkaApiKey.apiVersions.rawValue {
                response = .body(FakeKafkaBroker.apiVersionsBody(version: version, offered: versions))
            } else {
                // The other APIs are offered only in versions with v1 request headers (no tagged fields).
                response = respond(
                    Request(
                        apiKey: apiKey, apiVersion: version, correlationId: correlationId, body: frame,
                        ordinal: ordinal,
                        brokerPort: context.channel.localAddress?.port ?? 0))
            }
            switch response {
            case .body(let body):
                var out = context.channel.allocator.buffer(capacity: body.readableBytes + 8)
                out.writeInteger(Int32(body.readableBytes + 4))
                out.writeInteger(correlationId)
                out.writeImmutableBuffer(body)
                context.writeAndFlush(wrapOutboundOut(out), promise: nil)
            case .raw(let bytes):
                context.writeAndFlush(wrapOutboundOut(bytes), promise: nil)
            case .rawThenClose(let bytes):
                let channel = context.channel
                context.writeAndFlush(wrapOutboundOut(bytes)).whenComplete { _ in channel.close(promise: nil) }
            case .silence:
                break
            }
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            context.close(promise: nil)
        }
    }

    /// ApiVersions: v0–v2 are plain, v3+ flexible (its response header stays v0).
    static func apiVersionsBody(version: Int16, offered: [Int16: ClosedRange<Int16>]) -> ByteBuffer {
        var all = offered
        all[KafkaApiKey.apiVersions.rawValue] = 0...3
        let entries = all.sorted { $0.key < $1.key }
        var body = ByteBuffer()
        if version > 3 {
            // Offered up to v3: the client asks again at 3.
            body.writeInteger(Int16(35))
            body.writeInteger(Int32(1))
            body.writeInteger(KafkaApiKey.apiVersions.rawValue)
            body.writeInteger(Int16(0))
            body.writeInteger(Int16(3))
            return body
        }
        body.writeInteger(Int16(0))
        if version >= 3 {
            body.writeUnsignedVarint(UInt32(entries.count + 1))
        } else {
            body.writeInteger(Int32(entries.count))
        }
        for (key, range) in entries {
            body.writeInteger(key)
            body.writeInteger(range.lowerBound)
            body.writeInteger(range.upperBound)
            if version >= 3 { body.writeInteger(UInt8(0)) }
        }
        if version >= 1 { body.writeInteger(Int32(0)) }  // throttle_time_ms
        if version >= 3 { body.writeInteger(UInt8(0)) }  // tagged fields
        return body
    }
}

// MARK: - Hand-built answers

extension FakeKafkaBroker {
    struct MetadataBroker {
        var nodeId: Int32
        var host: String
        var port: Int32
    }

    struct MetadataPartition {
        var index: Int32
        var leader: Int32
        var errorCode: Int16 = 0
    }

    struct MetadataTopic {
        var name: String
        var errorCode: Int16 = 0
        var partitions: [MetadataPartition]
    }

    /// A Metadata v1 response body.
    static func metadataV1(brokers: [MetadataBroker], topics: [MetadataTopic]) -> ByteBuffer {
        var body = ByteBuffer()
        body.writeInteger(Int32(brokers.count))
        for broker in brokers {
            body.writeInteger(broker.nodeId)
            body.writeShortString(broker.host)
            body.writeInteger(broker.port)
            body.writeInteger(Int16(-1))  // rack: null
        }
        body.writeInteger(Int32(brokers.first?.nodeId ?? -1))  // controller_id
        body.writeInteger(Int32(topics.count))
        for topic in topics {
            body.writeInteger(topic.errorCode)
            body.writeShortString(topic.name)
            body.writeInteger(UInt8(0))  // is_internal
            body.writeInteger(Int32(topic.partitions.count))
            for partition in topic.partitions {
                body.writeInteger(partition.errorCode)
                body.writeInteger(partition.index)
                body.writeInteger(partition.leader)
                body.writeInteger(Int32(1))  // replicas
                body.writeInteger(partition.leader)
                body.writeInteger(Int32(1))  // isr
                body.writeInteger(partition.leader)
            }
        }
        return body
    }

    /// The topic names and partitions of a Produce v3 request, and its record count per
    /// partition (from each batch's header).
    struct ProduceData {
        var acks: Int16
        var partitions: [(topic: String, partition: Int32, records: Int32)]
    }

    static func parseProduceV3(_ request: Request) -> ProduceData? {
        var body = request.body
        guard let transactionalLength = body.readInteger(as: Int16.self) else { return nil }
        if transactionalLength > 0 { body.moveReaderIndex(forwardBy: Int(transactionalLength)) }
        guard let acks = body.readInteger(as: Int16.self), body.readInteger(as: Int32.self) != nil,
            let topicCount = body.readInteger(as: Int32.self)
        else { return nil }
        var data = ProduceData(acks: acks, partitions: [])
        for _ in 0..<topicCount {
            guard let nameLength = body.readInteger(as: Int16.self),
                let name = body.readString(length: Int(nameLength)),
                let partitionCount = body.readInteger(as: Int32.self)
            else { return nil }
            for _ in 0..<partitionCount {
                guard let index = body.readInteger(as: Int32.self), let size = body.readInteger(as: Int32.self),
                    let batch = body.readSlice(length: Int(size))
                else { return nil }
                // RecordBatch: records count is the int32 at offset 57.
                let records = batch.getInteger(at: batch.readerIndex + 57, as: Int32.self) ?? 0
                data.partitions.append((name, index, records))
            }
        }
        return data
    }

    /// A Produce v3 response body: every partition of `data` stored at `baseOffset(topic, partition)`.
    static func produceV3(_ data: ProduceData, errorCode: Int16 = 0, baseOffset: (String, Int32) -> Int64)
        -> ByteBuffer
    {
        let byTopic = Dictionary(grouping: data.partitions, by: \.topic)
        var body = ByteBuffer()
        body.writeInteger(Int32(byTopic.count))
        for (topic, partitions) in byTopic {
            body.writeShortString(topic)
            body.writeInteger(Int32(partitions.count))
            for partition in partitions {
                body.writeInteger(partition.partition)
                body.writeInteger(errorCode)
                body.writeInteger(baseOffset(topic, partition.partition))
                body.writeInteger(Int64(-1))  // log_append_time
            }
        }
        body.writeInteger(Int32(0))  // throttle_time_ms
        return body
    }
}

extension ByteBuffer {
    fileprivate mutating func writeShortString(_ string: String) {
        writeInteger(Int16(string.utf8.count))
        writeString(string)
    }
}
