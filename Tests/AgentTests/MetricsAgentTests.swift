import Foundation
import KafkaTestCluster
import Testing

extension AgentBinaryTests {
    /// `/metrics` and `/health` of the running binary, read with the test support's own HTTP
    /// client and Prometheus parser; counts are checked against what the test wrote and what
    /// the cluster stored.
    @Suite("tributary run: metrics and health")
    struct MetricsAgentTests {
        static func storedCount(_ cluster: KafkaTestCluster, topic: String) async throws -> Int64 {
            try await cluster.watermarks(topic: topic).values.reduce(0) { $0 + $1.high - $1.low }
        }

        static func scrape(_ address: String) async throws -> PrometheusSamples {
            let response = try await Task.detached { try HTTPProbe.get(address, path: "/metrics") }.value
            #expect(response.status == 200)
            return try PrometheusSamples(parsing: response.body)
        }

        static func health(_ address: String) async throws -> HTTPProbe.Response {
            try await Task.detached { try HTTPProbe.get(address, path: "/health") }.value
        }

        /// Polls `condition` for up to `seconds`.
        static func eventually(seconds: Int = 20, _ condition: () async throws -> Bool) async -> Bool {
            let deadline = ContinuousClock.now + .seconds(seconds)
            while ContinuousClock.now < deadline {
                if (try? await condition()) == true { return true }
                try? await Task.sleep(for: .milliseconds(200))
            }
            return (try? await condition()) == true
        }

        @Test func countsWhatWasShippedAndHealthFollowsTheBrokers() async throws {
            let cluster = try await KafkaTestCluster.start(brokers: 1, topics: ["metered": 2])
            defer { Task { await cluster.stop() } }
            let directory = try AgentProcess.makeDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let logs = directory.appendingPathComponent("logs")
            try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
            let log = logs.appendingPathComponent("app.log")
            let first = (0..<500).map { "metered line \($0) " + String(repeating: "x", count: $0 % 40) + "\n" }.joined()
            try first.write(to: log, atomically: false, encoding: .utf8)
            let pipeline = """
                kafka:
                  bootstrap_servers: [\(cluster.bootstrapServers)]
                  producer: { linger.ms: 2, batch.size: 4096 }
                agent:
                  state_dir: \(directory.path)/state
                  metrics_listen: 127.0.0.1:0
                  stall_timeout: 2s
                  status_interval: 200ms
                sources:
                  app:
                    type: file
                    include: [\(logs.path)/*.log]
                    poll_interval: 50ms
                routes:
                  - from: app
                    topic: metered
                """
            let agent = try AgentProcess(pipeline: pipeline, directory: directory)
            #expect(await agent.waitForLog("Serving /metrics and /health"), "stderr: \(agent.stderr)")
            let address = try #require(
                agent.stderr.firstMatch(of: /listen=(127\.0\.0\.1:\d+)/).map { String($0.1) }, "stderr: \(agent.stderr)"
            )

            #expect(await Self.eventually { try await Self.storedCount(cluster, topic: "metered") == 500 })
            // Metrics are carried over once a second.
            #expect(
                await Self.eventually {
                    try await Self.scrape(address).sum("tributary_source_records_acknowledged_total", ["source": "app"])
                        == 500
                })
            let samples = try await Self.scrape(address)
            let source = ["source": "app"]
            let topic = ["topic": "metered"]
            let stored = Double(try await Self.storedCount(cluster, topic: "metered"))
            #expect(samples.sum("tributary_source_lines_read_total", source) == 500)
            #expect(samples.sum("tributary_source_bytes_read_total", source) == Double(first.utf8.count))
            #expect(samples.sum("tributary_source_records_failed_total", source) == 0)
            #expect(samples.sum("tributary_producer_records_sent_total", topic) == stored)
            #expect(samples.sum("tributary_producer_records_failed_total", topic) == 0)
            #expect((samples.sum("tributary_producer_bytes_sent_total", topic) ?? 0) > 0)
            // 4 KiB batches of ~35-byte lines: several batches, each answered by one request.
            let batches = try #require(samples.sum("tributary_producer_batches_sent_total"))
            #expect(batches >= 4)
            #expect(samples.types["tributary_producer_request_latency_seconds"] == "histogram")
            let requests = try #require(samples.sum("tributary_producer_request_latency_seconds_count"))
            #expect(requests >= 1 && requests <= batches)
            #expect(samples.sum("tributary_producer_request_latency_seconds_bucket", ["le": "+Inf"]) == requests)
            #expect(samples.sum("tributary_producer_buffer_memory_bytes") == 8_388_608)
            #expect(samples.sum("tributary_producer_connections_open").map { $0 >= 1 } == true)
            #expect(samples.sum("tributary_source_backlog_records", source) == 0)
            #expect(
                await Self.eventually {
                    try await Self.scrape(address).sum("tributary_file_lag_bytes", ["path": log.path]) == 0
                })

            let healthy = try await Self.health(address)
            #expect(healthy.status == 200, "\(healthy.body)")
            #expect(healthy.body.contains(#""status":"ok""#))

            // The broker goes away while lines keep coming: unhealthy, with the reason.
            try await cluster.setBrokerDown(1)
            let handle = try FileHandle(forWritingTo: log)
            handle.seekToEndOfFile()
            handle.write(Data((0..<20).map { "late line \($0)\n" }.joined().utf8))
            try handle.close()
            var downBody = ""
            #expect(
                await Self.eventually(seconds: 30) {
                    let answer = try await Self.health(address)
                    downBody = answer.body
                    return answer.status == 503
                }, "stderr: \(agent.stderr)")
            #expect(downBody.contains(#""healthy":false"#))
            #expect(
                downBody.contains(#""status":"brokers_unreachable""#) || downBody.contains(#""status":"stalled""#),
                "\(downBody)")
            // The 20 lines wait in the producer or in the file: the file's lag shows them.
            #expect(
                await Self.eventually {
                    (try await Self.scrape(address).sum("tributary_file_lag_bytes", ["path": log.path]) ?? 0) > 0
                })

            // Back: healthy again, and everything delivered.
            try await cluster.setBrokerUp(1)
            #expect(await Self.eventually(seconds: 60) { try await Self.storedCount(cluster, topic: "metered") == 520 })
            #expect(await Self.eventually(seconds: 30) { try await Self.health(address).status == 200 })

            agent.signal(SIGTERM)
            #expect(await agent.waitForExit() == 0, "stderr: \(agent.stderr)")
        }

        /// While SIGTERM's drain waits for brokers that are down, the server still answers, and
        /// `/health` says the agent is draining.
        @Test func healthSaysDrainingWhileShutdownDelivers() async throws {
            let cluster = try await KafkaTestCluster.start(brokers: 1, topics: ["drained": 1])
            defer { Task { await cluster.stop() } }
            let directory = try AgentProcess.makeDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let socketPath = directory.appendingPathComponent("metrics.sock").path
            let pipeline = AgentSignalTests.pipeline(cluster, topic: "drained", timeout: "4s").replacingOccurrences(
                of: "agent:\n", with: "agent:\n  metrics_listen: unix:\(socketPath)\n")
            let agent = try AgentProcess(pipeline: pipeline, directory: directory)
            #expect(await agent.waitForNotification { $0.contains("READY=1") }, "stderr: \(agent.stderr)")
            let address = "unix:\(socketPath)"
            #expect(await Self.eventually { try await Self.health(address).status == 200 })
            try await cluster.setBrokerDown(1)
            agent.write((0..<10).map { "held \($0)\n" }.joined())
            #expect(
                await Self.eventually {
                    try await Self.scrape(address).sum("tributary_source_backlog_records", ["source": "console"]) == 10
                })
            agent.signal(SIGTERM)
            var body = ""
            #expect(
                await Self.eventually(seconds: 4) {
                    body = try await Self.health(address).body
                    return body.contains(#""status":"draining""#)
                }, "\(body)")
            #expect(body.contains(#""backlog":10"#), "\(body)")
            // The shutdown timeout passes with the records undelivered: exit 1, and the socket is gone.
            #expect(await agent.waitForExit() == 1, "stderr: \(agent.stderr)")
            #expect(!FileManager.default.fileExists(atPath: socketPath))
        }

        /// A source removed by a reload takes its gauges with it (its counters stay: the totals
        /// remain true); the source that stays keeps its series.
        @Test func aRemovedSourceLeavesNoStaleGauges() async throws {
            let cluster = try await KafkaTestCluster.start(brokers: 1, topics: ["kept": 1])
            defer { Task { await cluster.stop() } }
            let directory = try AgentProcess.makeDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            for name in ["app", "other"] {
                let folder = directory.appendingPathComponent(name)
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
                try "\(name) 1\n\(name) 2\n".write(
                    to: folder.appendingPathComponent("x.log"), atomically: false, encoding: .utf8)
            }
            func pipeline(_ sources: [String]) -> String {
                let blocks = sources.map {
                    "  \($0):\n    type: file\n    include: [\(directory.path)/\($0)/*.log]\n    poll_interval: 50ms"
                }
                return """
                    kafka:
                      bootstrap_servers: [\(cluster.bootstrapServers)]
                      producer: { linger.ms: 2 }
                    agent:
                      state_dir: \(directory.path)/state
                      metrics_listen: unix:\(directory.path)/m.sock
                    sources:
                    \(blocks.joined(separator: "\n"))
                    routes:
                      - from: [\(sources.joined(separator: ", "))]
                        topic: kept
                    """
            }
            let agent = try AgentProcess(pipeline: pipeline(["app", "other"]), directory: directory)
            let address = "unix:\(directory.path)/m.sock"
            let otherLag = ["source": "other", "path": "\(directory.path)/other/x.log"]
            #expect(
                await Self.eventually {
                    try await Self.scrape(address).sum("tributary_file_lag_bytes", otherLag) == 0
                }, "stderr: \(agent.stderr)")
            try agent.rewrite(pipeline(["app"]))
            agent.signal(SIGHUP)
            #expect(
                await Self.eventually {
                    let samples = try await Self.scrape(address)
                    return samples.sum("tributary_file_lag_bytes", otherLag) == nil
                        && samples.sum("tributary_source_backlog_records", ["source": "other"]) == nil
                }, "stderr: \(agent.stderr)")
            let samples = try await Self.scrape(address)
            #expect(samples.sum("tributary_source_records_acknowledged_total", ["source": "other"]) == 2)
            #expect(samples.sum("tributary_source_backlog_records", ["source": "app"]) == 0)
            #expect(samples.sum("tributary_file_lag_bytes", ["source": "app"]) == 0)
            agent.signal(SIGTERM)
            #expect(await agent.waitForExit() == 0, "stderr: \(agent.stderr)")
        }

        @Test func anAddressInUseStopsTheAgentBeforeItReads() async throws {
            let cluster = try await KafkaTestCluster.start(brokers: 1, topics: ["unused": 1])
            defer { Task { await cluster.stop() } }
            let directory = try AgentProcess.makeDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let socketPath = directory.appendingPathComponent("metrics.sock").path
            // Something else (not a socket) holds the path.
            _ = FileManager.default.createFile(atPath: socketPath, contents: Data("not a socket".utf8))
            let pipeline = AgentSignalTests.pipeline(cluster, topic: "unused").replacingOccurrences(
                of: "agent:\n", with: "agent:\n  metrics_listen: unix:\(socketPath)\n")
            let agent = try AgentProcess(pipeline: pipeline, directory: directory)
            #expect(await agent.waitForExit() == 1, "stderr: \(agent.stderr)")
            #expect(agent.stderr.contains("agent.metrics_listen unix:\(socketPath): cannot listen"), "\(agent.stderr)")
            #expect(try String(contentsOfFile: socketPath, encoding: .utf8) == "not a socket")
        }
    }
}
