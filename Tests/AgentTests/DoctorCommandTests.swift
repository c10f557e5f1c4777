import Foundation
import KafkaFakeCluster
import KafkaTestCluster
import Testing

extension AgentBinaryTests {
    /// `tributary doctor`, the built binary, against fake clusters that each have one problem.
    @Suite("tributary doctor")
    struct DoctorCommandTests {
        struct Run {
            var status: Int32
            var stdout: String
            var stderr: String

            /// The `--json` output's findings as (severity, code).
            var findings: [(String, String)] {
                guard let data = stdout.data(using: .utf8),
                    let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                    let findings = object["findings"] as? [[String: Any]]
                else { return [] }
                return findings.map { ($0["severity"] as? String ?? "?", $0["code"] as? String ?? "?") }
            }
            var codes: [String] { findings.map(\.1) }
        }

        /// A pipeline with one route `web` from stdin to `topic`, with `producer` settings.
        static func pipeline(servers: [String], topic: String = "logs", producer: String = "") -> String {
            """
            kafka:
              bootstrap_servers: [\(servers.joined(separator: ", "))]
              client_id: doctor-test
            sources:
              console: { type: stdin }
            routes:
              - name: web
                from: [console]
                topic: \(topic)
            \(producer.isEmpty ? "" : "    producer: { \(producer) }\n")
            """
        }

        static func run(_ pipeline: String, json: Bool = true) throws -> Run {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
                "tributary-doctor-\(UUID().uuidString.prefix(8))")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let file = directory.appendingPathComponent("pipeline.yaml")
            try pipeline.write(to: file, atomically: true, encoding: .utf8)
            let process = Process()
            process.executableURL = AgentProcess.executable
            process.arguments = ["doctor", "--config", file.path] + (json ? ["--json"] : [])
            let out = Pipe()
            let err = Pipe()
            process.standardOutput = out
            process.standardError = err
            try process.run()
            let stdout = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            return Run(status: process.terminationStatus, stdout: stdout, stderr: stderr)
        }

        /// Three brokers tuned so that nothing needs advice, and `logs`: 6 partitions,
        /// replication factor 3, min.insync.replicas=2.
        static func wellConfigured() -> FakeClusterSpec {
            var spec = FakeClusterSpec(brokerCount: 3)
            for index in spec.brokers.indices {
                spec.brokers[index].configs.merge([
                    "num.replica.fetchers": "4", "replica.fetch.max.bytes": "10485760",
                    "replica.socket.receive.buffer.bytes": "-1",
                ]) { $1 }
            }
            spec.topics = [
                spec.topic(
                    "logs", partitions: 6, replicationFactor: 3,
                    configs: FakeClusterSpec.topicDefaults.merging(["min.insync.replicas": "2"]) { $1 })
            ]
            return spec
        }

        static func against(_ spec: FakeClusterSpec, producer: String = "", json: Bool = true) async throws -> Run {
            let cluster = try await FakeKafkaCluster.start(spec)
            defer { Task { await cluster.stop() } }
            return try run(pipeline(servers: cluster.bootstrapServers, producer: producer), json: json)
        }

        @Test func wellConfiguredClusterReportsNothing() async throws {
            let run = try await Self.against(Self.wellConfigured())
            #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
            #expect(run.findings.isEmpty, "\(run.stdout)")
            let object = try #require(
                try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
            #expect(object["formatVersion"] as? Int == 1)
            #expect(object["status"] as? String == "ok")
            #expect(object["exitStatus"] as? Int == 0)
            let cluster = try #require(object["cluster"] as? [String: Any])
            #expect((cluster["brokers"] as? [[String: Any]])?.map { $0["nodeId"] as? Int } == [1, 2, 3])
            let route = try #require((object["routes"] as? [[String: Any]])?.first)
            #expect(route["name"] as? String == "web")
            let producer = try #require(route["producer"] as? [String: Any])
            #expect(producer["acks"] as? String == "all")
            #expect(producer["batch.size"] as? Int == 262_144)
            #expect(producer["compression.type"] as? String == "lz4")
            let topic = try #require((route["topics"] as? [[String: Any]])?.first)
            #expect(topic["name"] as? String == "logs")
            #expect(topic["state"] as? String == "exists")
            #expect(topic["partitions"] as? Int == 6)
            #expect(topic["replicationFactor"] as? Int == 3)
            #expect(topic["min.insync.replicas"] as? Int == 2)
        }

        @Test func kafkaDefaultsGetAdviceOnly() async throws {
            var spec = FakeClusterSpec(brokerCount: 3)
            spec.topics = [
                spec.topic(
                    "logs", partitions: 3, replicationFactor: 3,
                    configs: FakeClusterSpec.topicDefaults.merging(["min.insync.replicas": "2"]) { $1 })
            ]
            let run = try await Self.against(spec, json: false)
            #expect(run.status == 0, "\(run.stdout)")
            #expect(
                run.stdout.contains("topic logs: exists, 3 partitions, replication factor 3, min.insync.replicas=2"))
            #expect(run.stdout.contains("info [num-replica-fetchers-1] brokers 1, 2, 3: num.replica.fetchers=1"))
            #expect(run.stdout.contains("      why: "))
            #expect(run.stdout.hasSuffix("0 errors, 0 warnings, 2 infos: exit 0\n"), "\(run.stdout)")
        }

        struct Problem: Sendable, CustomTestStringConvertible {
            var name: String
            var producer: String = ""
            var change: @Sendable (inout FakeClusterSpec) -> Void
            var code: String
            var severity: String
            var status: Int32
            var testDescription: String { name }
        }

        static func setTopic(_ key: String, _ value: String) -> @Sendable (inout FakeClusterSpec) -> Void {
            { spec in spec.topics[0].configs[key] = value }
        }

        static func setBrokers(_ key: String, _ value: String) -> @Sendable (inout FakeClusterSpec) -> Void {
            { spec in for index in spec.brokers.indices { spec.brokers[index].configs[key] = value } }
        }

        static let problems: [Problem] = [
            Problem(
                name: "min.insync.replicas above the replication factor", change: setTopic("min.insync.replicas", "4"),
                code: "min-insync-replicas-above-replication-factor", severity: "error", status: 2),
            Problem(
                name: "acks=all with min.insync.replicas=1", change: setTopic("min.insync.replicas", "1"),
                code: "min-insync-replicas-1", severity: "warning", status: 1),
            Problem(
                name: "replication factor 1",
                change: { spec in
                    spec.topics = [spec.topic("logs", partitions: 2, replicationFactor: 1)]
                }, code: "replication-factor-1", severity: "warning", status: 1),
            Problem(
                name: "acks=1", producer: "acks: 1", change: { _ in }, code: "acks-1", severity: "warning", status: 1),
            Problem(
                name: "batches larger than the topic accepts", producer: "batch.size: 2000000",
                change: { _ in }, code: "batch-size-above-max-message-bytes", severity: "error", status: 2),
            Problem(
                name: "records larger than the topic accepts", change: setTopic("max.message.bytes", "524288"),
                code: "max-request-size-above-max-message-bytes", severity: "error", status: 2),
            Problem(
                name: "the topic recompresses", change: setTopic("compression.type", "gzip"),
                code: "topic-recompresses", severity: "warning", status: 1),
            Problem(
                name: "the topic is missing and not auto-created",
                change: { spec in
                    spec.topics = []
                    for index in spec.brokers.indices {
                        spec.brokers[index].configs["auto.create.topics.enable"] = "false"
                    }
                }, code: "topic-not-found", severity: "error", status: 2),
            Problem(
                name: "one fetcher thread", change: setBrokers("num.replica.fetchers", "1"),
                code: "num-replica-fetchers-1", severity: "info", status: 0),
            Problem(
                name: "small replica fetches", change: setBrokers("replica.fetch.max.bytes", "65536"),
                code: "replica-fetch-max-bytes-below-batch", severity: "warning", status: 1),
            Problem(
                name: "small replica socket buffer", change: setBrokers("replica.socket.receive.buffer.bytes", "8192"),
                code: "replica-socket-receive-buffer-small", severity: "warning", status: 1),
            Problem(
                name: "few I/O threads", change: setBrokers("num.io.threads", "2"),
                code: "num-io-threads-low", severity: "warning", status: 1),
            Problem(
                name: "a broker that cannot be reached", change: { spec in spec.brokers[2].isUnreachable = true },
                code: "configs-unavailable", severity: "error", status: 2),
            Problem(
                name: "DescribeConfigs refused for the topic",
                change: { spec in
                    spec.describeConfigsErrors["topic:logs"] = .init(code: 29, message: "Not authorized to describe.")
                }, code: "configs-unavailable", severity: "error", status: 2),
        ]

        @Test(arguments: problems)
        func eachProblem(_ problem: Problem) async throws {
            var spec = Self.wellConfigured()
            problem.change(&spec)
            let run = try await Self.against(spec, producer: problem.producer)
            #expect(run.status == problem.status, "\(run.stdout)\(run.stderr)")
            #expect(run.findings.map { "\($0.0) \($0.1)" } == ["\(problem.severity) \(problem.code)"], "\(run.stdout)")
        }

        @Test func unreachableBrokerIsNamedInTheText() async throws {
            var spec = Self.wellConfigured()
            spec.brokers[1].isUnreachable = true
            let cluster = try await FakeKafkaCluster.start(spec)
            defer { Task { await cluster.stop() } }
            let run = try Self.run(Self.pipeline(servers: cluster.bootstrapServers), json: false)
            #expect(run.status == 2)
            let port = try #require(cluster.ports[2])
            #expect(
                run.stdout.contains(
                    "error [configs-unavailable] broker 2 (127.0.0.1:\(port)): could not connect to broker 2 (127.0.0.1:\(port)): Connection refused"
                ), "\(run.stdout)")
        }

        @Test func noClusterAtAllIsExit2WithTheServerNamed() async throws {
            let cluster = try await FakeKafkaCluster.start(FakeClusterSpec(brokerCount: 1))
            let server = cluster.bootstrapServers[0]
            await cluster.stop()
            let run = try Self.run(Self.pipeline(servers: [server]), json: false)
            #expect(run.status == 2)
            #expect(run.stdout.contains("error [cluster-unreachable]"))
            #expect(
                run.stdout.contains("could not connect to bootstrap server \(server): Connection refused"),
                "\(run.stdout)")
            let json = try Self.run(Self.pipeline(servers: [server]))
            #expect(json.status == 2)
            #expect(json.codes == ["cluster-unreachable"])
        }

        /// The example report in README.md ("`tributary doctor`") is this run's output, with the
        /// fake brokers' addresses written as kafka-N:9092.
        @Test func readmeExampleIsWhatTheBinaryPrints() async throws {
            var spec = FakeClusterSpec(brokerCount: 3)
            spec.clusterId = "prod-eu1"
            spec.topics = [
                spec.topic(
                    "web-access", partitions: 12, replicationFactor: 3,
                    configs: FakeClusterSpec.topicDefaults.merging(["compression.type": "gzip"]) { $1 })
            ]
            let cluster = try await FakeKafkaCluster.start(spec)
            defer { Task { await cluster.stop() } }
            let pipeline = """
                kafka:
                  bootstrap_servers: [\(cluster.bootstrapServers[0])]
                  producer: { acks: all, compression.type: lz4 }
                sources:
                  nginx: { type: stdin }
                routes:
                  - name: nginx
                    from: [nginx]
                    topic: web-access
                  - name: app
                    from: [nginx]
                    topic: app-events
                    producer: { acks: 1, batch.size: 2000000 }
                """
            let run = try Self.run(pipeline, json: false)
            #expect(run.status == 2)
            var printed = run.stdout
            for (nodeId, port) in cluster.ports {
                printed = printed.replacingOccurrences(of: "127.0.0.1:\(port)", with: "kafka-\(nodeId):9092")
            }
            let readme = try String(
                contentsOf: KafkaTestCluster.repositoryRoot().appendingPathComponent("README.md"), encoding: .utf8)
            let section = try #require(readme.range(of: "## `tributary doctor`"))
            let example = try #require(readme.range(of: "\n```\ncluster ", range: section.upperBound..<readme.endIndex))
            let end = try #require(readme.range(of: "```\n", range: example.upperBound..<readme.endIndex))
            #expect("cluster " + String(readme[example.upperBound..<end.lowerBound]) == printed)
        }

        @Test func badPipelineFileIsExit2NamingThePlace() throws {
            let run = try Self.run("kafka:\n  bootstrap_servers: [127.0.0.1:1]\nsources: {}\nroutes: []\nbogus: 1\n")
            #expect(run.status == 2)
            #expect(run.stderr.contains("pipeline.yaml:"), "\(run.stderr)")
            // --json still prints one object: the problems as pipeline-invalid errors.
            let object = try #require(
                try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any], "\(run.stdout)")
            #expect(object["status"] as? String == "errors")
            #expect(object["exitStatus"] as? Int == 2)
            let findings = try #require(object["findings"] as? [[String: Any]])
            #expect(!findings.isEmpty)
            #expect(findings.allSatisfy { $0["code"] as? String == "pipeline-invalid" })
            #expect(findings.contains { ($0["message"] as? String)?.contains("pipeline.yaml:") == true })
            let text = try Self.run(
                "kafka:\n  bootstrap_servers: [127.0.0.1:1]\nsources: {}\nroutes: []\nbogus: 1\n", json: false)
            #expect(text.status == 2)
            #expect(text.stdout.isEmpty)
        }
    }
}
