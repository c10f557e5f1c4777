import Foundation
import KafkaTestCluster
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension AgentBinaryTests {
    /// A pipeline that logs in over SASL_SSL with a password kept in a file: the agent ships with
    /// it, and the password appears in nothing the agent, `validate` or `doctor` prints — logs,
    /// STATUS, metrics, error messages — also when the broker refuses it.
    @Suite("tributary run: secrets", .serialized)
    struct SecretsAgentTests {
        static let password = "s3cr3t-\(UUID().uuidString.prefix(8))-pw"
        static let wrongPassword = "wr0ng-\(UUID().uuidString.prefix(8))-pw"

        static func pipeline(front: SecurityFront, directory: URL, metrics: String) throws -> String {
            """
            kafka:
              bootstrap_servers: [\(front.bootstrapServers)]
              producer:
                linger.ms: 2
                reconnect.backoff.max.ms: 500
                security.protocol: SASL_SSL
                ssl.truststore.location: \(try SecurityFront.certificates().appendingPathComponent("ca.pem").path)
                sasl.mechanism: SCRAM-SHA-512
                sasl.username: shipper
                sasl.password: { file: \(directory.appendingPathComponent("kafka-password").path) }
            agent:
              state_dir: \(directory.appendingPathComponent("state").path)
              status_interval: 200ms
              shutdown_timeout: 3s
              metrics_listen: unix:\(metrics)
            sources:
              app: { type: file, include: [\(directory.appendingPathComponent("app.log").path)], poll_interval: 20ms }
            routes:
              - from: [app]
                topic: lines
            """
        }

        static func writePassword(_ text: String, in directory: URL) throws {
            let path = directory.appendingPathComponent("kafka-password")
            try (text + "\n").write(to: path, atomically: true, encoding: .utf8)
            chmod(path.path, 0o600)
        }

        static func appendLines(_ range: Range<Int>, in directory: URL) throws {
            let path = directory.appendingPathComponent("app.log").path
            if !FileManager.default.fileExists(atPath: path) {
                _ = FileManager.default.createFile(atPath: path, contents: nil)
            }
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            try handle.seekToEnd()
            try handle.write(contentsOf: Data(range.map { "line \($0)\n" }.joined().utf8))
            try handle.close()
        }

        /// Everything the run printed or published, for the grep.
        static func everything(_ agent: AgentProcess, metrics: String) -> String {
            let scraped = (try? HTTPProbe.get("unix:\(metrics)", path: "/metrics").body) ?? ""
            let health = (try? HTTPProbe.get("unix:\(metrics)", path: "/health").body) ?? ""
            return agent.stderr + agent.notifications.messages.joined(separator: "\n") + scraped + health
        }

        @Test func aPasswordFromAFileLogsInAndIsNeverPrinted() async throws {
            let cluster = try await KafkaTestCluster.start(brokers: 1, topics: ["lines": 1])
            defer { Task { await cluster.stop() } }
            let directory = try AgentProcess.makeDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let front = try await SecurityFront.start(
                before: cluster,
                arguments: try SecurityFront.tlsArguments() + [
                    "--sasl", "SCRAM-SHA-512", "--user", "shipper:\(Self.password)",
                ])
            let metrics = directory.appendingPathComponent("metrics.sock").path
            let pipeline = try Self.pipeline(front: front, directory: directory, metrics: metrics)
            try Self.appendLines(0..<100, in: directory)

            // The wrong password first: refused, nothing acknowledged, so nothing is lost either.
            try Self.writePassword(Self.wrongPassword, in: directory)
            let refused = try AgentProcess(pipeline: pipeline, directory: directory)
            #expect(await refused.waitForLog("refuse"), "stderr: \(refused.stderr)")
            let refusedOutput = Self.everything(refused, metrics: metrics)
            refused.signal(SIGTERM)
            #expect(await refused.waitForExit() != nil)
            #expect(!refusedOutput.contains(Self.wrongPassword))
            #expect(refusedOutput.contains("SASL_AUTHENTICATION_FAILED"), "\(refusedOutput.suffix(3000))")
            #expect((try await front.stats()).login_failures >= 1)

            try Self.writePassword(Self.password, in: directory)
            for command in [["validate", "--config"], ["doctor", "--config"]] {
                let run = try ValidateCommandTests.run(
                    command + [directory.appendingPathComponent("pipeline.yaml").path])
                #expect(!(run.stdout + run.stderr).contains(Self.password), "\(command[0]) printed the password")
                if command[0] == "validate" { #expect(run.status == 0, "\(run.stdout)\(run.stderr)") }
            }
            let agent = try AgentProcess(pipeline: pipeline, directory: directory)
            #expect(await agent.waitForNotification { $0.contains("READY=1") }, "stderr: \(agent.stderr)")
            try Self.appendLines(100..<200, in: directory)
            // The 100 lines refused before, and 100 more.
            #expect(
                await agent.waitForNotification { $0.contains("delivered 200 records") }, "stderr: \(agent.stderr)")
            let output = Self.everything(agent, metrics: metrics)
            agent.signal(SIGTERM)
            #expect(await agent.waitForExit() == 0, "stderr: \(agent.stderr)")
            #expect(!(output + agent.stderr).contains(Self.password))
            let stats = try await front.stats()
            #expect(stats.logins >= 1 && stats.unauthenticated_requests == 0, "\(stats)")

            try await front.stop()
            let values = try await cluster.consume(topic: "lines", timeout: .seconds(20)).map {
                String(decoding: $0.value ?? [], as: UTF8.self)
            }
            #expect(values == (0..<200).map { "line \($0)" })
        }
    }
}
