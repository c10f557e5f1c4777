import PipelineConfig
import Testing

@Suite("agent.metrics_listen and stall_timeout")
struct MetricsListenTests {
    static func agent(_ lines: String) -> String {
        Minimal.all + "\nagent:\n" + lines.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n") + "\n"
    }

    @Test func offByDefault() throws {
        let configuration = try parse(Minimal.all)
        #expect(configuration.agent.metricsListen == nil)
        #expect(configuration.agent.stallTimeout == .seconds(30))
    }

    @Test(arguments: [
        ("127.0.0.1:9464", ListenAddress.tcp(host: "127.0.0.1", port: 9464)),
        ("localhost:0", .tcp(host: "localhost", port: 0)),
        ("\"[::1]:9464\"", .tcp(host: "::1", port: 9464)),
        ("unix:/run/tributary/metrics.sock", .unix(path: "/run/tributary/metrics.sock")),
    ])
    func addresses(text: String, expected: ListenAddress) throws {
        let configuration = try parse(Self.agent("metrics_listen: \(text)\nstall_timeout: 2m"))
        #expect(configuration.agent.metricsListen == expected)
        #expect(configuration.agent.stallTimeout == .seconds(120))
    }

    @Test(arguments: [
        ("metrics_listen: 9464", "expected host:port"),
        ("metrics_listen: \":9464\"", "the host is missing"),
        ("metrics_listen: 127.0.0.1:70000", "the port must be a number from 0 to 65535"),
        ("metrics_listen: \"[::1]9464\"", "an IPv6 address is written [address]:port"),
        ("metrics_listen: unix:run/m.sock", "a UNIX socket path must be absolute"),
        ("stall_timeout: 100ms", "must be at least 1s"),
    ])
    func refusedWithTheReasonAndPlace(line: String, reason: String) {
        let found = errors(Self.agent(line))
        #expect(found.count == 1)
        let key = line.split(separator: ":")[0]
        #expect(found.first?.contains("agent.\(key)") == true, "\(found)")
        #expect(found.first?.contains(reason) == true, "\(found)")
        #expect(found.first?.hasPrefix("pipeline.yaml:") == true, "\(found)")
    }
}
