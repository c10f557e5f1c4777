import Foundation
import KafkaTestCluster
import Testing

extension AgentBinaryTests {
    /// SIGTERM, SIGHUP and what systemd hears, against the built binary.
    @Suite("tributary run: signals and systemd", .serialized)
    struct AgentSignalTests {
        static func pipeline(_ cluster: KafkaTestCluster, topic: String, extra: String = "", timeout: String = "10s")
            -> String
        {
            """
            kafka:
              bootstrap_servers: [\(cluster.bootstrapServers)]
              producer: { linger.ms: 2 }
            agent:
              shutdown_timeout: \(timeout)
              status_interval: 200ms
            sources:
              console:
                type: stdin
            routes:
              - from: [console]
                topic: \(topic)
            \(extra)
            """
        }

        /// SIGTERM while lines stream in on stdin and from a file, with reading held back by a full
        /// `buffer.memory`: every line read is delivered, exactly once, and what was delivered is a
        /// prefix of what was written.
        @Test func sigtermWhileStreamingLosesAndDuplicatesNothing() async throws {
            let cluster = try await KafkaTestCluster.start(brokers: 3, topics: ["stream": 3, "file": 3])
            defer { Task { await cluster.stop() } }
            let directory = try AgentProcess.makeDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let file = directory.appendingPathComponent("big.log")
            let fileLines = (0..<200_000).map { "file line \($0)" }
            try (fileLines.joined(separator: "\n") + "\n").write(to: file, atomically: true, encoding: .utf8)
            let pipeline = """
                kafka:
                  bootstrap_servers: [\(cluster.bootstrapServers)]
                  # A small buffer.memory: reading waits for Kafka (backpressure) while the signal comes.
                  producer: { linger.ms: 5, batch.size: 4096, buffer.memory: 65536 }
                agent: { state_dir: \(directory.path)/state }
                sources:
                  console: { type: stdin }
                  big: { type: file, include: [\(file.path)] }
                routes:
                  - from: [console]
                    topic: stream
                  - from: [big]
                    topic: file
                """
            let agent = try AgentProcess(pipeline: pipeline, directory: directory)
            #expect(await agent.waitForNotification { $0.contains("READY=1") }, "stderr: \(agent.stderr)")
            // stdin is fed without blocking, counting the bytes the pipe took; what the agent did
            // not read is still in the pipe afterwards (the test holds its read end too).
            let stream = Array((0..<20_000).map { "stdin line \($0)\n" }.joined().utf8)
            let writeEnd = agent.stdinWrite
            _ = fcntl(writeEnd, F_SETFL, fcntl(writeEnd, F_GETFL) | O_NONBLOCK)
            let writer = Task.detached {
                var written = 0
                while !Task.isCancelled && written < stream.count {
                    let count = stream[written...].prefix(4096).withUnsafeBytes {
                        Glibc.write(writeEnd, $0.baseAddress, $0.count)
                    }
                    if count > 0 { written += count } else { try? await Task.sleep(for: .milliseconds(1)) }
                }
                return written
            }
            try await Task.sleep(for: .milliseconds(300))
            agent.signal(SIGTERM)
            #expect(await agent.waitForExit() == 0, "stderr: \(agent.stderr)")
            writer.cancel()
            let written = await writer.value
            let readEnd = agent.stdinRead
            _ = fcntl(readEnd, F_SETFL, fcntl(readEnd, F_GETFL) | O_NONBLOCK)
            var unread = 0
            var scratch = [UInt8](repeating: 0, count: 65_536)
            while true {
                let count = Glibc.read(readEnd, &scratch, scratch.count)
                if count <= 0 { break }
                unread += count
            }
            // The agent took the first written − unread bytes: it stopped at a line boundary, and
            // exactly the lines in those bytes are in Kafka.
            let taken = stream[0..<(written - unread)]
            #expect(taken.last == UInt8(ascii: "\n") || taken.isEmpty, "the agent stopped inside a line")
            let linesTaken = taken.filter { $0 == UInt8(ascii: "\n") }.count

            for (topic, prefix, total) in [
                ("stream", "stdin line ", linesTaken), ("file", "file line ", fileLines.count),
            ] {
                var delivered = 0
                for (_, marks) in try await cluster.watermarks(topic: topic) {
                    delivered += Int(marks.high - marks.low)
                }
                let records = try await consumeUntil(cluster, topic: topic, count: delivered)
                let numbers = records.map {
                    Int(String(decoding: $0.value ?? [], as: UTF8.self).dropFirst(prefix.count)) ?? -1
                }
                #expect(numbers.count == delivered)
                let duplicates = Dictionary(grouping: records) { $0.value ?? [] }.filter { $0.value.count > 1 }
                #expect(
                    duplicates.isEmpty,
                    "\(topic): duplicates \(duplicates.values.map { $0.map { "\($0.partition)@\($0.offset)" } })\n\(agent.stderr.suffix(3000))"
                )
                #expect(Set(numbers) == Set(0..<numbers.count), "\(topic): not a prefix of what was written")
                #expect(numbers.count > 0 && numbers.count <= total)
                if topic == "file" { #expect(numbers.count < total, "the file was read to its end before the signal") }
                if topic == "stream" { #expect(numbers.count == linesTaken, "stdin lines read but not delivered") }
            }
            #expect(agent.stderr.contains("Stopped; every record read was delivered"))
        }

        /// READY=1 once the brokers answered; STATUS= lines; RELOADING=1 then READY=1 around a
        /// reload that applies a new topic and new topic settings; STOPPING=1 at SIGTERM — in order.
        @Test func sighupAppliesAValidChangeAndSystemdHearsEachStep() async throws {
            let cluster = try await KafkaTestCluster.start(brokers: 1, topics: ["before": 1, "after": 1])
            defer { Task { await cluster.stop() } }
            let directory = try AgentProcess.makeDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            // WatchdogSec=1s, as systemd passes it.
            let agent = try AgentProcess(
                pipeline: Self.pipeline(cluster, topic: "before"), directory: directory,
                environment: ["WATCHDOG_USEC": "1000000"])
            #expect(await agent.waitForNotification { $0.contains("READY=1") }, "stderr: \(agent.stderr)")
            agent.write((0..<100).map { "old \($0)\n" }.joined())
            _ = try await consumeUntil(cluster, topic: "before", count: 100)

            // The new file: another topic with its own settings, and a new socket source.
            let socket = directory.appendingPathComponent("late.sock").path
            try agent.rewrite(
                Self.pipeline(cluster, topic: "after").replacingOccurrences(
                    of: "topic: after",
                    with: "topic: after\n    producer: { compression.type: gzip }\n  - from: [late]\n    topic: before"
                )
                .replacingOccurrences(
                    of: "    type: stdin", with: "    type: stdin\n  late:\n    type: unix_socket\n    path: \(socket)")
            )
            agent.signal(SIGHUP)
            #expect(await agent.waitForLog("Reloaded the pipeline file"), "stderr: \(agent.stderr)")
            #expect(await agent.waitForLog("Listening path=\(socket)"), "stderr: \(agent.stderr)")
            agent.write((0..<100).map { "new \($0)\n" }.joined())
            let after = try await consumeUntil(cluster, topic: "after", count: 100)
            try SocketWriter.stream(socket, "from the new source\n")
            let beforeAgain = try await consumeUntil(cluster, topic: "before", count: 101)
            #expect(beforeAgain.last.map { String(decoding: $0.value ?? [], as: UTF8.self) } == "from the new source")
            #expect(await agent.waitForNotification { $0.hasPrefix("STATUS=delivered 201 records") })
            agent.signal(SIGTERM)
            #expect(await agent.waitForExit() == 0, "stderr: \(agent.stderr)")

            let before = try await cluster.consume(topic: "before")
            #expect(
                before.map { String(decoding: $0.value ?? [], as: UTF8.self) }
                    == (0..<100).map { "old \($0)" } + ["from the new source"])
            #expect(after.map { String(decoding: $0.value ?? [], as: UTF8.self) } == (0..<100).map { "new \($0)" })
            // The new topic settings took effect: gzip (1) batches; the other topic keeps the
            // agent's default, lz4 (3).
            #expect(try await cluster.storedBatches(topic: "after", partition: 0).allSatisfy { $0.compression == 1 })
            #expect(try await cluster.storedBatches(topic: "before", partition: 0).allSatisfy { $0.compression == 3 })
            #expect(
                agent.stderr.contains("changes=\"added late; rerouted console; new producer settings\""),
                "stderr: \(agent.stderr)")
            // Delivery made progress or had nothing to do: the watchdog was fed.
            #expect(agent.notifications.messages.contains("WATCHDOG=1"))

            let messages = agent.notifications.messages
            let ready = messages.firstIndex { $0.hasPrefix("READY=1") }
            let reloading = messages.firstIndex { $0.hasPrefix("RELOADING=1\nMONOTONIC_USEC=") }
            let stopping = messages.firstIndex { $0.hasPrefix("STOPPING=1") }
            #expect(ready != nil && reloading != nil && stopping != nil, "\(messages)")
            if let ready, let reloading, let stopping {
                #expect(ready < reloading && reloading < stopping, "\(messages)")
                let readyAgain = messages[reloading...].firstIndex { $0.hasPrefix("READY=1") }
                #expect(readyAgain != nil && readyAgain! < stopping, "\(messages)")
                #expect(messages[ready...].contains { $0.hasPrefix("STATUS=") })
                #expect(messages.last.map { $0.hasPrefix("STOPPING=1") || $0.hasPrefix("STATUS=") } == true)
            }
        }

        /// SIGHUP with a broken file: the old pipeline keeps running, the errors are logged with
        /// their place, and STATUS says the reload failed.
        @Test func sighupWithABrokenFileKeepsTheOldPipeline() async throws {
            let cluster = try await KafkaTestCluster.start(brokers: 1, topics: ["kept": 1])
            defer { Task { await cluster.stop() } }
            let directory = try AgentProcess.makeDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            // stderr is "the journal": JOURNAL_STREAM names its device and inode.
            let agent = try AgentProcess(
                pipeline: Self.pipeline(cluster, topic: "kept"), directory: directory, stderrIsJournal: true)
            #expect(await agent.waitForNotification { $0.contains("READY=1") }, "stderr: \(agent.stderr)")
            try agent.rewrite(
                Self.pipeline(cluster, topic: "kept").replacingOccurrences(of: "type: stdin", with: "type: stdn"))
            agent.signal(SIGHUP)
            #expect(await agent.waitForLog("Reload refused"), "stderr: \(agent.stderr)")
            #expect(
                agent.stderr.contains(
                    "<3>Reload refused: \(agent.configPath.path):9:11: sources.console.type: expected file, unix_socket, stdin, got \"stdn\" (did you mean \"stdin\"?)"
                ), "stderr: \(agent.stderr)")
            #expect(
                await agent.waitForNotification {
                    $0.hasPrefix("STATUS=") && $0.contains("reload failed: \(agent.configPath.path):9:11")
                },
                "\(agent.notifications.messages)")
            agent.write((0..<50).map { "still \($0)\n" }.joined())
            let kept = try await consumeUntil(cluster, topic: "kept", count: 50)
            #expect(kept.count == 50)
            // Fixed again: the next reload clears the complaint.
            try agent.rewrite(Self.pipeline(cluster, topic: "kept"))
            agent.signal(SIGHUP)
            #expect(
                await agent.waitForNotification {
                    $0.hasPrefix("STATUS=delivered 50 records") && !$0.contains("reload failed")
                }, "\(agent.notifications.messages.suffix(3))")
            // One event per line, each with its syslog priority, no time stamp (journald adds it).
            let lines = agent.stderr.split(separator: "\n")
            #expect(
                lines.allSatisfy {
                    $0.hasPrefix("<3>") || $0.hasPrefix("<4>") || $0.hasPrefix("<6>") || $0.hasPrefix("<7>")
                })
            // SIGINT (Ctrl-C) stops it as SIGTERM does.
            agent.signal(SIGINT)
            #expect(await agent.waitForExit() == 0, "stderr: \(agent.stderr)")
        }

        /// The brokers are down from the start: records wait in the producer (each metadata wait of
        /// max.block.ms is backpressure, not a reason to drop), and are delivered when the brokers
        /// come back.
        @Test func brokersDownAtStartDelaysButLosesNothing() async throws {
            let cluster = try await KafkaTestCluster.start(brokers: 1, topics: ["later": 1])
            defer { Task { await cluster.stop() } }
            try await cluster.setBrokerDown(1)
            let directory = try AgentProcess.makeDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let pipeline = Self.pipeline(cluster, topic: "later").replacingOccurrences(
                of: "producer: { linger.ms: 2 }", with: "producer: { linger.ms: 2, max.block.ms: 300 }")
            let agent = try AgentProcess(pipeline: pipeline, directory: directory)
            agent.write((0..<20).map { "waiting \($0)\n" }.joined())
            #expect(await agent.waitForLog("No broker answers with the topic's metadata"), "stderr: \(agent.stderr)")
            try await Task.sleep(for: .seconds(1))
            try await cluster.setBrokerUp(1)
            let stored = try await consumeUntil(cluster, topic: "later", count: 20)
            #expect(stored.map { String(decoding: $0.value ?? [], as: UTF8.self) } == (0..<20).map { "waiting \($0)" })
            #expect(await agent.waitForNotification { $0.contains("READY=1") })
            agent.signal(SIGTERM)
            #expect(await agent.waitForExit() == 0, "stderr: \(agent.stderr)")
        }

        /// A reload that must replace the producer while the brokers are down does not wait
        /// forever, and a SIGTERM after it is still honoured within the shutdown timeout.
        @Test func aReloadWhileBrokersAreDownDoesNotHoldBackShutdown() async throws {
            let cluster = try await KafkaTestCluster.start(brokers: 1, topics: ["down": 1])
            defer { Task { await cluster.stop() } }
            let directory = try AgentProcess.makeDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let agent = try AgentProcess(
                pipeline: Self.pipeline(cluster, topic: "down", timeout: "2s"), directory: directory)
            #expect(await agent.waitForNotification { $0.contains("READY=1") }, "stderr: \(agent.stderr)")
            try await cluster.setBrokerDown(1)
            agent.write((0..<10).map { "held \($0)\n" }.joined())
            #expect(
                await agent.waitForNotification { $0.contains("backlog 10,") },
                "\(agent.notifications.messages.suffix(3))")
            try agent.rewrite(
                Self.pipeline(cluster, topic: "down", timeout: "2s").replacingOccurrences(
                    of: "topic: down", with: "topic: down\n    producer: { compression.type: lz4 }"))
            agent.signal(SIGHUP)
            // This reload waits out its budget (2 s here); SIGHUPs arriving meanwhile are one more reload.
            #expect(await agent.waitForLog("Reloading the pipeline file"), "stderr: \(agent.stderr)")
            for _ in 0..<5 {
                try await Task.sleep(for: .milliseconds(100))
                agent.signal(SIGHUP)
            }
            #expect(
                await agent.waitForLog("Reloaded the pipeline file", timeout: .seconds(10)), "stderr: \(agent.stderr)")
            #expect(await agent.waitForLog("changes=\"no changes\"", timeout: .seconds(10)), "stderr: \(agent.stderr)")
            try await Task.sleep(for: .milliseconds(300))
            #expect(
                agent.stderr.components(separatedBy: "Reloading the pipeline file").count - 1 == 2,
                "stderr: \(agent.stderr)")
            #expect(agent.stderr.contains("The replaced producer could not deliver everything within the reload"))
            agent.signal(SIGTERM)
            #expect(await agent.waitForExit(timeout: .seconds(15)) == 1, "stderr: \(agent.stderr)")
            #expect(agent.stderr.contains("10 records read but not delivered"), "stderr: \(agent.stderr)")
        }

        /// The brokers go away: SIGTERM waits the shutdown timeout, then says how many records were
        /// not delivered and exits non-zero.
        @Test func shutdownTimeoutReportsWhatWasNotDelivered() async throws {
            let cluster = try await KafkaTestCluster.start(brokers: 1, topics: ["gone": 1])
            defer { Task { await cluster.stop() } }
            let directory = try AgentProcess.makeDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            // WatchdogSec=0.4s: pinged every 200 ms while idle, not while delivery is stuck.
            let agent = try AgentProcess(
                pipeline: Self.pipeline(cluster, topic: "gone", timeout: "2s"), directory: directory,
                environment: ["WATCHDOG_USEC": "400000"])
            #expect(await agent.waitForNotification { $0.contains("READY=1") }, "stderr: \(agent.stderr)")
            #expect(await agent.waitForNotification { $0 == "WATCHDOG=1" })
            try await cluster.setBrokerDown(1)
            agent.write((0..<30).map { "stuck \($0)\n" }.joined())
            #expect(
                await agent.waitForNotification { $0.contains("backlog 30,") },
                "\(agent.notifications.messages.suffix(3))")
            let pings = agent.notifications.messages.filter { $0 == "WATCHDOG=1" }.count
            try await Task.sleep(for: .seconds(1))
            #expect(
                agent.notifications.messages.filter { $0 == "WATCHDOG=1" }.count == pings,
                "the watchdog was fed while nothing was delivered")
            agent.signal(SIGTERM)
            #expect(await agent.waitForExit(timeout: .seconds(15)) == 1, "stderr: \(agent.stderr)")
            #expect(
                agent.stderr.contains("30 records read but not delivered within the shutdown timeout (2.0 seconds)"),
                "stderr: \(agent.stderr)")
        }
    }
}

extension AgentBinaryTests {
    /// A socket handed over by systemd's socket activation (`systemd-socket-activate`, which
    /// passes LISTEN_FDS/LISTEN_FDNAMES as systemd does and starts the agent at the first connection).
    @Suite("tributary run: socket activation", .serialized)
    struct AgentSocketActivationTests {
        @Test(arguments: ["stream", "datagram"])
        func takesTheSocketSystemdPasses(socketType: String) async throws {
            let cluster = try await KafkaTestCluster.start(brokers: 1, topics: ["activated": 1])
            defer { Task { await cluster.stop() } }
            let directory = try AgentProcess.makeDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let socket = directory.appendingPathComponent("activated.sock").path
            let pipeline = """
                kafka:
                  bootstrap_servers: [\(cluster.bootstrapServers)]
                sources:
                  app:
                    type: unix_socket
                    systemd_socket: app
                    socket_type: \(socketType)
                routes:
                  - from: [app]
                    topic: activated
                """
            let launcher =
                ["/usr/bin/systemd-socket-activate", "-l", socket, "--fdname=app"]
                + (socketType == "datagram" ? ["--datagram"] : []) + ["-E", "NOTIFY_SOCKET"]
            let agent = try AgentProcess(pipeline: pipeline, directory: directory, launcher: launcher)
            let deadline = ContinuousClock.now + .seconds(10)
            while !FileManager.default.fileExists(atPath: socket) && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            // The first write starts the agent, which then reads it from the handed-over socket.
            if socketType == "stream" {
                try SocketWriter.stream(socket, "first\nsecond\n")
            } else {
                try SocketWriter.datagrams(socket, ["first", "second"])
            }
            let stored = try await consumeUntil(cluster, topic: "activated", count: 2)
            #expect(
                stored.map { String(decoding: $0.value ?? [], as: UTF8.self) } == ["first", "second"],
                "stderr: \(agent.stderr)")
            agent.signal(SIGTERM)
            #expect(await agent.waitForExit() == 0, "stderr: \(agent.stderr)")
        }

        /// Started as systemd starts the shipped units: the socket under systemd/tributary.socket's
        /// FileDescriptorName= (LISTEN_FDS, LISTEN_FDNAMES, LISTEN_PID), NOTIFY_SOCKET and
        /// WATCHDOG_USEC together. READY=1 after the first record arrives through the passed
        /// socket; WATCHDOG=1 pings; a reload that changes the socket source restarts it on the
        /// same passed socket (RELOADING=1, then READY=1); SIGTERM sends STOPPING=1 and exits 0
        /// with every record delivered once.
        @Test func startedAsTheShippedUnitsStartItTheAgentSpeaksSystemdsProtocol() async throws {
            let cluster = try await KafkaTestCluster.start(brokers: 1, topics: ["unit": 1])
            defer { Task { await cluster.stop() } }
            let directory = try AgentProcess.makeDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let unit = try SystemdUnitTests.source("tributary.socket")
            let name = try #require(
                unit.split(separator: "\n").first { $0.hasPrefix("FileDescriptorName=") }.map {
                    String($0.dropFirst("FileDescriptorName=".count))
                })
            let socket = directory.appendingPathComponent("app.sock").path
            func pipeline(extra: String = "") -> String {
                """
                kafka:
                  bootstrap_servers: [\(cluster.bootstrapServers)]
                  producer: { linger.ms: 2 }
                agent: { status_interval: 200ms }
                sources:
                  app:
                    type: unix_socket
                    systemd_socket: \(name)
                \(extra)
                routes:
                  - from: [app]
                    topic: unit
                """
            }
            let launcher = [
                "/usr/bin/systemd-socket-activate", "-l", socket, "--fdname=\(name)", "-E", "NOTIFY_SOCKET", "-E",
                "WATCHDOG_USEC",
            ]
            let agent = try AgentProcess(
                pipeline: pipeline(), directory: directory, environment: ["WATCHDOG_USEC": "1000000"],
                launcher: launcher)
            let deadline = ContinuousClock.now + .seconds(10)
            while !FileManager.default.fileExists(atPath: socket) && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            try SocketWriter.stream(socket, "first\n")
            #expect(await agent.waitForNotification { $0.hasPrefix("READY=1") }, "stderr: \(agent.stderr)")
            _ = try await consumeUntil(cluster, topic: "unit", count: 1)
            #expect(await agent.waitForNotification { $0 == "WATCHDOG=1" }, "\(agent.notifications.messages)")

            try agent.rewrite(pipeline(extra: "    exclude_lines: ['^skip']"))
            agent.signal(SIGHUP)
            #expect(await agent.waitForLog("Reloaded the pipeline file"), "stderr: \(agent.stderr)")
            #expect(agent.stderr.contains("changes=\"restarted app\""), "stderr: \(agent.stderr)")
            try SocketWriter.stream(socket, "skip this\nafter the reload\n")
            let records = try await consumeUntil(cluster, topic: "unit", count: 2)
            agent.signal(SIGTERM)
            #expect(await agent.waitForExit() == 0, "stderr: \(agent.stderr)")
            #expect(records.map { String(decoding: $0.value ?? [], as: UTF8.self) } == ["first", "after the reload"])
            // Both runs of the source listened on the passed socket, neither on one of its own.
            #expect(
                agent.stderr.components(separatedBy: "Listening path=systemd:\(name)").count == 3,
                "stderr: \(agent.stderr)")

            let messages = agent.notifications.messages
            let ready = messages.firstIndex { $0.hasPrefix("READY=1") }
            let reloading = messages.firstIndex { $0.hasPrefix("RELOADING=1\nMONOTONIC_USEC=") }
            let stopping = messages.firstIndex { $0.hasPrefix("STOPPING=1") }
            #expect(ready != nil && reloading != nil && stopping != nil, "\(messages)")
            if let ready, let reloading, let stopping {
                #expect(ready < reloading && reloading < stopping, "\(messages)")
                #expect(messages[reloading..<stopping].contains { $0.hasPrefix("READY=1") }, "\(messages)")
                #expect(messages[ready..<reloading].contains("WATCHDOG=1"), "\(messages)")
            }
        }
    }
}

extension AgentBinaryTests {
    /// A reload that changes a file source restarts only it, and the restarted source goes on
    /// where its predecessor left each file: nothing read twice, nothing skipped, while the
    /// unchanged stdin source keeps running.
    @Suite("tributary run: reloading a file source")
    struct AgentFileReloadTests {
        @Test func aRestartedFileSourceResumesWhereItWas() async throws {
            let cluster = try await KafkaTestCluster.start(brokers: 1, topics: ["lines": 1])
            defer { Task { await cluster.stop() } }
            let directory = try AgentProcess.makeDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let log = directory.appendingPathComponent("app.log")
            try (0..<50).map { "line \($0)\n" }.joined().write(to: log, atomically: false, encoding: .utf8)
            func pipeline(poll: String) -> String {
                """
                kafka:
                  bootstrap_servers: [\(cluster.bootstrapServers)]
                  producer: { linger.ms: 1 }
                agent: { state_dir: \(directory.path)/state }
                sources:
                  app: { type: file, include: [\(log.path)], poll_interval: \(poll), start_at: end }
                  console: { type: stdin }
                routes:
                  - from: [app, console]
                    topic: lines
                """
            }
            let agent = try AgentProcess(pipeline: pipeline(poll: "50ms"), directory: directory)
            #expect(await agent.waitForNotification { $0.contains("READY=1") }, "stderr: \(agent.stderr)")
            let handle = try FileHandle(forWritingTo: log)
            handle.seekToEndOfFile()
            handle.write(Data((50..<60).map { "line \($0)\n" }.joined().utf8))
            _ = try await consumeUntil(cluster, topic: "lines", count: 10)
            try agent.rewrite(pipeline(poll: "40ms"))
            agent.signal(SIGHUP)
            #expect(await agent.waitForLog("Reloaded the pipeline file"), "stderr: \(agent.stderr)")
            #expect(agent.stderr.contains("changes=\"restarted app\""), "stderr: \(agent.stderr)")
            handle.write(Data((60..<70).map { "line \($0)\n" }.joined().utf8))
            try handle.close()
            agent.write("from stdin\n")
            let records = try await consumeUntil(cluster, topic: "lines", count: 21)
            agent.signal(SIGTERM)
            #expect(await agent.waitForExit() == 0, "stderr: \(agent.stderr)")
            let values = records.map { String(decoding: $0.value ?? [], as: UTF8.self) }
            // start_at: end held for the first start only; the restart resumed at line 60.
            #expect(values.filter { $0.hasPrefix("line") } == (50..<70).map { "line \($0)" }, "\(values)")
            #expect(values.filter { $0 == "from stdin" }.count == 1)
        }
    }
}
