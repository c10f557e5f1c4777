import Foundation
import KafkaTestCluster
import Testing

extension AgentBinaryTests {
    /// README's pipeline example, run as written with only its addresses and paths replaced: the
    /// issue's promise that the file's shape works.
    @Suite("README pipeline, run")
    struct ReadmePipelineTests {
        static func readmeExample() throws -> String {
            let readme = try String(
                contentsOf: try KafkaTestCluster.repositoryRoot().appendingPathComponent("README.md"), encoding: .utf8)
            let marker = "<!-- example: pipeline -->"
            let start = try #require(readme.range(of: marker))
            let open = try #require(readme[start.upperBound...].range(of: "```yaml\n"))
            let close = try #require(readme[open.upperBound...].range(of: "```"))
            return String(readme[open.upperBound..<close.lowerBound])
        }

        @Test func theExampleShipsAFileASocketAndStdin() async throws {
            let cluster = try await KafkaTestCluster.start(brokers: 2, topics: ["web-access": 2, "app-events": 2])
            defer { Task { await cluster.stop() } }
            let directory = try AgentProcess.makeDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let nginx = directory.appendingPathComponent("nginx")
            try FileManager.default.createDirectory(at: nginx, withIntermediateDirectories: true)
            try "10.1.1.1 GET /\n10.1.1.2 GET /a\n".write(
                to: nginx.appendingPathComponent("access.log"), atomically: true, encoding: .utf8)
            try "skipped\n".write(
                to: nginx.appendingPathComponent("access.log.2.gz"), atomically: true, encoding: .utf8)
            let brokers = cluster.brokers.map { "\($0.host):\($0.port)" }
            let pipeline = try Self.readmeExample()
                .replacingOccurrences(of: "kafka-1:9092, kafka-2:9092", with: brokers.joined(separator: ", "))
                .replacingOccurrences(of: "/var/log/nginx", with: nginx.path)
                .replacingOccurrences(of: "/run/tributary", with: directory.path)
                .replacingOccurrences(of: "/var/lib/tributary", with: directory.appendingPathComponent("state").path)
            let agent = try AgentProcess(pipeline: pipeline, directory: directory, environment: ["HOSTNAME": "web01"])
            #expect(await agent.waitForNotification { $0.contains("READY=1") }, "stderr: \(agent.stderr)")
            agent.write(#"{"user":{"id":"u-1"}}"# + "\n")
            try SocketWriter.stream(directory.appendingPathComponent("app.sock").path, #"{"user":{"id":"u-2"}}"# + "\n")
            let web = try await consumeUntil(cluster, topic: "web-access", count: 2)
            let app = try await consumeUntil(cluster, topic: "app-events", count: 2)
            agent.signal(SIGTERM)
            #expect(await agent.waitForExit() == 0, "stderr: \(agent.stderr)")
            #expect(web.map { String(decoding: $0.key ?? [], as: UTF8.self) }.sorted() == ["10.1.1.1", "10.1.1.2"])
            #expect(Set(app.compactMap { $0.key.map { String(decoding: $0, as: UTF8.self) } }) == ["u-1", "u-2"])
            #expect(app.allSatisfy { $0.headers.map(\.name) == ["host"] && $0.headers[0].value == Array("web01".utf8) })
            for partition in Int32(0)..<2 {
                #expect(
                    try await cluster.storedBatches(topic: "web-access", partition: partition).allSatisfy {
                        $0.compression == 4
                    })
                #expect(
                    try await cluster.storedBatches(topic: "app-events", partition: partition).allSatisfy {
                        $0.compression == 3
                    })
            }
        }
    }
}
