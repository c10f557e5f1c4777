import PipelineConfig
import Testing

/// Every class of error the pipeline file can have, each with its exact message and place
/// (`file:line:column: key.path: message`).
@Suite("pipeline file errors")
struct PipelineConfigErrorTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var text: String
        var expected: [String]
        var environment: [String: String] = [:]
        /// The code of the (first) error.
        var code: PipelineConfigError.Code {
            let classes: [(String, PipelineConfigError.Code)] = [
                ("syntax", .syntax), ("unknown", .unknownKey), ("key of another", .unknownKey),
                ("duplicate", .duplicateKey), ("wrong", .wrongType), ("missing", .missingField),
                ("invalid choice", .invalidValue), ("bad regex", .badRegex), ("regex without", .invalidValue),
                ("bad template", .badTemplate), ("unknown producer", .unknownSetting),
                ("producer-wide", .unknownSetting), ("contradiction: unknown source", .invalidValue),
                ("contradiction: key policy", .missingField), ("contradiction", .contradiction),
                ("unset", .unsetVariable),
            ]
            return classes.sorted { $0.0.count > $1.0.count }.first { name.hasPrefix($0.0) }!.1
        }
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(
            name: "syntax",
            text: "kafka:\n  bootstrap_servers: [a:1\nsources: {}\n",
            expected: [
                "pipeline.yaml:3:8: invalid YAML: did not find expected ',' or ']' (while parsing a flow sequence at 2:22)"
            ]),
        Case(
            name: "unknown root key, suggested",
            text: Minimal.all + "\nroutse: []\n",
            expected: ["pipeline.yaml:9:1: routse: unknown key (did you mean \"routes\"?)"]),
        Case(
            name: "unknown source key, suggested",
            text: Minimal.kafka + "\nsources:\n  console:\n    type: stdin\n    max_record_byte: 10\n" + Minimal.routes,
            expected: [
                "pipeline.yaml:6:5: sources.console.max_record_byte: unknown key (did you mean \"max_record_bytes\"?)"
            ]),
        Case(
            name: "key of another source type",
            text: Minimal.kafka + "\nsources:\n  console:\n    type: stdin\n    include: [/x]\n" + Minimal.routes,
            expected: ["pipeline.yaml:6:5: sources.console.include: unknown key (include belongs to file sources)"]),
        Case(
            name: "duplicate key",
            text: Minimal.kafka + "\nsources:\n  console:\n    type: stdin\n  console:\n    type: stdin\n"
                + Minimal.routes,
            expected: ["pipeline.yaml:6:3: sources.console: is given twice"]),
        Case(
            name: "wrong type",
            text: "kafka:\n  bootstrap_servers: {a: 1}\n" + Minimal.sources + "\n" + Minimal.routes,
            expected: [
                "pipeline.yaml:2:22: kafka.bootstrap_servers: expected a string or a list of strings, got a mapping"
            ]),
        Case(
            name: "wrong number",
            text: Minimal.kafka + "\nsources:\n  console:\n    type: stdin\n    max_record_bytes: lots\n"
                + Minimal.routes,
            expected: [
                "pipeline.yaml:6:23: sources.console.max_record_bytes: expected a byte count such as 65536, 512KiB or 1MiB, got \"lots\""
            ]),
        Case(
            name: "missing required field",
            text: Minimal.kafka + "\nsources:\n  web:\n    type: file\n" + Minimal.routes.replacingConsole("web"),
            expected: [
                "pipeline.yaml:5:5: sources.web: missing required key \"include\" (glob patterns of files to read)"
            ]),
        Case(
            name: "missing section",
            text: Minimal.kafka + "\n" + Minimal.sources,
            expected: ["pipeline.yaml:1:1: missing required key \"routes\""]),
        Case(
            name: "invalid choice, suggested",
            text: Minimal.kafka
                + "\nsources:\n  web:\n    type: file\n    include: [/var/log/*.log]\n    start_at: begining\n"
                + Minimal.routes.replacingConsole("web"),
            expected: [
                "pipeline.yaml:7:15: sources.web.start_at: expected beginning or end, got \"begining\" (did you mean \"beginning\"?)"
            ]),
        Case(
            name: "bad regex",
            text: Minimal.kafka
                + "\nsources:\n  console:\n    type: stdin\n    exclude_lines: ['^DEBUG', '(unclosed']\n"
                + Minimal.routes,
            expected: [
                "pipeline.yaml:6:31: sources.console.exclude_lines[1]: invalid regular expression \"(unclosed\": expected ')'"
            ]),
        Case(
            name: "regex without the capture group",
            text: Minimal.kafka + "\n" + Minimal.sources + "\n" + Minimal.routes + "\n    key: { regex: '^\\S+ ' }\n",
            expected: [
                "pipeline.yaml:9:19: routes[0].key.regex: the key is capture group 1, but \"^\\S+ \" has no capture groups (put the key's part in parentheses)"
            ]),
        Case(
            name: "bad template",
            text: Minimal.kafka + "\n" + Minimal.sources
                + "\nroutes:\n  - from: [console]\n    topic: 'logs-{{ sorce }}'\n",
            expected: [
                "pipeline.yaml:8:12: routes[0].topic: unknown field \"sorce\" in \"logs-{{ sorce }}\"; a template can use source, host, path, offset, timestamp, message, peer_pid, peer_uid, peer_gid, json.<field> (did you mean \"source\"?)"
            ]),
        Case(
            name: "unknown producer setting, suggested",
            text: "kafka:\n  bootstrap_servers: [127.0.0.1:9092]\n  producer:\n    linger.m: 5\n" + Minimal.sources
                + "\n" + Minimal.routes,
            expected: [
                "pipeline.yaml:4:15: kafka.producer.linger.m: Unknown producer setting linger.m (did you mean \"linger.ms\"?)"
            ]),
        Case(
            name: "producer-wide setting on a route",
            text: Minimal.kafka + "\n" + Minimal.sources + "\n" + Minimal.routes
                + "\n    producer: { buffer.memory: 1000 }\n",
            expected: [
                "pipeline.yaml:9:32: routes[0].producer.buffer.memory: buffer.memory is a producer-wide setting; set it under kafka.producer (a route may set acks, batch.size, compression.gzip.level, compression.lz4.level, compression.type, compression.zstd.level, enable.idempotence, linger.ms, partitioner, partitioner.ignore.keys)"
            ]),
        Case(
            name: "contradiction: unknown source in from",
            text: Minimal.kafka + "\n" + Minimal.sources + "\nroutes:\n  - from: [console, consle]\n    topic: logs\n",
            expected: [
                "pipeline.yaml:7:11: routes[0].from: no source is named \"consle\" (did you mean \"console\"?) (sources: console)"
            ]),
        Case(
            name: "contradiction: a source feeding nothing",
            text: Minimal.kafka + "\n" + Minimal.sources + "\n  spare:\n    type: unix_socket\n    path: /run/x.sock\n"
                + Minimal.routes,
            expected: ["pipeline.yaml:7:5: sources.spare: source \"spare\" feeds no route (name it in a route's from)"]),
        Case(
            name: "contradiction: a template field that can be missing, without fallback",
            text: Minimal.kafka + "\n" + Minimal.sources
                + "\nroutes:\n  - from: [console]\n    topic: '{{ json.app }}'\n",
            expected: [
                "pipeline.yaml:8:12: routes[0].topic: the topic uses {{ json.app }}, which a record may lack; set fallback_topic for those records"
            ]),
        Case(
            name: "contradiction: a template field that cannot be in a topic name",
            text: Minimal.kafka + "\n" + Minimal.sources
                + "\nroutes:\n  - from: [console]\n    topic: 'logs-{{ timestamp }}'\n",
            expected: [
                "pipeline.yaml:8:12: routes[0].topic: a topic name cannot hold {{ timestamp }} (it has characters Kafka refuses in topic names); use source, host or json fields"
            ]),
        Case(
            name: "contradiction: two routes, one topic, different settings",
            text: Minimal.kafka + "\n" + Minimal.sources
                + "\nroutes:\n  - from: [console]\n    topic: logs\n    producer: { acks: 1 }\n  - from: [console]\n    topic: logs\n    producer: { acks: all }\n",
            expected: [
                "pipeline.yaml:12:15: routes[1].producer: routes routes[0] and routes[1] both write topic logs with different producer settings; a topic has one set"
            ]),
        Case(
            name: "contradiction: the producer's own validation",
            text: "kafka:\n  bootstrap_servers: [127.0.0.1:9092]\n  producer: { enable.idempotence: true, acks: 1 }\n"
                + Minimal.sources + "\n" + Minimal.routes,
            expected: [
                "pipeline.yaml:3:13: kafka.producer: enable.idempotence=true requires acks=all (got acks=1); set enable.idempotence=false to produce without idempotence"
            ]),
        Case(
            name: "contradiction: key policy without its value",
            text: Minimal.kafka + "\n" + Minimal.sources + "\n" + Minimal.routes
                + "\n    key: { json: user.id, on_failure: dead_letter }\n",
            expected: [
                "pipeline.yaml:9:10: routes[0].key: missing required key \"dead_letter_topic\" (where records without a key go)"
            ]),
        Case(
            name: "contradiction: two stdin sources",
            text: Minimal.kafka + "\n" + Minimal.sources + "\n  again:\n    type: stdin\n"
                + "routes:\n  - from: [console, again]\n    topic: logs\n",
            expected: ["pipeline.yaml:7:5: sources.again: sources console and again both read stdin; only one may"]),
        Case(
            name: "unset variable",
            text: "kafka:\n  bootstrap_servers: [\"${KAFKA_BROKERS}\"]\n" + Minimal.sources + "\n" + Minimal.routes,
            expected: [
                "pipeline.yaml:2:23: kafka.bootstrap_servers[0]: environment variable KAFKA_BROKERS is not set (write ${KAFKA_BROKERS:-default} for a default)"
            ]),
    ]

    @Test(arguments: cases) func reportsExactly(_ example: Case) {
        #expect(errors(example.text, environment: example.environment) == example.expected)
        do {
            _ = try parse(example.text, environment: example.environment)
        } catch {
            #expect(error.errors.first?.code == example.code, "\(error.errors.first?.code.description ?? "none")")
        }
    }

    @Test func everyProblemOfAFileIsListed() {
        let text = """
            kafka:
              bootstrap_servers: [127.0.0.1:9092]
              clientid: x
            sources:
              console:
                type: stdn
            routes:
              - from: [console]
                topic: logs
                format: jsn
            """
        #expect(
            errors(text) == [
                "pipeline.yaml:3:3: kafka.clientid: unknown key (did you mean \"client_id\"?)",
                "pipeline.yaml:6:11: sources.console.type: expected file, unix_socket, stdin, got \"stdn\" (did you mean \"stdin\"?)",
                "pipeline.yaml:10:13: routes[0].format: expected raw or json, got \"jsn\" (did you mean \"json\"?)",
            ])
    }

    @Test func anUnreadableFileSaysWhy() {
        do {
            _ = try PipelineConfiguration.load(path: "/nonexistent/pipeline.yaml")
            Issue.record("no error")
        } catch {
            #expect(error.description == "/nonexistent/pipeline.yaml: cannot read the file: No such file or directory")
            #expect(error.errors.first?.code == .unreadable)
        }
    }
}

extension String {
    fileprivate func replacingConsole(_ name: String) -> String {
        var result = ""
        var rest = Substring(self)
        while let range = rest.range(of: "console") {
            result += rest[..<range.lowerBound] + name
            rest = rest[range.upperBound...]
        }
        return result + rest
    }
}
