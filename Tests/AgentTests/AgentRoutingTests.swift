import Foundation
import KafkaTestCluster
import Testing

extension AgentBinaryTests {
    /// `tributary run` with every source kind, keys and two topics of different settings, read back
    /// by librdkafka's consumer (CRC-checked) and kafka-python's batch decoder.
    @Suite("tributary run: sources, keys, routes", .serialized)
    struct AgentRoutingTests {
        /// The test's partitioner is right: Kafka's own murmur2 vectors (clients' UtilsTest).
        @Test func murmur2ReferenceMatchesKafka() {
            let vectors: [(String, Int32)] = [
                ("21", -973_932_308), ("foobar", -790_332_482), ("a-little-bit-long-string", -985_981_536),
                ("a-little-bit-longer-string", -1_486_304_829),
                ("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58_897_971), ("abc", 479_470_107),
            ]
            for (key, expected) in vectors { #expect(javaMurmur2(Array(key.utf8)) == expected, "\(key)") }
        }

        @Test func everySourceKindKeyedAndRoutedToTwoTopics() async throws {
            let cluster = try await KafkaTestCluster.start(brokers: 3, topics: ["web": 3, "app": 4])
            defer { Task { await cluster.stop() } }
            let directory = try AgentProcess.makeDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let logs = directory.appendingPathComponent("logs")
            try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
            let accessLines = (0..<40).map { "10.0.0.\($0 % 7) GET /page/\($0) 200" }
            try (accessLines.prefix(20).joined(separator: "\n") + "\n").write(
                to: logs.appendingPathComponent("access.log"), atomically: true, encoding: .utf8)
            try "ignored\n".write(to: logs.appendingPathComponent("old.log.gz"), atomically: true, encoding: .utf8)
            let stream = directory.appendingPathComponent("app.sock").path
            let datagram = directory.appendingPathComponent("dgram.sock").path
            let pipeline = """
                kafka:
                  bootstrap_servers: [\(cluster.bootstrapServers)]
                  client_id: agent-test
                  producer: { linger.ms: 5 }
                agent:
                  status_interval: 200ms
                  state_dir: \(directory.path)/state
                sources:
                  access:
                    type: file
                    include: [\(logs.path)/*]
                    exclude: ["*.gz"]
                  events:
                    type: unix_socket
                    path: \(stream)
                    mode: "0600"
                  datagrams:
                    type: unix_socket
                    path: \(datagram)
                    socket_type: datagram
                    exclude_lines: ['^DEBUG']
                  console:
                    type: stdin
                routes:
                  - from: [access, console]
                    topic: web
                    key: { regex: '^(\\S+) ' }
                    headers: { origin: '{{ source }}', env: test }
                    producer: { compression.type: zstd, acks: 1 }
                  - from: [events, datagrams, console]
                    topic: app
                    key: { json: user.id }
                    format: json
                    headers: { host: '${HOSTNAME}' }
                    producer: { compression.type: lz4 }
                """
            let agent = try AgentProcess(
                pipeline: pipeline, directory: directory, environment: ["HOSTNAME": "agent-host"])
            #expect(await agent.waitForNotification { $0.contains("READY=1") }, "stderr: \(agent.stderr)")
            var status = stat()
            #expect(
                stat(stream, &status) == 0 && status.st_mode & 0o777 == 0o600 && (status.st_mode & S_IFMT) == S_IFSOCK)
            #expect(stat(datagram, &status) == 0 && status.st_mode & 0o777 == 0o660)
            // stdin feeds both routes: a web line with a regex key, and the same line in app's envelope.
            agent.write("10.9.9.9 GET /from-stdin 200\n")
            try SocketWriter.stream(
                stream, #"{"user":{"id":"alice"},"n":1}"# + "\n" + #"{"user":{"id":"bob"},"n":2}"# + "\n")
            try SocketWriter.datagrams(datagram, [#"{"user":{"id":"carol"},"n":3}"#, "DEBUG dropped", #"{"n":4}"#])
            // Lines appended to the file while it is followed.
            let handle = try FileHandle(forWritingTo: logs.appendingPathComponent("access.log"))
            handle.seekToEndOfFile()
            handle.write(Data((accessLines.suffix(20).joined(separator: "\n") + "\n").utf8))
            try handle.close()

            let web = try await consumeUntil(cluster, topic: "web", count: 41)
            let app = try await consumeUntil(cluster, topic: "app", count: 5)
            let connections = agent.connectionsByRemotePort()
            // What was filtered and what had no key is counted where an operator sees it.
            #expect(
                await agent.waitForNotification { $0.contains("filtered 1, key failures 2") },
                "\(agent.notifications.messages.suffix(3))")
            agent.signal(SIGTERM)
            #expect(await agent.waitForExit() == 0, "stderr: \(agent.stderr)")
            // The sockets are removed on exit.
            #expect(
                !FileManager.default.fileExists(atPath: stream) && !FileManager.default.fileExists(atPath: datagram))

            // web: every access line once, the stdin line, keyed by the first field, partitioned by murmur2.
            let webValues = web.map { String(decoding: $0.value ?? [], as: UTF8.self) }
            #expect(Set(webValues) == Set(accessLines + ["10.9.9.9 GET /from-stdin 200"]))
            #expect(webValues.count == 41)
            for record in web {
                let value = String(decoding: record.value ?? [], as: UTF8.self)
                let key = String(value.prefix { $0 != " " })
                #expect(record.key == Array(key.utf8))
                #expect(record.partition == javaPartition(key: Array(key.utf8), partitions: 3))
                let origin = value.contains("from-stdin") ? "console" : "access"
                #expect(record.headers.map(\.name) == ["origin", "env"])
                #expect(
                    record.headers.map { $0.value.map { String(decoding: $0, as: UTF8.self) } } == [origin, "test"])
            }
            // app: JSON envelopes with metadata; the DEBUG datagram filtered out; a line without the
            // key field gets a null key (the default policy).
            var messages: [String: [String: Any]] = [:]
            for record in app {
                let envelope = try #require(
                    try JSONSerialization.jsonObject(with: Data(record.value ?? [])) as? [String: Any])
                let message = try #require(envelope["message"] as? String)
                messages[message] = envelope
                #expect(envelope["host"] as? String == "agent-host")
                #expect(record.headers.first?.name == "host")
                let user = (try? JSONSerialization.jsonObject(with: Data(message.utf8)) as? [String: Any])
                    .flatMap { ($0["user"] as? [String: Any])?["id"] as? String }
                #expect(record.key == user.map { Array($0.utf8) })
                if let user { #expect(record.partition == javaPartition(key: Array(user.utf8), partitions: 4)) }
            }
            #expect(messages.count == 5)
            #expect(messages[#"{"user":{"id":"alice"},"n":1}"#]?["source"] as? String == "events")
            #expect(messages[#"{"user":{"id":"alice"},"n":1}"#]?["path"] as? String == stream)
            #expect(messages[#"{"user":{"id":"bob"},"n":2}"#]?["offset"] as? Int == 30)
            #expect(messages[#"{"user":{"id":"carol"},"n":3}"#]?["source"] as? String == "datagrams")
            #expect(messages["10.9.9.9 GET /from-stdin 200"]?["source"] as? String == "console")
            #expect(messages["10.9.9.9 GET /from-stdin 200"]?["path"] == nil)
            #expect(messages.keys.contains(#"{"n":4}"#))

            // Each topic's own settings reached the wire: zstd (4) for web, lz4 (3) for app.
            for partition in Int32(0)..<3 {
                let batches = try await cluster.storedBatches(topic: "web", partition: partition)
                #expect(batches.allSatisfy { $0.compression == 4 }, "web/\(partition): \(batches.map(\.compression))")
            }
            var appBatches = 0
            for partition in Int32(0)..<4 {
                let batches = try await cluster.storedBatches(topic: "app", partition: partition)
                appBatches += batches.count
                #expect(batches.allSatisfy { $0.compression == 3 }, "app/\(partition): \(batches.map(\.compression))")
                // acks=all (the default) for app: idempotent batches; web (acks=1) is not.
                #expect(batches.allSatisfy { $0.producerId >= 0 })
            }
            #expect(appBatches > 0)
            // All routes share the producer: a connection to each broker that leads a partition
            // records went to, one each, plus at most the bootstrap connection the producer learnt the
            // cluster from (kept until connections.max.idle.ms, as Java's is).
            var leaders: Set<Int32> = []
            for (topic, records) in [("web", web), ("app", app)] {
                let written = Set(records.map(\.partition))
                for partition in try await cluster.partitionLeaders(topic: topic)
                where written.contains(partition.partition) {
                    leaders.insert(partition.leader)
                }
            }
            let ports = Dictionary(uniqueKeysWithValues: cluster.brokers.map { ($0.id, Int($0.port)) })
            let perBroker = cluster.brokers.map { connections[Int($0.port)] ?? 0 }
            #expect(leaders.allSatisfy { (connections[ports[$0]!] ?? 0) >= 1 }, "leaders \(leaders), \(connections)")
            #expect(perBroker.allSatisfy { $0 <= 2 } && perBroker.reduce(0, +) <= leaders.count + 1, "\(connections)")
        }

        @Test func stdinAloneExitsAtItsEndWithEverythingDelivered() async throws {
            let cluster = try await KafkaTestCluster.start(brokers: 1, topics: ["lines": 2])
            defer { Task { await cluster.stop() } }
            let directory = try AgentProcess.makeDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let pipeline = """
                kafka:
                  bootstrap_servers: [\(cluster.bootstrapServers)]
                sources:
                  console: { type: stdin, max_record_bytes: 16 }
                routes:
                  - from: console
                    topic: lines
                """
            let agent = try AgentProcess(pipeline: pipeline, directory: directory)
            let lines = (0..<5000).map { "line \($0)" }
            agent.write(
                lines.joined(separator: "\n") + "\n" + String(repeating: "z", count: 40) + "\nno newline at the end")
            agent.closeStdin()
            #expect(await agent.waitForExit() == 0, "stderr: \(agent.stderr)")
            let stored = try await consumeUntil(cluster, topic: "lines", count: 5002)
            let values = stored.map { String(decoding: $0.value ?? [], as: UTF8.self) }
            #expect(values.count == 5002)
            #expect(Set(values) == Set(lines + [String(repeating: "z", count: 16), "no newline at th"]))
        }
    }
}

/// Consumes until `count` records are there (or 20 s pass).
func consumeUntil(_ cluster: KafkaTestCluster, topic: String, count: Int) async throws -> [ConsumedRecord] {
    let deadline = ContinuousClock.now + .seconds(20)
    var records: [ConsumedRecord] = []
    repeat {
        records = try await cluster.consume(topic: topic, timeout: .seconds(3))
        if records.count >= count { break }
        try await Task.sleep(for: .milliseconds(200))
    } while ContinuousClock.now < deadline
    return records
}

extension AgentBinaryTests {
    /// File sources followed within one run: `start_at`, files that appear later, a rename
    /// rotation, a file that shrinks (checkpoints across runs are in CheckpointAgentTests).
    @Suite("tributary run: following files")
    struct AgentFileTests {
        @Test func startAtRotationNewFilesAndTruncation() async throws {
            let cluster = try await KafkaTestCluster.start(brokers: 1, topics: ["files": 1])
            defer { Task { await cluster.stop() } }
            let directory = try AgentProcess.makeDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let logs = directory.appendingPathComponent("logs")
            try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
            let app = logs.appendingPathComponent("app.log")
            try "old 1\nold 2\n".write(to: app, atomically: true, encoding: .utf8)
            let pipeline = """
                kafka:
                  bootstrap_servers: [\(cluster.bootstrapServers)]
                  producer: { linger.ms: 1 }
                agent: { state_dir: \(directory.path)/state }
                sources:
                  files:
                    type: file
                    include: [\(logs.path)/*.log]
                    start_at: end
                    poll_interval: 20ms
                    glob_interval: 200ms
                routes:
                  - from: files
                    topic: files
                    headers: { file: '{{ path }}' }
                """
            let agent = try AgentProcess(pipeline: pipeline, directory: directory)
            #expect(await agent.waitForLog("Reading file"), "stderr: \(agent.stderr)")
            // start_at: end skips what app.log held at start; what is appended is read.
            try appendToFile(app, "new 1\n")
            _ = try await consumeUntil(cluster, topic: "files", count: 1)
            // Rotation by rename: the old file's last lines, then the new file from its start.
            try appendToFile(app, "before rotation\n")
            try FileManager.default.moveItem(at: app, to: logs.appendingPathComponent("app.log.1"))
            try "after rotation\n".write(to: app, atomically: false, encoding: .utf8)
            // A file that appears later is new: read from its start, whatever start_at says.
            try "second 1\nsecond 2\n".write(
                to: logs.appendingPathComponent("second.log"), atomically: false, encoding: .utf8)
            _ = try await consumeUntil(cluster, topic: "files", count: 5)
            // Truncated in place (copytruncate): read again from 0.
            try "".write(to: app, atomically: false, encoding: .utf8)
            #expect(await agent.waitForLog("The file shrank"), "stderr: \(agent.stderr)")
            try appendToFile(app, "after truncation\n")
            let records = try await consumeUntil(cluster, topic: "files", count: 6)
            agent.signal(SIGTERM)
            #expect(await agent.waitForExit() == 0, "stderr: \(agent.stderr)")
            let values = records.map { String(decoding: $0.value ?? [], as: UTF8.self) }
            #expect(
                Set(values) == [
                    "new 1", "before rotation", "after rotation", "second 1", "second 2", "after truncation",
                ])
            #expect(values.count == 6)
            #expect(values.firstIndex(of: "before rotation")! < values.firstIndex(of: "after rotation")!)
            let files = Dictionary(
                uniqueKeysWithValues: records.map {
                    (
                        String(decoding: $0.value ?? [], as: UTF8.self),
                        $0.headers.first.flatMap { $0.value }.map { String(decoding: $0, as: UTF8.self) }
                    )
                })
            #expect(files["second 1"] == logs.appendingPathComponent("second.log").path)
            #expect(files["after rotation"] == app.path)
        }

        /// A glob that matches both a file and its rotated name (`app.log*`): the file is read once.
        /// The rotation happens while the agent sleeps between polls, so at its next turn it finds
        /// `app.log.1` (the same inode as the `app.log` it has open, with unread lines) and a new
        /// `app.log` at once.
        @Test func aRotatedNameMatchedByTheGlobIsNotReadTwice() async throws {
            let cluster = try await KafkaTestCluster.start(brokers: 1, topics: ["rotated": 1])
            defer { Task { await cluster.stop() } }
            let directory = try AgentProcess.makeDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let app = directory.appendingPathComponent("app.log")
            try "one\ntwo\n".write(to: app, atomically: false, encoding: .utf8)
            let pipeline = """
                kafka:
                  bootstrap_servers: [\(cluster.bootstrapServers)]
                  producer: { linger.ms: 1 }
                agent: { state_dir: \(directory.path)/state }
                sources:
                  files:
                    type: file
                    include: [\(directory.path)/app.log*]
                    poll_interval: 1s
                    glob_interval: 100ms
                routes:
                  - from: files
                    topic: rotated
                """
            let agent = try AgentProcess(pipeline: pipeline, directory: directory)
            _ = try await consumeUntil(cluster, topic: "rotated", count: 2)
            try await Task.sleep(for: .milliseconds(100))
            // logrotate's rename and create, with the writer still appending to the renamed file.
            try FileManager.default.moveItem(at: app, to: directory.appendingPathComponent("app.log.1"))
            try "four\n".write(to: app, atomically: false, encoding: .utf8)
            let old = try FileHandle(forWritingTo: directory.appendingPathComponent("app.log.1"))
            old.seekToEndOfFile()
            old.write(Data("three\n".utf8))
            try old.close()
            try await Task.sleep(for: .milliseconds(2500))
            let stored = try await consumeUntil(cluster, topic: "rotated", count: 4)
            agent.signal(SIGTERM)
            #expect(await agent.waitForExit() == 0, "stderr: \(agent.stderr)")
            let values = stored.map { String(decoding: $0.value ?? [], as: UTF8.self) }
            #expect(values == ["one", "two", "three", "four"], "\(values)")
        }
    }
}
