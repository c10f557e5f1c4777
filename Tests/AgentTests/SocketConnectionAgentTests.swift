import Foundation
import KafkaTestCluster
import Testing

extension AgentBinaryTests {
    /// A stream socket's `max_connections` and the writer's credentials, against the built binary.
    @Suite("tributary run: stream socket connections", .serialized)
    struct SocketConnectionAgentTests {
        static func pipeline(_ cluster: KafkaTestCluster, socket: String, extra: String) -> String {
            """
            kafka:
              bootstrap_servers: [\(cluster.bootstrapServers)]
              producer: { linger.ms: 2 }
            agent:
              status_interval: 200ms
            sources:
              events:
                type: unix_socket
                path: \(socket)
                max_connections: 3
            routes:
              - from: [events]
                topic: lines
            \(extra)
            """
        }

        /// Three connections are kept; two more are closed at once while the three stay; once
        /// the three end, a new one is kept again. Every line of the kept ones is delivered and
        /// none of the refused ones.
        @Test func connectionsOverMaxConnectionsAreClosedAndTheOthersDelivered() async throws {
            let cluster = try await KafkaTestCluster.start(brokers: 1, topics: ["lines": 1])
            defer { Task { await cluster.stop() } }
            let directory = try AgentProcess.makeDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let socket = directory.appendingPathComponent("in.sock").path
            let agent = try AgentProcess(
                pipeline: Self.pipeline(cluster, socket: socket, extra: ""), directory: directory)
            #expect(await agent.waitForNotification { $0.contains("READY=1") }, "stderr: \(agent.stderr)")

            let kept = try (0..<3).map { _ in try SocketWriter.openStream(socket) }
            for (index, descriptor) in kept.enumerated() { try SocketWriter.send(descriptor, "kept \(index) first\n") }
            // Their first lines delivered: the agent holds all three before the extra ones come.
            #expect(try await consumeUntil(cluster, topic: "lines", count: 3).count == 3)

            let extra = try (0..<2).map { _ in try SocketWriter.openStream(socket) }
            for (index, descriptor) in extra.enumerated() { try? SocketWriter.send(descriptor, "extra \(index)\n") }
            for descriptor in extra {
                #expect(SocketWriter.isClosedByPeer(descriptor, timeout: .seconds(5)))
                close(descriptor)
            }
            // The kept connections still work after the refusals.
            for (index, descriptor) in kept.enumerated() {
                #expect(!SocketWriter.isClosedByPeer(descriptor, timeout: .milliseconds(0)))
                try SocketWriter.send(descriptor, (0..<50).map { "kept \(index) line \($0)\n" }.joined())
                close(descriptor)
            }
            #expect(await agent.waitForLog("Refusing connections"), "stderr: \(agent.stderr)")
            var expected = Set((0..<3).map { "kept \($0) first" })
            for index in 0..<3 { for line in 0..<50 { expected.insert("kept \(index) line \(line)") } }
            // Delivered means handed to the producer, which is after their connections ended and
            // freed their places.
            var values = try await consumeUntil(cluster, topic: "lines", count: expected.count).map {
                String(decoding: $0.value ?? [], as: UTF8.self)
            }
            #expect(Set(values) == expected)
            #expect(values.count == expected.count)

            // A place is free again once the kept ones have ended.
            let later = try SocketWriter.openStream(socket)
            try SocketWriter.send(later, "later\n")
            #expect(!SocketWriter.isClosedByPeer(later, timeout: .milliseconds(300)), "stderr: \(agent.stderr)")
            close(later)
            expected.insert("later")
            values = try await consumeUntil(cluster, topic: "lines", count: expected.count).map {
                String(decoding: $0.value ?? [], as: UTF8.self)
            }
            #expect(Set(values) == expected)
            #expect(values.count == expected.count)
            #expect(await agent.waitForLog("Refused connections while max_connections were open"))
            #expect(agent.stderr.contains("refused=2"), "\(agent.stderr)")
            // One warning for the burst, not one per refused connection.
            #expect(agent.stderr.components(separatedBy: "Refusing connections").count - 1 == 1, "\(agent.stderr)")
            // A burst still going at the stop is counted then.
            let filler = try (0..<3).map { _ in try SocketWriter.openStream(socket) }
            try await Task.sleep(for: .milliseconds(300))
            let refusedAtStop = try SocketWriter.openStream(socket)
            #expect(SocketWriter.isClosedByPeer(refusedAtStop, timeout: .seconds(5)))
            close(refusedAtStop)
            agent.signal(SIGTERM)
            #expect(await agent.waitForExit() == 0, "stderr: \(agent.stderr)")
            for descriptor in filler { close(descriptor) }
            #expect(agent.stderr.contains("refused=1"), "\(agent.stderr)")
        }

        /// `{{ peer_pid }}`, `{{ peer_uid }}` and `{{ peer_gid }}` are the connecting process's:
        /// this test's own.
        @Test func peerCredentialsReachHeadersAndKeys() async throws {
            let cluster = try await KafkaTestCluster.start(brokers: 1, topics: ["lines": 1])
            defer { Task { await cluster.stop() } }
            let directory = try AgentProcess.makeDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let socket = directory.appendingPathComponent("in.sock").path
            let extra = """
                    key: { template: '{{ peer_uid }}:{{ peer_pid }}' }
                    headers: { pid: '{{ peer_pid }}', uid: '{{ peer_uid }}', gid: '{{ peer_gid }}' }
                """
            let agent = try AgentProcess(
                pipeline: Self.pipeline(cluster, socket: socket, extra: extra), directory: directory)
            #expect(await agent.waitForNotification { $0.contains("READY=1") }, "stderr: \(agent.stderr)")
            try SocketWriter.stream(socket, "one\ntwo\nthree\n")
            let records = try await consumeUntil(cluster, topic: "lines", count: 3)
            agent.signal(SIGTERM)
            #expect(await agent.waitForExit() == 0, "stderr: \(agent.stderr)")
            #expect(records.count == 3)
            for record in records {
                let headers = record.headers.map { ($0.name, $0.value.map { String(decoding: $0, as: UTF8.self) }) }
                #expect(headers.map(\.0) == ["pid", "uid", "gid"])
                #expect(headers.map(\.1) == ["\(getpid())", "\(getuid())", "\(getgid())"])
                #expect(record.key == Array("\(getuid()):\(getpid())".utf8))
            }
        }
    }
}
