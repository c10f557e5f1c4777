import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle

#if canImport(Glibc)
    import Glibc
#endif

/// Serves `MetricsEndpoint` over HTTP/1.1 on a TCP address or a UNIX socket, until graceful
/// shutdown. As a `Service` listed before the pipeline in its group, it is stopped after the
/// pipeline: `/health` says "draining" while the agent delivers what it read.
public final class MetricsServer: Service, Sendable {
    public enum Address: Sendable {
        case tcp(host: String, port: Int)
        case unix(path: String)
    }

    private let address: Address
    private let channel: any Channel
    /// The address listened on (port 0 resolved): `host:port` or `unix:/path`.
    public let boundAddress: String
    private let logger: Logger

    private init(address: Address, channel: any Channel, boundAddress: String, logger: Logger) {
        self.address = address
        self.channel = channel
        self.boundAddress = boundAddress
        self.logger = logger
    }

    /// Listens, before anything else starts: an address that cannot be had stops the agent
    /// before it reads a line.
    ///
    /// - Throws: `MetricsServerError` naming the address and why.
    public static func bind(
        _ address: Address, endpoint: MetricsEndpoint,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, logger: Logger
    ) async throws -> MetricsServer {
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline(withErrorHandling: true).flatMap {
                    channel.pipeline.addHandler(MetricsHTTPHandler(endpoint: endpoint))
                }
            }
        let channel: any Channel
        do {
            switch address {
            case .tcp(let host, let port):
                channel = try await bootstrap.bind(host: host, port: port).get()
            case .unix(let path):
                // A socket file left by a previous run would make bind fail; only a socket is removed.
                var status = stat()
                if lstat(path, &status) == 0, status.st_mode & S_IFMT == S_IFSOCK { unlink(path) }
                channel = try await bootstrap.bind(unixDomainSocketPath: path).get()
            }
        } catch {
            throw MetricsServerError(address: "\(address)", reason: "\(error)")
        }
        let bound: String
        switch address {
        case .tcp(let host, _):
            let port = channel.localAddress?.port ?? 0
            bound = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        case .unix(let path): bound = "unix:\(path)"
        }
        logger.info("Serving /metrics and /health", metadata: ["listen": "\(bound)"])
        return MetricsServer(address: address, channel: channel, boundAddress: bound, logger: logger)
    }

    /// Serves until graceful shutdown, then closes the listener.
    public func run() async throws {
        try? await gracefulShutdown()
        try? await channel.close()
        if case .unix(let path) = address { unlink(path) }
    }
}

/// Why the metrics server could not listen.
public struct MetricsServerError: Error, Sendable, CustomStringConvertible {
    public var address: String
    public var reason: String
    public var description: String { "agent.metrics_listen \(address): cannot listen: \(reason)" }
}

extension MetricsServer.Address: CustomStringConvertible {
    public var description: String {
        switch self {
        case .tcp(let host, let port): host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        case .unix(let path): "unix:\(path)"
        }
    }
}
