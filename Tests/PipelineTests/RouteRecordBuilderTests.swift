import Foundation
import KafkaClient
import NIOCore
import PipelineConfig
import Testing

@_spi(Benchmarking) @testable import Pipeline

@Suite("records from lines")
struct RouteRecordBuilderTests {
    static func configuration(_ routes: String) throws -> PipelineConfiguration {
        try PipelineConfiguration.parse(
            "kafka:\n  bootstrap_servers: [127.0.0.1:9092]\nsources:\n  app:\n    type: unix_socket\n    path: /run/app.sock\nroutes:\n"
                + routes, file: "test.yaml", environment: [:], hostName: "web01")
    }

    /// The records one route makes of `lines`, and what building them counted.
    static func build(
        _ routes: String, _ lines: [String], sourceKey: KeyExtraction? = nil, path: String? = "/run/app.sock"
    ) throws -> ([KafkaProducerRecord], RouteRecordBuilder.Tally) {
        let configuration = try configuration(routes)
        let builder = try RouteRecordBuilder(configuration.routes[0], sourceKey: sourceKey)
        var framer = LineFramer(settings: FramingSettings())
        let framed = framer.feed(ByteBuffer(string: lines.map { $0 + "\n" }.joined()))
        var tally = RouteRecordBuilder.Tally()
        let context = LineContext(
            source: "app", host: "web01", path: path, timestamp: 1_764_000_000_123,
            timestampText: LineContext.rfc3339(milliseconds: 1_764_000_000_123), lines: framed, line: framed.lines[0])
        let records = framed.lines.map { line -> KafkaProducerRecord in
            var current = context
            current.line = line
            return builder.record(current, tally: &tally)
        }
        return (records, tally)
    }

    static func text(_ buffer: ByteBuffer?) -> String? { buffer.map { String(buffer: $0) } }

    @Test func regexKeys() throws {
        let (records, tally) = try Self.build(
            "  - from: [app]\n    topic: t\n    key: { regex: '^(\\S+) (?<verb>\\w+)', group: 2 }\n",
            ["10.0.0.1 GET /", "-", "10.0.0.2 POST /x"])
        #expect(records.map { Self.text($0.key) } == ["GET", nil, "POST"])
        #expect(records.map { Self.text($0.value) } == ["10.0.0.1 GET /", "-", "10.0.0.2 POST /x"])
        #expect(tally.keyFailures == 1)
    }

    @Test func jsonKeysWithADefault() throws {
        let (records, tally) = try Self.build(
            "  - from: [app]\n    topic: t\n    key: { json: user.id, on_failure: default, default: anon }\n",
            [#"{"user":{"id":"u1"}}"#, #"{"user":{"id":7}}"#, "not json", #"{"user":{}}"#])
        #expect(records.map { Self.text($0.key) } == ["u1", "7", "anon", "anon"])
        #expect(tally.keyFailures == 2)
    }

    @Test func templateKeysAndDeadLetters() throws {
        let (records, tally) = try Self.build(
            "  - from: [app]\n    topic: events\n    key: { template: '{{ json.tenant }}/{{ source }}', on_failure: dead_letter, dead_letter_topic: no-key }\n",
            [#"{"tenant":"acme"}"#, #"{"other":1}"#])
        #expect(records.map(\.topic) == ["events", "no-key"])
        #expect(records.map { Self.text($0.key) } == ["acme/app", nil])
        #expect(tally.deadLettered == 1 && tally.keyFailures == 1)
    }

    @Test func staticAndNullKeys() throws {
        #expect(
            try Self.build("  - from: [app]\n    topic: t\n    key: { static: k }\n", ["a"]).0[0].key
                == ByteBuffer(string: "k"))
        #expect(try Self.build("  - from: [app]\n    topic: t\n", ["a"]).0[0].key == nil)
    }

    @Test func topicTemplatesWithFallback() throws {
        let (records, tally) = try Self.build(
            "  - from: [app]\n    topic: 'logs-{{ json.app }}'\n    fallback_topic: logs-other\n",
            [#"{"app":"billing"}"#, #"{"x":1}"#, #"{"app":"bad name!"}"#])
        #expect(records.map(\.topic) == ["logs-billing", "logs-other", "logs-other"])
        #expect(tally.fallbackTopics == 2)
    }

    /// A source's key applies to its routes that set none; a route's own key wins.
    @Test func sourceKeysAreInherited() throws {
        let sourceKey = KeyExtraction(method: .constant("from-source"))
        #expect(
            try Self.build("  - from: [app]\n    topic: t\n", ["a"], sourceKey: sourceKey).0[0].key
                == ByteBuffer(string: "from-source"))
        #expect(
            try Self.build("  - from: [app]\n    topic: t\n    key: { static: own }\n", ["a"], sourceKey: sourceKey).0[
                0
            ].key
                == ByteBuffer(string: "own"))
    }

    /// A header whose field the record lacks (stdin has no path) is left out, not sent empty.
    @Test func headersWithMissingFieldsAreLeftOut() throws {
        let (records, _) = try Self.build(
            "  - from: [app]\n    topic: t\n    headers: { file: '{{ path }}', user: '{{ json.user }}', env: prod }\n",
            [#"{"user":"u"}"#, "plain"], path: nil)
        #expect(records[0].headers.map(\.key) == ["user", "env"])
        #expect(records[1].headers.map(\.key) == ["env"])
    }

    @Test func headersFromStaticValuesAndMetadata() throws {
        let (records, _) = try Self.build(
            "  - from: [app]\n    topic: t\n    headers: { host: '{{ host }}', file: '{{ path }}', env: prod, at: '{{ offset }}' }\n",
            ["one", "two"])
        #expect(records[1].headers.map(\.key) == ["host", "file", "env", "at"])
        #expect(records[1].headers.map { Self.text($0.value) } == ["web01", "/run/app.sock", "prod", "4"])
        #expect(records[0].timestamp == 1_764_000_000_123)
    }

    /// The envelope is valid JSON with the metadata, read back by Foundation's parser.
    @Test func jsonEnvelope() throws {
        let line = "quote \" backslash \\ tab \t ctl \u{01} é"
        let (records, _) = try Self.build("  - from: [app]\n    topic: t\n    format: json\n", ["first", line])
        let value = try #require(records[1].value)
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(value.readableBytesView)) as? [String: Any])
        #expect(object["message"] as? String == line)
        #expect(object["source"] as? String == "app")
        #expect(object["host"] as? String == "web01")
        #expect(object["path"] as? String == "/run/app.sock")
        #expect(object["offset"] as? Int == 6)
        #expect(object["timestamp"] as? String == "2025-11-24T16:00:00.123Z")
        #expect(Set(object.keys) == ["message", "source", "host", "path", "offset", "timestamp"])
    }
}

extension RouteRecordBuilderTests {
    /// The writer's credentials are the same for a whole read, so headers that use them still
    /// go as one block; records without a peer lose such a header rather than get a wrong one.
    @Test func peerFieldsInHeadersAndKeys() throws {
        let configuration = try Self.configuration(
            "  - from: [app]\n    topic: t\n    headers: { who: '{{ peer_uid }}/{{ peer_gid }}', pid: '{{ peer_pid }}' }\n"
        )
        let builder = try RouteRecordBuilder(configuration.routes[0], sourceKey: nil)
        var framer = LineFramer(settings: FramingSettings())
        let framed = framer.feed(ByteBuffer(string: "a\nb\n"))
        var tally = RouteRecordBuilder.Tally()
        let context = LineContext(
            source: "app", host: "web01", path: "/run/app.sock", timestamp: 0, timestampText: "",
            peer: PeerCredentials(pid: 4242, uid: 1000, gid: 100), lines: framed, line: framed.lines[0])
        let block = try #require(builder.block(context, lines: framed.lines, tally: &tally))
        #expect(block.records.count == 2)
        #expect(block.headers.map(\.key) == ["who", "pid"])
        #expect(block.headers.map { Self.text($0.value) } == ["1000/100", "4242"])

        let keyed = try RouteRecordBuilder(
            Self.configuration("  - from: [app]\n    topic: t\n    key: { template: '{{ peer_pid }}' }\n").routes[0],
            sourceKey: nil)
        #expect(Self.text(keyed.record(context, tally: &tally).key) == "4242")
        let anonymous = LineContext(
            source: "app", host: "web01", path: "/run/app.sock", timestamp: 0, timestampText: "", lines: framed,
            line: framed.lines[0])
        #expect(builder.record(anonymous, tally: &tally).headers.isEmpty)
        #expect(Self.text(keyed.record(anonymous, tally: &tally).key) == nil)
    }
}
