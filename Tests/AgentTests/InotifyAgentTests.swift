import Foundation
import KafkaTestCluster
import Testing

extension AgentBinaryTests {
    /// With the slow rescan an hour away, everything the agent picks up after its start comes
    /// through inotify: growth of an open file, a new file, a new directory under a wildcard
    /// directory, and a rename rotation.
    @Suite("tributary run: inotify")
    struct InotifyAgentTests {
        @Test func growthNewFilesNewDirectoriesAndRotationWithoutRescans() async throws {
            let cluster = try await KafkaTestCluster.start(brokers: 1, topics: ["watched": 1])
            defer { Task { await cluster.stop() } }
            let directory = try AgentProcess.makeDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let logs = directory.appendingPathComponent("logs")
            try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
            let first = logs.appendingPathComponent("a.log")
            try "a 1\n".write(to: first, atomically: false, encoding: .utf8)
            let pipeline = """
                kafka:
                  bootstrap_servers: [\(cluster.bootstrapServers)]
                  producer: { linger.ms: 1 }
                agent: { state_dir: \(directory.path)/state }
                sources:
                  files:
                    type: file
                    include: [\(logs.path)/*.log, \(logs.path)/*/app.log, \(directory.path)/later/*.log]
                    poll_interval: 20ms
                    glob_interval: 1h
                    rotate_wait: 200ms
                routes:
                  - from: files
                    topic: watched
                """
            let agent = try AgentProcess(pipeline: pipeline, directory: directory)
            _ = try await consumeUntil(cluster, topic: "watched", count: 1)
            try appendToFile(first, "a 2\n")
            try "b 1\n".write(to: logs.appendingPathComponent("b.log"), atomically: false, encoding: .utf8)
            let service = logs.appendingPathComponent("svc")
            try FileManager.default.createDirectory(at: service, withIntermediateDirectories: false)
            try "svc 1\n".write(to: service.appendingPathComponent("app.log"), atomically: false, encoding: .utf8)
            // A directory the glob names that did not exist at start (its parent is watched).
            let later = directory.appendingPathComponent("later")
            try FileManager.default.createDirectory(at: later, withIntermediateDirectories: false)
            try "later 1\n".write(to: later.appendingPathComponent("x.log"), atomically: false, encoding: .utf8)
            _ = try await consumeUntil(cluster, topic: "watched", count: 5)
            try appendToFile(first, "a 3\n")
            try FileManager.default.moveItem(at: first, to: logs.appendingPathComponent("a.log.1"))
            try "a new 1\n".write(to: first, atomically: false, encoding: .utf8)
            try appendToFile(service.appendingPathComponent("app.log"), "svc 2\n")
            let records = try await consumeUntil(cluster, topic: "watched", count: 8)
            agent.signal(SIGTERM)
            #expect(await agent.waitForExit() == 0, "stderr: \(agent.stderr)")
            let values = records.map { String(decoding: $0.value ?? [], as: UTF8.self) }
            #expect(values.count == 8, "\(values)")
            #expect(Set(values) == ["a 1", "a 2", "b 1", "svc 1", "later 1", "a 3", "a new 1", "svc 2"])
        }
    }
}
