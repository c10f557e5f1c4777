import Foundation
import KafkaClient
import PipelineConfig
import Testing

@Suite("pipeline file")
struct PipelineConfigurationTests {
    /// The example of README.md's "The pipeline file" section, as written there.
    static func readmeExample() throws -> String {
        let readme = try String(contentsOf: repositoryRoot().appendingPathComponent("README.md"), encoding: .utf8)
        let marker = "<!-- example: pipeline -->"
        let start = try #require(readme.range(of: marker), "README.md lacks \(marker)")
        let rest = readme[start.upperBound...]
        let open = try #require(rest.range(of: "```yaml\n"))
        let close = try #require(rest[open.upperBound...].range(of: "```"))
        return String(rest[open.upperBound..<close.lowerBound])
    }

    static func repositoryRoot(filePath: String = #filePath) -> URL {
        URL(fileURLWithPath: filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
    }

    @Test func readmeExampleReads() throws {
        let configuration = try parse(try Self.readmeExample(), environment: [:], hostName: "web01")
        #expect(configuration.kafka.bootstrapServers == ["kafka-1:9092", "kafka-2:9092"])
        #expect(configuration.kafka.clientID == "tributary-web01")
        #expect(configuration.kafka.producer == ["acks": "all", "compression.type": "lz4", "linger.ms": "10"])
        #expect(configuration.agent.stateDirectory == "/var/lib/tributary")
        #expect(configuration.agent.shutdownTimeout == .seconds(30))
        #expect(configuration.sources.map(\.name) == ["nginx", "app", "console"])
        guard case .file(let nginx) = configuration.sources[0].kind else {
            Issue.record("nginx is not a file source"); return
        }
        #expect(nginx.include == ["/var/log/nginx/*.log"] && nginx.exclude == ["*.gz"] && nginx.startAt == .beginning)
        guard case .unixSocket(let app) = configuration.sources[1].kind else {
            Issue.record("app is not a socket"); return
        }
        #expect(app.path == "/run/tributary/app.sock" && app.socketType == .stream && app.mode == 0o660)
        #expect(configuration.sources[2].kind == .stdin)
        let web = configuration.routes[0]
        #expect(web.from == ["nginx"] && web.topic.constant == "web-access")
        #expect(web.key == KeyExtraction(method: .regex(pattern: "^(\\S+) ", group: 1)))
        #expect(web.producer == ["compression.type": "zstd", "linger.ms": "50"])
        let events = configuration.routes[1]
        #expect(events.from == ["app", "console"] && events.topic.constant == "app-events")
        #expect(events.key == KeyExtraction(method: .json(path: ["user", "id"])))
        #expect(events.format == .json)
        // HOSTNAME is not exported by shells or systemd: it falls back to the machine's name.
        #expect(events.headers.map(\.name) == ["host"] && events.headers[0].value.constant == "web01")

        // The settings really reach the producer: one configuration, per-topic overrides.
        let producer = try configuration.producerConfiguration()
        #expect(producer.acks == .all && producer.compression.codec == .lz4 && producer.linger == .milliseconds(10))
        #expect(producer.clientId == "tributary-web01")
        let topic = try #require(producer.topicConfigurations["web-access"])
        #expect(topic.compression?.codec == .zstd && topic.linger == .milliseconds(50))
        #expect(producer.topicConfigurations["app-events"] == nil)
    }

    @Test func theAnnotatedDefaultPipelineReads() throws {
        let text = try String(
            contentsOf: Self.repositoryRoot().appendingPathComponent("etc/tributary/pipeline.yaml"), encoding: .utf8)
        let configuration = try parse(text, environment: [:])
        #expect(!configuration.sources.isEmpty && !configuration.routes.isEmpty)
    }

    @Test func defaults() throws {
        let configuration = try parse(Minimal.all)
        #expect(configuration.kafka.clientID == "tributary")
        #expect(configuration.agent == AgentSettings())
        #expect(configuration.agent.shutdownTimeout == .seconds(30))
        let source = configuration.sources[0]
        #expect(source.framing.maxRecordBytes == 524_288 && source.framing.oversize == .truncate)
        #expect(source.key == nil && source.includeLines.isEmpty)
        #expect(configuration.routes[0].name == "routes[0]" && configuration.routes[0].format == .raw)
    }

    @Test func environmentVariablesAndDefaults() throws {
        let text = """
            kafka:
              bootstrap_servers: ["${BROKER}", "${OTHER:-kafka-2:9092}"]
              client_id: "agent-${HOSTNAME}"
            sources:
              console:
                type: stdin
            routes:
              - from: console
                topic: "${TOPIC:-logs}"
                headers: { literal: "$${NOT_A_VARIABLE}", price: "5$" }
            """
        let configuration = try parse(text, environment: ["BROKER": "kafka-1:9092"], hostName: "web07")
        #expect(configuration.kafka.bootstrapServers == ["kafka-1:9092", "kafka-2:9092"])
        #expect(configuration.kafka.clientID == "agent-web07")
        #expect(configuration.routes[0].topic.constant == "logs")
        #expect(configuration.routes[0].headers.map { $0.value.constant } == ["${NOT_A_VARIABLE}", "5$"])
        // An exported HOSTNAME wins over the machine's name.
        let exported = try parse(text, environment: ["BROKER": "b:1", "HOSTNAME": "set"], hostName: "web07")
        #expect(exported.kafka.clientID == "agent-set")
    }

    /// A variable's value is text: it cannot add keys to the file.
    @Test func aVariableCannotChangeTheStructure() throws {
        let text = Minimal.kafka + "\n" + Minimal.sources + "\nroutes:\n  - from: [console]\n    topic: \"${T}\"\n"
        #expect(
            errors(text, environment: ["T": "a\n    producer: {acks: 0}"]).first?.hasSuffix(
                "is not a valid topic name (1 to 249 of letters, digits, \".\", \"_\", \"-\")") == true)
    }

    @Test func keysTemplatesAndPolicies() throws {
        let text = """
            kafka:
              bootstrap_servers: [127.0.0.1:9092]
            sources:
              console:
                type: stdin
                key: { static: fixed }
                include_lines: ['^\\{']
                exclude_lines: [healthcheck]
            routes:
              - name: by-tenant
                from: [console]
                topic: "logs-{{ json.tenant }}"
                fallback_topic: logs-unknown
                key: { template: "{{ json.tenant }}/{{ json.user.id }}", on_failure: default, default: anonymous }
              - from: [console]
                topic: "raw-{{ source }}"
                key: { regex: 'id=(?<id>\\d+)', group: 1, on_failure: dead_letter, dead_letter_topic: no-key }
            """
        let configuration = try parse(text)
        #expect(configuration.sources[0].key == KeyExtraction(method: .constant("fixed")))
        #expect(configuration.sources[0].includeLines == ["^\\{"])
        let tenant = configuration.routes[0]
        #expect(tenant.name == "by-tenant" && tenant.fallbackTopic == "logs-unknown")
        #expect(tenant.topic.fields == [.json(["tenant"])])
        #expect(tenant.key?.onFailure == .defaultKey("anonymous"))
        guard case .template(let template) = tenant.key?.method else { Issue.record("not a template key"); return }
        #expect(template.fields == [.json(["tenant"]), .json(["user", "id"])])
        #expect(configuration.routes[1].key?.onFailure == .deadLetter(topic: "no-key"))
        #expect(configuration.routes[1].topic.fields == [.source])
    }

    @Test func durationsAndSizes() throws {
        let text = """
            kafka:
              bootstrap_servers: 127.0.0.1:9092
            agent:
              shutdown_timeout: 1.5s
              status_interval: 250ms
            sources:
              console:
                type: stdin
                max_record_bytes: 64KiB
                oversize: split
            routes:
              - from: console
                topic: logs
            """
        let configuration = try parse(text)
        #expect(configuration.agent.shutdownTimeout == .milliseconds(1500))
        #expect(configuration.agent.statusInterval == .milliseconds(250))
        #expect(
            configuration.sources[0].framing
                == {
                    var framing = FramingSettings()
                    framing.maxRecordBytes = 65_536
                    framing.oversize = .split
                    return framing
                }())
    }
}

@Suite("shipped pipeline files")
struct ShippedPipelineTests {
    /// `make demo`'s pipeline, with the variables scripts/demo.sh sets.
    @Test func theDemoPipelineReads() throws {
        let text = try String(
            contentsOf: PipelineConfigurationTests.repositoryRoot().appendingPathComponent(
                "scripts/demo/pipeline.yaml"),
            encoding: .utf8)
        let configuration = try parse(text, environment: ["DEMO_BROKERS": "127.0.0.1:9092", "DEMO_DIR": "/tmp/demo"])
        #expect(configuration.sources.map(\.name) == ["nginx", "app", "console"])
        #expect(configuration.routes.map { $0.topic.text } == ["web-access", "app-events"])
        #expect(
            try configuration.producerConfiguration().topicConfigurations["web-access"]?.compression?.codec == .zstd)
    }
}

@Suite("README error example")
struct ReadmeErrorExampleTests {
    /// README shows the errors of its pipeline example with four mistakes; they are exactly what
    /// the reader reports (a `…` in README stands for the rest of a long line).
    @Test func theErrorsShownAreTheErrorsReported() throws {
        let readme = try String(
            contentsOf: PipelineConfigurationTests.repositoryRoot().appendingPathComponent("README.md"), encoding: .utf8
        )
        let marker = try #require(readme.range(of: "with four mistakes"))
        let open = try #require(readme[marker.upperBound...].range(of: "```\n"))
        let close = try #require(readme[open.upperBound...].range(of: "```"))
        let shown = readme[open.upperBound..<close.lowerBound].split(separator: "\n").map(String.init)
        let broken = try PipelineConfigurationTests.readmeExample()
            .replacingOccurrences(of: "start_at: beginning", with: "start_at: begining")
            .replacingOccurrences(of: "    mode: \"0660\"\n", with: "    mode: \"0660\"\n    max_record_byte: 4096\n")
            .replacingOccurrences(
                of: "producer: { compression.type: zstd, linger.ms: 50 }",
                with: "producer: { compression.type: zstd, linger.ms: 50, buffer.memory: 1000000 }"
            )
            .replacingOccurrences(
                of: "headers: { host: \"${HOSTNAME}\" }", with: "headers: { host: \"${HOSTNAME}\", team: \"${TEAM}\" }")
        let reported = errors(broken)
        #expect(reported.count == shown.count, "\(reported)")
        for (line, report) in zip(shown, reported) {
            if let ellipsis = line.firstIndex(of: "…") {
                #expect(report.hasPrefix(line[..<ellipsis]), "\(report)")
            } else {
                #expect(report == line)
            }
        }
    }
}

@Suite("multiline settings")
struct MultilineSettingsTests {
    static func source(_ multiline: String) -> String {
        Minimal.kafka + "\nsources:\n  app:\n    type: file\n    include: [/var/log/app.log]\n    multiline: "
            + multiline
            + "\nroutes:\n  - from: app\n    topic: logs\n"
    }

    @Test func readsEverySetting() throws {
        let configuration = try parse(
            Self.source(
                "{ continuation_pattern: '^\\s', negate: true, max_lines: 20, max_bytes: 64KiB, timeout: 250ms }"))
        guard case .file(let file) = configuration.sources[0].kind else { Issue.record("not a file source"); return }
        var expected = MultilineSettings(rule: .continuation("^\\s"))
        expected.negate = true
        expected.maxLines = 20
        expected.maxBytes = 65_536
        expected.timeout = .milliseconds(250)
        #expect(file.multiline == expected)
    }

    @Test func mistakesAreReported() {
        #expect(
            errors(Self.source("{ start_pattern: a, continuation_pattern: b }")) == [
                "pipeline.yaml:7:16: sources.app.multiline: multiline takes start_pattern or continuation_pattern, not both"
            ])
        #expect(
            errors(Self.source("{ start_pattern: '(' }")) == [
                "pipeline.yaml:7:33: sources.app.multiline.start_pattern: invalid regular expression \"(\": expected ')'"
            ])
        #expect(
            errors(Self.source("{ negate: true }")) == [
                "pipeline.yaml:7:16: sources.app.multiline: multiline needs start_pattern or continuation_pattern"
            ])
    }
}
