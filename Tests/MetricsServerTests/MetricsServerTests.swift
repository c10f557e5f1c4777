import Foundation
import KafkaTestCluster
import Logging
import MetricsServer
import NIOCore
import NIOPosix
import ServiceLifecycle
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("metrics server")
struct MetricsServerTests {
    static let endpoint = MetricsEndpoint(
        metrics: { Array("# TYPE up gauge\nup 1\n".utf8) },
        health: { .init(status: 503, json: #"{"status":"stalled"}"#) })

    @Test func routesByMethodAndPath() {
        let endpoint = Self.endpoint
        let metrics = endpoint.respond(method: "GET", uri: "/metrics?x=1")
        #expect(metrics.status == 200)
        #expect(metrics.contentType.hasPrefix("text/plain; version=0.0.4"))
        #expect(String(decoding: metrics.body, as: UTF8.self) == "# TYPE up gauge\nup 1\n")
        let health = endpoint.respond(method: "GET", uri: "/health")
        #expect(health.status == 503)
        #expect(health.contentType == "application/json")
        #expect(String(decoding: health.body, as: UTF8.self) == "{\"status\":\"stalled\"}\n")
        #expect(endpoint.respond(method: "GET", uri: "/nothing").status == 404)
        let post = endpoint.respond(method: "POST", uri: "/metrics")
        #expect(post.status == 405)
        #expect(post.allow == "GET, HEAD")
    }

    /// The real server on TCP port 0 and on a UNIX socket, read with a plain-sockets client.
    @Test(arguments: ["tcp", "unix"])
    func servesOverTheNetworkUntilGracefulShutdown(transport: String) async throws {
        let socketPath = "/tmp/trib-metrics-\(UUID().uuidString.prefix(8)).sock"
        let address: MetricsServer.Address =
            transport == "tcp" ? .tcp(host: "127.0.0.1", port: 0) : .unix(path: socketPath)
        let server = try await MetricsServer.bind(address, endpoint: Self.endpoint, logger: Logger(label: "test"))
        if transport == "tcp" {
            #expect(server.boundAddress.hasPrefix("127.0.0.1:"))
            #expect(server.boundAddress != "127.0.0.1:0")
        } else {
            #expect(server.boundAddress == "unix:\(socketPath)")
        }
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: server)], gracefulShutdownSignals: [], logger: Logger(label: "test")))
        let running = Task { try await group.run() }

        let bound = server.boundAddress
        let metrics = try await Task.detached { try HTTPProbe.get(bound, path: "/metrics") }.value
        #expect(metrics.status == 200)
        #expect(metrics.headers["content-type"]?.hasPrefix("text/plain; version=0.0.4") == true)
        let samples = try PrometheusSamples(parsing: metrics.body)
        #expect(samples.sum("up") == 1)
        #expect(samples.types["up"] == "gauge")
        let health = try await Task.detached { try HTTPProbe.get(bound, path: "/health") }.value
        #expect(health.status == 503)
        #expect(health.body == "{\"status\":\"stalled\"}\n")
        let missing = try await Task.detached { try HTTPProbe.get(bound, path: "/x") }.value
        #expect(missing.status == 404)

        await group.triggerGracefulShutdown()
        try await running.value
        #expect(throws: HTTPProbe.ProbeError.self) { try HTTPProbe.get(bound, path: "/metrics") }
        if transport == "unix" { #expect(!FileManager.default.fileExists(atPath: socketPath)) }
    }

    @Test func anAddressInUseIsAnErrorNamingIt() async throws {
        let first = try await MetricsServer.bind(
            .tcp(host: "127.0.0.1", port: 0), endpoint: Self.endpoint, logger: Logger(label: "test"))
        let port = Int(first.boundAddress.split(separator: ":").last!)!
        do {
            _ = try await MetricsServer.bind(
                .tcp(host: "127.0.0.1", port: port), endpoint: Self.endpoint, logger: Logger(label: "test"))
            Issue.record("a second bind of \(first.boundAddress) succeeded")
        } catch let error as MetricsServerError {
            #expect(error.description.contains("agent.metrics_listen 127.0.0.1:\(port): cannot listen"))
        }
    }
}

/// What a local client cannot do to the server: hold connections open forever, or open more
/// than the limit.
@Suite("metrics server limits")
struct MetricsServerLimitTests {
    /// A loop of their own: on the shared singleton, other tests' work (compression in a debug
    /// build) can hold the loop past the idle timeout these tests wait for.
    static let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)

    /// A connected TCP socket to `address` (`127.0.0.1:port`) that sends nothing.
    static func connectSilently(_ address: String) throws -> CInt {
        let fd = try HTTPProbe.connect(address)
        var timeout = timeval(tv_sec: 60, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        return fd
    }

    /// read(2) until the server closes (0) or the 60 s receive timeout passes (-1): generous, since
    /// a cold first run on a loaded 2-core machine has stalled the whole test process for 15 s.
    static func readUntilClosed(_ fd: CInt) -> Int {
        var byte: UInt8 = 0
        return read(fd, &byte, 1)
    }

    @Test func aSilentConnectionIsClosedAfterTheIdleTimeout() async throws {
        let server = try await MetricsServer.bind(
            .tcp(host: "127.0.0.1", port: 0), endpoint: MetricsServerTests.endpoint, group: Self.group,
            logger: Logger(label: "test"), idleTimeout: .milliseconds(300))
        let fd = try Self.connectSilently(server.boundAddress)
        defer { close(fd) }
        // 0 means the server closed it; -1 would be our own 60 s receive timeout. No bound on the
        // time itself: on a loaded CI machine the 300 ms idle timeout may fire seconds late.
        let result = await Task.detached { Self.readUntilClosed(fd) }.value
        #expect(result == 0, "the server closed the connection before the client's 60 s timeout")
    }

    @Test func connectionsBeyondTheLimitAreClosedWhileTheOthersAreServed() async throws {
        let server = try await MetricsServer.bind(
            .tcp(host: "127.0.0.1", port: 0), endpoint: MetricsServerTests.endpoint, group: Self.group,
            logger: Logger(label: "test"), maxConnections: 2)
        var held = try (0..<2).map { _ in try Self.connectSilently(server.boundAddress) }
        // Only what is still held: closing a descriptor twice could close one that a test
        // running beside this one has opened under the same number since.
        defer { held.forEach { close($0) } }
        // Give the server the time to admit both.
        try await Task.sleep(for: .milliseconds(200))
        let extra = try Self.connectSilently(server.boundAddress)
        defer { close(extra) }
        let extraResult = await Task.detached { Self.readUntilClosed(extra) }.value
        #expect(extraResult == 0, "the third connection is closed at once")
        close(held.removeFirst())
        // The server learns of the close on its own time: asked again until a place is free.
        let address = server.boundAddress
        var status: Int?
        for _ in 0..<150 where status != 200 {
            try await Task.sleep(for: .milliseconds(200))
            status = try? await Task.detached { try HTTPProbe.get(address, path: "/metrics") }.value.status
        }
        #expect(status == 200, "a freed place is taken again")
    }

    @Test func aLiveUnixSocketIsNotTakenOver() async throws {
        let path = "/tmp/trib-metrics-\(UUID().uuidString.prefix(8)).sock"
        let first = try await MetricsServer.bind(
            .unix(path: path), endpoint: MetricsServerTests.endpoint, logger: Logger(label: "test"))
        var status = stat()
        #expect(stat(path, &status) == 0)
        #expect(status.st_mode & 0o777 == 0o660)
        do {
            _ = try await MetricsServer.bind(
                .unix(path: path), endpoint: MetricsServerTests.endpoint, logger: Logger(label: "test"))
            Issue.record("a second server took over a live socket")
        } catch let error as MetricsServerError {
            #expect(error.description.contains("another process listens on it"))
        }
        let metrics = try await Task.detached { try HTTPProbe.get(first.boundAddress, path: "/metrics") }.value
        #expect(metrics.status == 200)
        unlink(path)
    }
}
