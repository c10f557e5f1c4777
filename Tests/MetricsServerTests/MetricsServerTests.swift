import Foundation
import KafkaTestCluster
import Logging
import MetricsServer
import NIOCore
import NIOPosix
import ServiceLifecycle
import Testing

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
