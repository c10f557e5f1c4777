import Foundation
import KafkaTestCluster
import Testing

extension AgentBinaryTests {
    /// File checkpoints across restarts: the agent resumes where Kafka acknowledged.
    @Suite("tributary run: checkpoints across restarts")
    struct CheckpointAgentTests {
        static func pipeline(_ cluster: KafkaTestCluster, _ directory: URL, timeout: String = "10s") -> String {
            """
            kafka:
              bootstrap_servers: [\(cluster.bootstrapServers)]
              producer: { linger.ms: 2, max.block.ms: 500 }
            agent:
              state_dir: \(directory.path)/state
              shutdown_timeout: \(timeout)
              status_interval: 200ms
            sources:
              app: { type: file, include: [\(directory.path)/logs/*.log], poll_interval: 20ms }
            routes:
              - from: app
                topic: lines
            """
        }

        static func append(_ url: URL, _ lines: Range<Int>, prefix: String = "line") throws {
            try appendToFile(url, lines.map { "\(prefix) \($0)\n" }.joined())
        }

        static func values(_ cluster: KafkaTestCluster, count: Int) async throws -> [String] {
            try await consumeUntil(cluster, topic: "lines", count: count).map {
                String(decoding: $0.value ?? [], as: UTF8.self)
            }
        }

        static func state(_ directory: URL) throws -> String {
            let process = Process()
            process.executableURL = AgentProcess.executable
            process.arguments = ["state", "--config", directory.appendingPathComponent("pipeline.yaml").path]
            let out = Pipe()
            process.standardOutput = out
            try process.run()
            let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            return text
        }

        /// A graceful stop writes the checkpoint at what Kafka acknowledged; the next start
        /// resumes there: every line exactly once. `tributary state` shows no lag.
        @Test func aGracefulRestartNeitherLosesNorRepeats() async throws {
            let cluster = try await KafkaTestCluster.start(brokers: 1, topics: ["lines": 2])
            defer { Task { await cluster.stop() } }
            let directory = try AgentProcess.makeDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let logs = directory.appendingPathComponent("logs")
            try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
            let log = logs.appendingPathComponent("app.log")
            try Self.append(log, 0..<100)
            let first = try AgentProcess(pipeline: Self.pipeline(cluster, directory), directory: directory)
            _ = try await Self.values(cluster, count: 100)
            first.signal(SIGTERM)
            #expect(await first.waitForExit() == 0, "stderr: \(first.stderr)")
            let size = try FileManager.default.attributesOfItem(atPath: log.path)[.size] as! Int
            let state = try Self.state(directory)
            #expect(state.contains("app\t\(log.path)\t") && state.hasSuffix("\t\(size)\t\(size)\t0\n"), "\(state)")

            try Self.append(log, 100..<150)
            let second = try AgentProcess(pipeline: Self.pipeline(cluster, directory), directory: directory)
            let values = try await Self.values(cluster, count: 150)
            second.signal(SIGTERM)
            #expect(await second.waitForExit() == 0, "stderr: \(second.stderr)")
            #expect(values.count == 150)
            #expect(Set(values) == Set((0..<150).map { "line \($0)" }))
        }

        /// Restarted while the brokers are down: the lines wait, the checkpoint does not pass
        /// them, and once the brokers are back a later run delivers every one.
        @Test func aRestartWhileBrokersAreDownLosesNothing() async throws {
            let cluster = try await KafkaTestCluster.start(brokers: 1, topics: ["lines": 1])
            defer { Task { await cluster.stop() } }
            let directory = try AgentProcess.makeDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let logs = directory.appendingPathComponent("logs")
            try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
            let log = logs.appendingPathComponent("app.log")
            try Self.append(log, 0..<50)
            let first = try AgentProcess(pipeline: Self.pipeline(cluster, directory), directory: directory)
            _ = try await Self.values(cluster, count: 50)
            first.signal(SIGTERM)
            #expect(await first.waitForExit() == 0)

            try Self.append(log, 50..<80)
            try await cluster.setBrokerDown(1)
            let during = try AgentProcess(
                pipeline: Self.pipeline(cluster, directory, timeout: "1s"), directory: directory)
            #expect(
                await during.waitForNotification { $0.contains("backlog 30,") },
                "\(during.notifications.messages.suffix(2))")
            during.signal(SIGTERM)
            #expect(await during.waitForExit(timeout: .seconds(15)) == 1, "stderr: \(during.stderr)")

            try await cluster.setBrokerUp(1)
            let after = try AgentProcess(pipeline: Self.pipeline(cluster, directory), directory: directory)
            let values = try await Self.values(cluster, count: 80)
            after.signal(SIGTERM)
            #expect(await after.waitForExit() == 0, "stderr: \(after.stderr)")
            #expect(values == (0..<80).map { "line \($0)" })
        }

        /// kill -9: nothing is lost; what repeats is only what came after the last checkpoint.
        @Test func killNineLosesNothing() async throws {
            let cluster = try await KafkaTestCluster.start(brokers: 1, topics: ["lines": 1])
            defer { Task { await cluster.stop() } }
            let directory = try AgentProcess.makeDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let logs = directory.appendingPathComponent("logs")
            try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
            let log = logs.appendingPathComponent("app.log")
            try Self.append(log, 0..<3000)
            let first = try AgentProcess(pipeline: Self.pipeline(cluster, directory), directory: directory)
            _ = try await Self.values(cluster, count: 3000)
            try await Task.sleep(for: .milliseconds(1500))  // a checkpoint write or more
            try Self.append(log, 3000..<6000)
            try await Task.sleep(for: .milliseconds(50))
            first.signal(SIGKILL)
            _ = await first.waitForExit()
            let checkpointed = try Self.state(directory)
            let second = try AgentProcess(pipeline: Self.pipeline(cluster, directory), directory: directory)
            let deadline = ContinuousClock.now + .seconds(20)
            var values: [String] = []
            while ContinuousClock.now < deadline {
                values = try await Self.values(cluster, count: 6000)
                if Set(values).count == 6000 { break }
            }
            second.signal(SIGTERM)
            #expect(await second.waitForExit() == 0, "stderr: \(second.stderr)")
            #expect(Set(values) == Set((0..<6000).map { "line \($0)" }), "state before restart: \(checkpointed)")
            // Repeats only after the checkpoint: the first 3000 lines were checkpointed.
            let repeated = Dictionary(grouping: values) { $0 }.filter { $0.value.count > 1 }.keys
            #expect(repeated.allSatisfy { Int($0.dropFirst(5))! >= 3000 }, "\(repeated.sorted().prefix(5))")
        }

        /// Rewritten in place while the agent was stopped (same inode, other content): the
        /// fingerprint no longer matches, so the file is read from its start, not from the old offset.
        @Test func aFileRewrittenWhileStoppedIsReadAsNew() async throws {
            let cluster = try await KafkaTestCluster.start(brokers: 1, topics: ["lines": 1])
            defer { Task { await cluster.stop() } }
            let directory = try AgentProcess.makeDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let logs = directory.appendingPathComponent("logs")
            try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
            let log = logs.appendingPathComponent("app.log")
            try Self.append(log, 0..<10)
            let first = try AgentProcess(pipeline: Self.pipeline(cluster, directory), directory: directory)
            _ = try await Self.values(cluster, count: 10)
            first.signal(SIGTERM)
            #expect(await first.waitForExit() == 0)
            let handle = try FileHandle(forWritingTo: log)
            try handle.truncate(atOffset: 0)
            try handle.close()
            try Self.append(log, 0..<20, prefix: "other")
            let second = try AgentProcess(pipeline: Self.pipeline(cluster, directory), directory: directory)
            let values = try await Self.values(cluster, count: 30)
            second.signal(SIGTERM)
            #expect(await second.waitForExit() == 0, "stderr: \(second.stderr)")
            #expect(values == (0..<10).map { "line \($0)" } + (0..<20).map { "other \($0)" })
            #expect(second.stderr.contains("The file does not hold what its checkpoint saw"))
        }

        /// A corrupt checkpoint file is reported, moved aside, and its files read from the start:
        /// records may repeat, none are lost.
        @Test func aCorruptCheckpointFileIsHandledSafely() async throws {
            let cluster = try await KafkaTestCluster.start(brokers: 1, topics: ["lines": 1])
            defer { Task { await cluster.stop() } }
            let directory = try AgentProcess.makeDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let logs = directory.appendingPathComponent("logs")
            try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
            try Self.append(logs.appendingPathComponent("app.log"), 0..<5)
            try FileManager.default.createDirectory(
                at: directory.appendingPathComponent("state/checkpoints"), withIntermediateDirectories: true)
            try "not checkpoints\n".write(
                to: directory.appendingPathComponent("state/checkpoints/app.txt"), atomically: true, encoding: .utf8)
            let agent = try AgentProcess(pipeline: Self.pipeline(cluster, directory), directory: directory)
            let values = try await Self.values(cluster, count: 5)
            agent.signal(SIGTERM)
            #expect(await agent.waitForExit() == 0, "stderr: \(agent.stderr)")
            #expect(values == (0..<5).map { "line \($0)" })
            #expect(agent.stderr.contains("The checkpoint file is unreadable; it is moved aside"))
            let kept = try FileManager.default.contentsOfDirectory(
                atPath: directory.appendingPathComponent("state/checkpoints").path)
            #expect(kept.contains { $0.hasPrefix("app.txt.corrupt-") } && kept.contains("app.txt"), "\(kept)")
        }
    }
}

extension AgentBinaryTests {
    @Suite("tributary run: multiline records")
    struct MultilineAgentTests {
        /// Java stack traces between single-line records arrive as one record per event, also
        /// when the agent is stopped and started again in the middle of an event.
        @Test func stackTracesAreOneRecordAcrossARestart() async throws {
            let cluster = try await KafkaTestCluster.start(brokers: 1, topics: ["lines": 1])
            defer { Task { await cluster.stop() } }
            let directory = try AgentProcess.makeDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let logs = directory.appendingPathComponent("logs")
            try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
            let log = logs.appendingPathComponent("app.log")
            let pipeline = """
                kafka:
                  bootstrap_servers: [\(cluster.bootstrapServers)]
                  producer: { linger.ms: 2 }
                agent: { state_dir: \(directory.path)/state }
                sources:
                  app:
                    type: file
                    include: [\(logs.path)/*.log]
                    poll_interval: 20ms
                    multiline: { start_pattern: '^\\d{4}-\\d{2}-\\d{2} ', timeout: 30s }
                routes:
                  - from: app
                    topic: lines
                """
            try appendToFile(
                log,
                "2026-12-02 10:00:01 INFO one\n2026-12-02 10:00:02 ERROR two\njava.lang.Error: x\n    at A.a(A.java:1)\n"
            )
            let first = try AgentProcess(pipeline: pipeline, directory: directory)
            let before = try await consumeUntil(cluster, topic: "lines", count: 1)
            #expect(before.map { String(decoding: $0.value ?? [], as: UTF8.self) } == ["2026-12-02 10:00:01 INFO one"])
            try await Task.sleep(for: .milliseconds(1500))  // a checkpoint write while "two" is open
            first.signal(SIGTERM)
            #expect(await first.waitForExit() == 0, "stderr: \(first.stderr)")
            try appendToFile(
                log, "    at B.b(B.java:2)\n2026-12-02 10:00:03 INFO three\n2026-12-02 10:00:04 INFO four\n")
            let second = try AgentProcess(pipeline: pipeline, directory: directory)
            let records = try await consumeUntil(cluster, topic: "lines", count: 3)
            second.signal(SIGTERM)
            #expect(await second.waitForExit() == 0, "stderr: \(second.stderr)")
            #expect(
                records.map { String(decoding: $0.value ?? [], as: UTF8.self) } == [
                    "2026-12-02 10:00:01 INFO one",
                    "2026-12-02 10:00:02 ERROR two\njava.lang.Error: x\n    at A.a(A.java:1)\n    at B.b(B.java:2)",
                    "2026-12-02 10:00:03 INFO three",
                ])
        }
    }
}

extension AgentBinaryTests {
    @Suite("tributary run: rotation")
    struct RotationAgentTests {
        static func pipeline(_ cluster: KafkaTestCluster, _ directory: URL, extra: String = "") -> String {
            """
            kafka:
              bootstrap_servers: [\(cluster.bootstrapServers)]
              producer: { linger.ms: 2 }
            agent: { state_dir: \(directory.path)/state, status_interval: 200ms }
            sources:
              app:
                type: file
                include: [\(directory.path)/logs/*.log]
                poll_interval: 20ms
                glob_interval: 100ms
            \(extra)
            routes:
              - from: app
                topic: lines
            """
        }

        /// Renamed out of the glob (`app.log` → `app.log.1`), the old file is still read: what
        /// its writer appends before reopening its log is delivered too.
        @Test func aFileRenamedAwayIsReadUntilQuiet() async throws {
            let cluster = try await KafkaTestCluster.start(brokers: 1, topics: ["lines": 1])
            defer { Task { await cluster.stop() } }
            let directory = try AgentProcess.makeDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let logs = directory.appendingPathComponent("logs")
            try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
            let log = logs.appendingPathComponent("app.log")
            try appendToFile(log, "one\n")
            let agent = try AgentProcess(pipeline: Self.pipeline(cluster, directory), directory: directory)
            _ = try await consumeUntil(cluster, topic: "lines", count: 1)
            let rotated = logs.appendingPathComponent("app.log.1")
            try FileManager.default.moveItem(at: log, to: rotated)
            try appendToFile(log, "new file\n")
            try await Task.sleep(for: .milliseconds(300))
            try appendToFile(rotated, "late to the old file\n")
            let records = try await consumeUntil(cluster, topic: "lines", count: 3)
            agent.signal(SIGTERM)
            #expect(await agent.waitForExit() == 0, "stderr: \(agent.stderr)")
            #expect(
                Set(records.map { String(decoding: $0.value ?? [], as: UTF8.self) }) == [
                    "one", "new file", "late to the old file",
                ])
            #expect(records.count == 3)
        }

        /// Rotated while the agent was stopped, with lines not yet shipped: the next start finds
        /// the old file under its new name by its checkpoint and reads the rest, once.
        @Test func aFileRotatedWhileStoppedIsFinished() async throws {
            let cluster = try await KafkaTestCluster.start(brokers: 1, topics: ["lines": 1])
            defer { Task { await cluster.stop() } }
            let directory = try AgentProcess.makeDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let logs = directory.appendingPathComponent("logs")
            try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
            let log = logs.appendingPathComponent("app.log")
            try appendToFile(log, (0..<10).map { "line \($0)\n" }.joined())
            let first = try AgentProcess(pipeline: Self.pipeline(cluster, directory), directory: directory)
            _ = try await consumeUntil(cluster, topic: "lines", count: 10)
            first.signal(SIGTERM)
            #expect(await first.waitForExit() == 0)
            // While stopped: more lines, then logrotate's rename and create.
            try appendToFile(log, (10..<15).map { "line \($0)\n" }.joined())
            try FileManager.default.moveItem(at: log, to: logs.appendingPathComponent("app.log.1"))
            try appendToFile(log, "fresh 0\nfresh 1\n")
            let second = try AgentProcess(pipeline: Self.pipeline(cluster, directory), directory: directory)
            let records = try await consumeUntil(cluster, topic: "lines", count: 17)
            second.signal(SIGTERM)
            #expect(await second.waitForExit() == 0, "stderr: \(second.stderr)")
            let values = records.map { String(decoding: $0.value ?? [], as: UTF8.self) }
            #expect(values.count == 17)
            #expect(Set(values) == Set((0..<15).map { "line \($0)" } + ["fresh 0", "fresh 1"]))
        }

        /// A deleted file whose writer keeps writing is held open at most deleted_hold_limit; then
        /// it is closed, and the loss is logged and counted.
        @Test func aDeletedFileIsHeldOpenOnlySoLong() async throws {
            let cluster = try await KafkaTestCluster.start(brokers: 1, topics: ["lines": 1])
            defer { Task { await cluster.stop() } }
            let directory = try AgentProcess.makeDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let logs = directory.appendingPathComponent("logs")
            try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
            let log = logs.appendingPathComponent("app.log")
            try appendToFile(log, "before\n")
            let agent = try AgentProcess(
                pipeline: Self.pipeline(
                    cluster, directory, extra: "    rotate_wait: 300ms\n    deleted_hold_limit: 1s"),
                directory: directory)
            _ = try await consumeUntil(cluster, topic: "lines", count: 1)
            let writer = try FileHandle(forWritingTo: log)
            writer.seekToEndOfFile()
            try FileManager.default.removeItem(at: log)
            for index in 0..<20 {
                writer.write(Data("still writing \(index)\n".utf8))
                try await Task.sleep(for: .milliseconds(100))
            }
            try writer.close()
            #expect(await agent.waitForLog("held open past deleted_hold_limit"), "stderr: \(agent.stderr)")
            agent.signal(SIGTERM)
            #expect(await agent.waitForExit() == 0, "stderr: \(agent.stderr)")
            let values = try await consumeUntil(cluster, topic: "lines", count: 5).map {
                String(decoding: $0.value ?? [], as: UTF8.self)
            }
            // Read while held: some of what was written after the deletion, in order.
            #expect(values.first == "before" && values.count > 2 && values.count < 21, "\(values)")
        }

        /// A last line without its newline is held; with partial_line_timeout it is sent once
        /// the file stays quiet that long.
        @Test func aPartialLastLineIsHeldOrSentAfterItsTimeout() async throws {
            let cluster = try await KafkaTestCluster.start(brokers: 1, topics: ["lines": 1])
            defer { Task { await cluster.stop() } }
            let directory = try AgentProcess.makeDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let logs = directory.appendingPathComponent("logs")
            try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
            try appendToFile(logs.appendingPathComponent("held.log"), "complete\nno newline yet")
            let held = try AgentProcess(pipeline: Self.pipeline(cluster, directory), directory: directory)
            _ = try await consumeUntil(cluster, topic: "lines", count: 1)
            try await Task.sleep(for: .milliseconds(700))
            held.signal(SIGTERM)
            #expect(await held.waitForExit() == 0)
            #expect(try await cluster.consume(topic: "lines").count == 1)

            let timed = try AgentProcess(
                pipeline: Self.pipeline(cluster, directory, extra: "    partial_line_timeout: 300ms"),
                directory: directory)
            let records = try await consumeUntil(cluster, topic: "lines", count: 2)
            timed.signal(SIGTERM)
            #expect(await timed.waitForExit() == 0, "stderr: \(timed.stderr)")
            #expect(records.map { String(decoding: $0.value ?? [], as: UTF8.self) } == ["complete", "no newline yet"])
        }
    }
}

extension AgentBinaryTests {
    @Suite("tributary run: many files")
    struct ManyFilesAgentTests {
        /// More files than max_open_files: idle ones are closed and reopened at their position
        /// when they grow; every line arrives once, and the open descriptors stay bounded.
        @Test func filesBeyondTheOpenLimitAreParkedAndReopened() async throws {
            let cluster = try await KafkaTestCluster.start(brokers: 1, topics: ["lines": 1])
            defer { Task { await cluster.stop() } }
            let directory = try AgentProcess.makeDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let logs = directory.appendingPathComponent("logs")
            try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
            for index in 0..<20 {
                try "file \(index) line 0\n".write(
                    to: logs.appendingPathComponent("f\(index).log"), atomically: false, encoding: .utf8)
            }
            let pipeline = """
                kafka:
                  bootstrap_servers: [\(cluster.bootstrapServers)]
                  producer: { linger.ms: 2 }
                agent: { state_dir: \(directory.path)/state }
                sources:
                  app: { type: file, include: [\(logs.path)/*.log], poll_interval: 20ms, max_open_files: 5 }
                routes:
                  - from: app
                    topic: lines
                """
            let agent = try AgentProcess(pipeline: pipeline, directory: directory)
            _ = try await consumeUntil(cluster, topic: "lines", count: 20)
            var peakFiles = 0
            for round in 1...3 {
                for index in 0..<20 {
                    let handle = try FileHandle(forWritingTo: logs.appendingPathComponent("f\(index).log"))
                    handle.seekToEndOfFile()
                    handle.write(Data("file \(index) line \(round)\n".utf8))
                    try handle.close()
                }
                for _ in 0..<10 {
                    peakFiles = max(peakFiles, agent.openLogFiles(under: logs.path))
                    try await Task.sleep(for: .milliseconds(30))
                }
            }
            let records = try await consumeUntil(cluster, topic: "lines", count: 80)
            agent.signal(SIGTERM)
            #expect(await agent.waitForExit() == 0, "stderr: \(agent.stderr)")
            let values = records.map { String(decoding: $0.value ?? [], as: UTF8.self) }
            #expect(values.count == 80)
            #expect(Set(values) == Set((0..<20).flatMap { file in (0..<4).map { "file \(file) line \($0)" } }))
            #expect(peakFiles <= 5, "\(peakFiles) log files open at once")
        }
    }
}
