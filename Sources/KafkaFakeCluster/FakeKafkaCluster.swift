import KafkaWire
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Brokers on 127.0.0.1 (one port each, chosen by the system) that answer ApiVersions, Metadata
/// and DescribeConfigs from a `FakeClusterSpec`: a cluster whose configuration a test chooses,
/// which librdkafka's mock cannot be (it has no DescribeConfigs). Test support only.
///
/// Like Kafka, a broker answers BROKER resources only for its own id (or "" for the cluster
/// defaults) and refuses other ids with INVALID_REQUEST, so a client must ask each broker itself.
public final class FakeKafkaCluster: Sendable {
    /// The spec, changeable while running (answers read it per request).
    private let state: NIOLockedValueBox<FakeClusterSpec>
    private let requests: NIOLockedValueBox<[FakeRequest]>
    private let channels: [any Channel]
    private let group: MultiThreadedEventLoopGroup
    /// Each broker's port, by node id.
    public let ports: [Int32: Int]

    /// A request as a broker read it.
    public struct FakeRequest: Sendable, Hashable {
        public var nodeId: Int32
        public var apiKey: KafkaApiKey
        public var apiVersion: Int16
        public var clientId: String?
        /// A Metadata request's `AllowAutoTopicCreation`; nil for other requests.
        public var allowAutoTopicCreation: Bool?
    }

    public static func start(_ spec: FakeClusterSpec) async throws -> FakeKafkaCluster {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let state = NIOLockedValueBox(spec)
        let requests = NIOLockedValueBox<[FakeRequest]>([])
        var channels: [any Channel] = []
        var ports: [Int32: Int] = [:]
        let portsBox = NIOLockedValueBox<[Int32: Int]>([:])
        do {
            for broker in spec.brokers {
                let nodeId = broker.nodeId
                let channel = try await ServerBootstrap(group: group)
                    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                    .childChannelInitializer { channel in
                        channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.addHandler(
                                ByteToMessageHandler(KafkaFrameDecoder()))
                            try channel.pipeline.syncOperations.addHandler(
                                FakeKafkaBrokerHandler(
                                    nodeId: nodeId, spec: state, ports: portsBox, requests: requests))
                        }
                    }
                    .bind(host: "127.0.0.1", port: 0).get()
                let port = channel.localAddress?.port ?? 0
                ports[nodeId] = port
                if broker.isUnreachable {
                    // The port was free a moment ago and nothing listens on it now: connects are refused.
                    try await channel.close()
                } else {
                    channels.append(channel)
                }
            }
        } catch {
            for channel in channels { try? await channel.close() }
            try? await group.shutdownGracefully()
            throw error
        }
        portsBox.withLockedValue { $0 = ports }
        return FakeKafkaCluster(state: state, requests: requests, channels: channels, group: group, ports: ports)
    }

    private init(
        state: NIOLockedValueBox<FakeClusterSpec>, requests: NIOLockedValueBox<[FakeRequest]>, channels: [any Channel],
        group: MultiThreadedEventLoopGroup, ports: [Int32: Int]
    ) {
        self.state = state
        self.requests = requests
        self.channels = channels
        self.group = group
        self.ports = ports
    }

    /// `host:port` of every reachable broker, for `bootstrap.servers`.
    public var bootstrapServers: [String] {
        let spec = state.withLockedValue { $0 }
        return spec.brokers.filter { !$0.isUnreachable }.compactMap { ports[$0.nodeId].map { "127.0.0.1:\($0)" } }
    }

    /// Every request received so far, in arrival order.
    public var receivedRequests: [FakeRequest] { requests.withLockedValue { $0 } }

    public func stop() async {
        for channel in channels { try? await channel.close() }
        try? await group.shutdownGracefully()
    }
}
