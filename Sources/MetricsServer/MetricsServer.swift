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
    private let connections: OpenConnections
    /// The address listened on (port 0 resolved): `host:port` or `unix:/path`.
    public let boundAddress: String

    /// How long a connection may stay silent: a scrape takes milliseconds, so a client silent
    /// this long is gone or hostile.
    public static let defaultIdleTimeout = TimeAmount.seconds(30)
    /// Prometheus, a health probe and a person need a handful. Beyond this, new connections are
    /// closed at once, so no local user can spend the agent's descriptors (shared with its files).
    public static let defaultMaxConnections = 32

    private init(
        address: Address, channel: any Channel, connections: OpenConnections, boundAddress: String
    ) {
        self.address = address
        self.channel = channel
        self.connections = connections
        self.boundAddress = boundAddress
    }

    /// Listens, before anything else starts: an address that cannot be had stops the agent
    /// before it reads a line.
    ///
    /// - Throws: `MetricsServerError` naming the address and why.
    public static func bind(
        _ address: Address, endpoint: MetricsEndpoint,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, logger: Logger,
        idleTimeout: TimeAmount = defaultIdleTimeout, maxConnections: Int = defaultMaxConnections
    ) async throws -> MetricsServer {
        let connections = OpenConnections()
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                guard connections.admit(channel, limit: maxConnections) else {
                    return channel.close()
                }
                return channel.pipeline.configureHTTPServerPipeline(withErrorHandling: true).flatMapThrowing {
                    try channel.pipeline.syncOperations.addHandlers(
                        IdleStateHandler(readTimeout: idleTimeout), MetricsHTTPHandler(endpoint: endpoint))
                }
            }
        let channel: any Channel
        do {
            switch address {
            case .tcp(let host, let port):
                channel = try await bootstrap.bind(host: host, port: port).get()
            case .unix(let path):
                // A socket file left by a previous run would make bind fail; only a socket nobody
                // listens on is removed (a live one belongs to another agent).
                var status = stat()
                if lstat(path, &status) == 0, status.st_mode & S_IFMT == S_IFSOCK {
                    guard !Self.isListening(path) else {
                        throw MetricsServerError(address: "\(address)", reason: "another process listens on it")
                    }
                    unlink(path)
                }
                channel = try await bootstrap.bind(unixDomainSocketPath: path).get()
                // Connecting needs write permission: owner and group (a scraper added to the
                // agent's group), whatever the umask.
                chmod(path, 0o660)
            }
        } catch let error as MetricsServerError {
            throw error
        } catch {
            throw MetricsServerError(address: "\(address)", reason: "\(error)")
        }
        var resolved = address
        if case .tcp(let host, _) = address { resolved = .tcp(host: host, port: channel.localAddress?.port ?? 0) }
        let bound = resolved.description
        logger.info("Serving /metrics and /health", metadata: ["listen": "\(bound)"])
        return MetricsServer(
            address: address, channel: channel, connections: connections, boundAddress: bound)
    }

    /// Serves until graceful shutdown, then closes the listener and every open connection.
    public func run() async throws {
        try? await gracefulShutdown()
        try? await channel.close()
        for open in connections.all() { try? await open.close() }
        if case .unix(let path) = address { unlink(path) }
    }

    private static func isListening(_ path: String) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var remote = sockaddr_un()
        remote.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &remote.sun_path) { raw in
            for (index, byte) in bytes.enumerated() where index < raw.count - 1 { raw[index] = byte }
        }
        return withUnsafePointer(to: &remote) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) == 0
            }
        }
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
