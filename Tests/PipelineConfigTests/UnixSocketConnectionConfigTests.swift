import PipelineConfig
import Testing

/// `max_connections` and the peer fields of stream UNIX socket sources.
@Suite("unix_socket connections and peer fields")
struct UnixSocketConnectionConfigTests {
    static func pipeline(source: String, route: String = "") -> String {
        Minimal.kafka + "\nsources:\n  app:\n" + source + "routes:\n  - from: [app]\n    topic: logs\n" + route
    }

    static let stream = "    type: unix_socket\n    path: /run/app.sock\n"

    @Test func maxConnectionsAndPeerFieldsParse() throws {
        let text = Self.pipeline(
            source: Self.stream + "    max_connections: 5\n",
            route: "    key: { template: '{{ peer_uid }}' }\n"
                + "    headers: { pid: '{{ peer_pid }}', gid: '{{ peer_gid }}' }\n")
        let configuration = try parse(text)
        guard case .unixSocket(let settings) = configuration.sources.first?.kind else {
            Issue.record("not a socket source")
            return
        }
        #expect(settings.maxConnections == 5)
        let route = try #require(configuration.routes.first)
        #expect(route.headers.map(\.value.fields) == [[.peerPID], [.peerGID]])
        #expect(route.key?.method == .template(try RecordTemplate(parsing: "{{ peer_uid }}")))
    }

    @Test func maxConnectionsDefaultsTo64() throws {
        let configuration = try parse(Self.pipeline(source: Self.stream))
        guard case .unixSocket(let settings) = configuration.sources.first?.kind else {
            Issue.record("not a socket source")
            return
        }
        #expect(settings.maxConnections == 64)
    }

    @Test(arguments: [
        (
            "    max_connections: 0\n",
            "pipeline.yaml:7:22: sources.app.max_connections: 0 is out of range 1...1000000"
        ),
        (
            "    max_connections: many\n",
            "pipeline.yaml:7:22: sources.app.max_connections: expected a whole number, got \"many\""
        ),
        (
            "    socket_type: datagram\n    max_connections: 4\n",
            "pipeline.yaml:8:22: sources.app.max_connections: max_connections applies only to socket_type: stream"
        ),
    ])
    func badMaxConnections(extra: String, expected: String) {
        #expect(errors(Self.pipeline(source: Self.stream + extra)) == [expected])
    }

    @Test func maxConnectionsBelongsToSocketSources() {
        let text = Self.pipeline(source: "    type: file\n    include: [/var/log/*.log]\n    max_connections: 4\n")
        #expect(
            errors(text) == [
                "pipeline.yaml:7:5: sources.app.max_connections: unknown key (max_connections belongs to unix_socket sources)"
            ])
    }

    @Test(arguments: [
        (
            "    type: stdin\n", "    headers: { pid: '{{ peer_pid }}' }\n",
            "pipeline.yaml:9:14: routes[0].headers: route takes records from app: {{ peer_pid }} is known only for unix_socket sources with socket_type: stream; a stdin source has no peer"
        ),
        (
            Self.stream + "    socket_type: datagram\n", "    key: { template: 'u{{ peer_uid }}' }\n",
            "pipeline.yaml:11:10: routes[0].key: route takes records from app: {{ peer_uid }} is known only for unix_socket sources with socket_type: stream; a datagram socket has no peer"
        ),
    ])
    func peerFieldsOnSourcesWithoutPeers(source: String, route: String, expected: String) {
        #expect(errors(Self.pipeline(source: source, route: route)) == [expected])
    }

    @Test func aSourceKeyWithPeerFieldsOnAFileSource() {
        let text = Self.pipeline(
            source: "    type: file\n    include: [/var/log/*.log]\n    key: { template: '{{ peer_gid }}' }\n")
        #expect(
            errors(text) == [
                "pipeline.yaml:7:10: sources.app.key: {{ peer_gid }} is known only for unix_socket sources with socket_type: stream; a file source has no peer"
            ])
    }

    @Test func peerFieldsAreNotTopicNames() {
        let text =
            Minimal.kafka + "\nsources:\n  app:\n" + Self.stream
            + "routes:\n  - from: [app]\n    topic: 'logs-{{ peer_uid }}'\n"
        #expect(
            errors(text) == [
                "pipeline.yaml:9:12: routes[0].topic: a topic name cannot hold {{ peer_uid }} (it has characters Kafka refuses in topic names); use source, host or json fields"
            ])
    }

    @Test func aMisspelledPeerFieldIsSuggested() {
        let text = Self.pipeline(source: Self.stream, route: "    headers: { pid: '{{ peer_pdi }}' }\n")
        let found = errors(text)
        #expect(found.count == 1)
        #expect(found.first?.contains("unknown field \"peer_pdi\"") == true)
        #expect(found.first?.contains("did you mean \"peer_pid\"") == true)
    }
}
