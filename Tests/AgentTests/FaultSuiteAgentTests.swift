import Foundation
import KafkaTestCluster
import Testing

extension AgentBinaryTests {
    /// The agent end to end under broker faults: a file (rotated once in a while) and a stream
    /// socket (connections coming and going) are written while brokers die and come back,
    /// leaders move, Produce requests fail with retriable errors, responses slow down or come
    /// after the request timeout, and a "broker" that accepts connections but never answers
    /// sits in the bootstrap list. Afterwards every line written must be in Kafka exactly once
    /// (the producer is idempotent by default), in write order within each partition, and the
    /// file checkpoints at the files' ends. `make test` runs one fixed schedule; `make stress`
    /// (`TRIBUTARY_FAULT_SEEDS=N`) adds random schedules.
    @Suite("tributary run: fault suite", .serialized)
    struct FaultSuiteAgentTests {
        static let topics = ["files": 3, "socket": 3]

        static func pipeline(_ cluster: KafkaTestCluster, silent: SilentBroker, directory: URL) -> String {
            // The silent listener comes first: a client that trusts the first address would hang.
            // request.timeout.ms is short so that the late answers below are late; the shortest
            // metadata.max.idle.ms puts the later leader moves past it (topics in use must stay
            // in the Metadata requests, which the soak found they did not).
            """
            kafka:
              bootstrap_servers: [\(silent.address), \(cluster.bootstrapServers)]
              producer:
                linger.ms: 5
                request.timeout.ms: 2000
                metadata.max.idle.ms: 5000
                retry.backoff.ms: 50
                delivery.timeout.ms: 120000
            agent:
              state_dir: \(directory.path)/state
              shutdown_timeout: 30s
              status_interval: 200ms
            sources:
              app:
                type: file
                include: [\(directory.path)/logs/*.log]
                poll_interval: 20ms
                rotate_wait: 1s
              events:
                type: unix_socket
                path: \(directory.path)/in.sock
            routes:
              - from: app
                topic: files
              - from: events
                topic: socket
            """
        }

        /// One injected fault; `apply` returns once it is over (or, for queued errors, queued).
        enum Fault: CustomStringConvertible {
            /// Cluster-wide errors for the next Produce requests (nothing of them is appended).
            case produceErrors([Int16])
            case moveLeader(topic: String, partition: Int32, broker: Int32)
            /// `-1`: every broker, so the bootstrap list (with the silent listener) is all there is.
            case brokerDown(Int32, milliseconds: Int)
            case latency(milliseconds: Int, forMilliseconds: Int)
            /// The next Produce request to each broker is appended at once but answered after
            /// `milliseconds`, past request.timeout.ms: the retry must not store it twice.
            case lateAnswers(milliseconds: Int)
            case pause(milliseconds: Int)

            var description: String {
                switch self {
                case .produceErrors(let codes): "Produce errors \(codes)"
                case .moveLeader(let topic, let partition, let broker): "leader of \(topic)/\(partition) to \(broker)"
                case .brokerDown(let broker, let ms): "broker \(broker) down for \(ms) ms"
                case .latency(let ms, let duration): "\(ms) ms latency for \(duration) ms"
                case .lateAnswers(let ms): "Produce answered after \(ms) ms"
                case .pause(let ms): "pause \(ms) ms"
                }
            }

            func apply(_ cluster: KafkaTestCluster) async throws {
                switch self {
                case .produceErrors(let codes):
                    try await cluster.pushRequestErrors(apiKey: 0, errors: codes)
                case .moveLeader(let topic, let partition, let broker):
                    try await cluster.setPartitionLeader(topic: topic, partition: partition, broker: broker)
                case .brokerDown(let broker, let ms):
                    try await cluster.setBrokerDown(broker)
                    try await Task.sleep(for: .milliseconds(ms))
                    try await cluster.setBrokerUp(broker)
                case .latency(let ms, let duration):
                    try await cluster.setRTT(broker: -1, milliseconds: ms)
                    try await Task.sleep(for: .milliseconds(duration))
                    try await cluster.setRTT(broker: -1, milliseconds: 0)
                case .lateAnswers(let ms):
                    for broker in cluster.brokers {
                        try await cluster.pushBrokerRequestErrors(
                            broker: broker.id, apiKey: 0, errors: [(error: 0, rttMs: ms)])
                    }
                case .pause(let ms):
                    try await Task.sleep(for: .milliseconds(ms))
                }
            }
        }

        /// NOT_LEADER_OR_FOLLOWER, REQUEST_TIMED_OUT, NOT_ENOUGH_REPLICAS,
        /// NOT_ENOUGH_REPLICAS_AFTER_APPEND, LEADER_NOT_AVAILABLE: all retriable.
        static let retriableProduceErrors: [Int16] = [6, 7, 19, 20, 5]

        static let fixedSchedule: [Fault] = [
            .pause(milliseconds: 500),
            .produceErrors([6, 7, 19, 6, 20, 5]),
            .pause(milliseconds: 700),
            .moveLeader(topic: "files", partition: 0, broker: 2),
            .moveLeader(topic: "socket", partition: 1, broker: 3),
            .pause(milliseconds: 500),
            .brokerDown(1, milliseconds: 1500),
            .pause(milliseconds: 500),
            .latency(milliseconds: 250, forMilliseconds: 1500),
            .lateAnswers(milliseconds: 3000),
            .pause(milliseconds: 3500),
            .brokerDown(-1, milliseconds: 1500),
            .pause(milliseconds: 500),
            .moveLeader(topic: "files", partition: 0, broker: 3),
            .moveLeader(topic: "files", partition: 1, broker: 1),
            .moveLeader(topic: "socket", partition: 2, broker: 2),
            .produceErrors([19, 19, 6, 7]),
            .pause(milliseconds: 1000),
        ]

        @Test func everyLineArrivesOnceAndInOrderThroughFixedFaults() async throws {
            try await Self.run(schedule: Self.fixedSchedule, label: "fixed schedule", expectsResends: true)
        }

        static var seeds: [UInt64] {
            let count = ProcessInfo.processInfo.environment["TRIBUTARY_FAULT_SEEDS"].flatMap(Int.init) ?? 0
            return (0..<UInt64(count)).map { 7000 + $0 }
        }

        /// About a minute of random faults per seed (`make stress`).
        @Test(arguments: seeds)
        func everyLineArrivesOnceAndInOrderThroughRandomFaults(seed: UInt64) async throws {
            try await Self.run(
                schedule: Self.randomSchedule(seed: seed, steps: 40), label: "seed \(seed)", expectsResends: false)
        }

        static func randomSchedule(seed: UInt64, steps: Int) -> [Fault] {
            var random = SeededGenerator(state: seed)
            var schedule: [Fault] = []
            for _ in 0..<steps {
                let topic = topics.keys.sorted().randomElement(using: &random)!
                switch Int.random(in: 0..<6, using: &random) {
                case 0:
                    let count = Int.random(in: 1...6, using: &random)
                    schedule.append(
                        .produceErrors((0..<count).map { _ in retriableProduceErrors.randomElement(using: &random)! }))
                case 1:
                    schedule.append(
                        .moveLeader(
                            topic: topic, partition: Int32.random(in: 0..<3, using: &random),
                            broker: Int32.random(in: 1...3, using: &random)))
                case 2:
                    let broker: Int32 = Bool.random(using: &random) ? -1 : Int32.random(in: 1...3, using: &random)
                    schedule.append(.brokerDown(broker, milliseconds: Int.random(in: 200...2500, using: &random)))
                case 3:
                    schedule.append(
                        .latency(
                            milliseconds: Int.random(in: 50...600, using: &random),
                            forMilliseconds: Int.random(in: 300...2000, using: &random)))
                case 4:
                    schedule.append(.lateAnswers(milliseconds: Int.random(in: 2200...4000, using: &random)))
                default:
                    break
                }
                schedule.append(.pause(milliseconds: Int.random(in: 100...1200, using: &random)))
            }
            return schedule
        }

        static func run(schedule: [Fault], label: String, expectsResends: Bool) async throws {
            let cluster = try await KafkaTestCluster.start(brokers: 3, topics: topics)
            defer { Task { await cluster.stop() } }
            let silent = try SilentBroker()
            defer { silent.close() }
            let directory = try AgentProcess.makeDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let logs = directory.appendingPathComponent("logs")
            try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)

            let agent = try AgentProcess(
                pipeline: pipeline(cluster, silent: silent, directory: directory), directory: directory)
            #expect(
                await agent.waitForNotification(timeout: .seconds(30)) { $0.contains("READY=1") },
                "stderr: \(agent.stderr.suffix(3000))")

            let file = FileLineWriter(directory: logs, linesPerChunk: 20, rotateEvery: 4000)
            let sockets = (0..<2).map {
                SocketLineWriter(
                    path: directory.appendingPathComponent("in.sock").path, writer: $0, linesPerConnection: 700)
            }
            file.start()
            for socket in sockets { socket.start() }

            var applied: [String] = []
            for fault in schedule {
                try await fault.apply(cluster)
                applied.append(fault.description)
            }
            // Nothing may stay queued or slowed for the drain.
            try await cluster.clearRequestErrors(apiKey: 0)
            try await cluster.setRTT(broker: -1, milliseconds: 0)
            try await cluster.setBrokerUp(-1)

            file.stop()
            for socket in sockets { socket.stop() }
            await file.waitUntilFinished()
            for socket in sockets { await socket.waitUntilFinished() }
            #expect(
                file.error == nil && sockets.allSatisfy { $0.error == nil },
                "\(([file as LineWriterThread] + sockets).compactMap(\.error))")
            var written = file.written
            for socket in sockets { written.merge(socket.written) { $0 + $1 } }
            let expectedFile = file.written.values.reduce(0, +)
            let expectedSocket = written.values.reduce(0, +) - expectedFile
            let context = "\(label): \(applied)"

            // Sockets keep only what was read: wait until Kafka holds every line before stopping.
            let delivered = await waitForWatermarks(
                cluster, ["files": expectedFile, "socket": expectedSocket], timeout: .seconds(90))
            agent.signal(SIGTERM)
            let status = await agent.waitForExit(timeout: .seconds(40))
            #expect(status == 0, "\(context); stderr: \(agent.stderr.suffix(4000))")
            #expect(
                delivered, "\(context): Kafka did not reach the counts written; stderr: \(agent.stderr.suffix(3000))")

            // The mock appends a retried batch again where a broker would not (see
            // IdempotentPartitionLog): the broker's view is what exactly once is judged on, and
            // a retry under new sequence numbers would still show as a duplicate.
            var records: [ConsumedRecord] = []
            var resent = 0
            var sequenceErrors: [String] = []
            for topic in topics.keys.sorted() {
                for (partition, log) in try await cluster.consumeAsIdempotentBroker(topic: topic) {
                    records += log.records
                    resent += log.resentBatches
                    sequenceErrors += log.sequenceErrors.map { "\(topic)-\(partition) \($0)" }
                }
            }
            let verdict = LineAccounting(expected: written, records: records)
            #expect(sequenceErrors.isEmpty, "\(context): \(sequenceErrors.prefix(5))")
            #expect(
                verdict.missing.isEmpty, "\(context): \(verdict.missing.count) lost, e.g. \(verdict.missing.prefix(5))")
            #expect(
                verdict.duplicated.isEmpty,
                "\(context): \(verdict.duplicated.count) stored twice, e.g. \(verdict.duplicated.prefix(5))")
            #expect(verdict.unexpected.isEmpty, "\(context): never written: \(verdict.unexpected.prefix(5))")
            #expect(verdict.outOfOrder.isEmpty, "\(context): out of order: \(verdict.outOfOrder.prefix(5))")
            #expect(
                expectedFile > 1000 && expectedSocket > 1000, "the writers wrote \(expectedFile), \(expectedSocket)")

            if expectsResends {
                #expect(resent > 0, "\(context): no batch was sent twice, so the late answers were not exercised")
            }

            // Each checkpoint names its file by device and inode: the rotated ones too. Every
            // file still there must be checkpointed at its size, measured here.
            var sizes: [String: Int] = [:]
            for name in try FileManager.default.contentsOfDirectory(atPath: logs.path) {
                var status = stat()
                guard stat(logs.appendingPathComponent(name).path, &status) == 0 else { continue }
                sizes["\(status.st_dev):\(status.st_ino)"] = Int(status.st_size)
            }
            var live = stat()
            stat(logs.appendingPathComponent("app.log").path, &live)
            let state = try CheckpointAgentTests.state(directory)
            var checked: Set<String> = []
            for line in state.split(separator: "\n").dropFirst() {
                let fields = line.split(separator: "\t").map(String.init)
                guard fields.count == 6, fields[0] == "app", let size = sizes[fields[2]] else { continue }
                #expect(fields[3] == "\(size)", "\(context): checkpoint \(line), file size \(size)")
                checked.insert(fields[2])
            }
            #expect(checked.contains("\(live.st_dev):\(live.st_ino)"), "\(context): \(state)")
            #expect(checked.count == sizes.count, "\(context): files \(sizes), state \(state)")
        }

        /// A single broker that is down at first, behind a listener that accepts and never
        /// answers: the agent must pass over the silent address once its request times out, and
        /// deliver once the broker is up.
        @Test func aBootstrapAddressThatNeverAnswersIsPassedOver() async throws {
            let cluster = try await KafkaTestCluster.start(brokers: 1, topics: ["files": 1, "socket": 1])
            defer { Task { await cluster.stop() } }
            let silent = try SilentBroker()
            defer { silent.close() }
            let directory = try AgentProcess.makeDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let logs = directory.appendingPathComponent("logs")
            try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
            try appendToFile(logs.appendingPathComponent("app.log"), (0..<50).map { "f 0 \($0)\n" }.joined())
            try await cluster.setBrokerDown(1)
            let agent = try AgentProcess(
                pipeline: Self.pipeline(cluster, silent: silent, directory: directory), directory: directory)
            let deadline = ContinuousClock.now + .seconds(10)
            while silent.observed.connections == 0 && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(silent.observed.connections >= 1, "the agent never tried the silent address")
            try await Task.sleep(for: .milliseconds(500))
            try await cluster.setBrokerUp(1)
            // Without request.timeout.ms (2 s) the agent would wait on the silent address for good;
            // the generous bound only tells that from a slow machine (no wall-clock claim).
            let delivered = await Self.waitForWatermarks(cluster, ["files": 50], timeout: .seconds(60))
            #expect(delivered, "stderr: \(agent.stderr.suffix(3000))")
            #expect(silent.observed.bytes > 0, "a request was sent to the silent address")
            agent.signal(SIGTERM)
            #expect(await agent.waitForExit() == 0, "stderr: \(agent.stderr.suffix(3000))")
            let values = try await cluster.consume(topic: "files").map {
                String(decoding: $0.value ?? [], as: UTF8.self)
            }
            #expect(values == (0..<50).map { "f 0 \($0)" })
        }

        /// Polls the high watermarks until each topic holds at least its count.
        static func waitForWatermarks(
            _ cluster: KafkaTestCluster, _ counts: [String: Int], timeout: Duration
        ) async -> Bool {
            let deadline = ContinuousClock.now + timeout
            while ContinuousClock.now < deadline {
                var reached = true
                for (topic, count) in counts {
                    let marks = (try? await cluster.watermarks(topic: topic)) ?? [:]
                    if marks.values.map({ Int($0.high) }).reduce(0, +) < count { reached = false }
                }
                if reached { return true }
                try? await Task.sleep(for: .milliseconds(200))
            }
            return false
        }
    }
}

/// The lines in Kafka against the lines written. A line is `<stream> <seq> <padding>` where
/// `<stream>` names one ordered writer (a file generation, a socket connection) and `<seq>`
/// counts from 0 within it; `expected` gives each stream's count.
struct LineAccounting {
    var missing: [String] = []
    var duplicated: [String] = []
    var unexpected: [String] = []
    var outOfOrder: [String] = []

    init(expected: [String: Int], records: [ConsumedRecord]) {
        var seen: [String: [Int: Int]] = [:]
        var last: [String: Int] = [:]  // "<topic-less partition>/<stream>" → last seq
        for record in records {
            let text = String(decoding: record.value ?? [], as: UTF8.self)
            let words = text.split(separator: " ")
            guard words.count >= 3, let sequence = Int(words[2]) else {
                unexpected.append(text)
                continue
            }
            let stream = "\(words[0]) \(words[1])"
            guard let count = expected[stream], sequence < count else {
                unexpected.append(text)
                continue
            }
            seen[stream, default: [:]][sequence, default: 0] += 1
            // Streams are unique across topics, so partition and stream name one ordered log.
            let position = "\(record.partition)/\(stream)"
            if let previous = last[position], previous >= sequence {
                outOfOrder.append(
                    "partition \(record.partition) offset \(record.offset): \(stream) \(sequence) after \(previous)")
            }
            last[position] = sequence
        }
        for (stream, count) in expected.sorted(by: { $0.key < $1.key }) {
            let counts = seen[stream] ?? [:]
            for sequence in 0..<count {
                switch counts[sequence] ?? 0 {
                case 0: missing.append("\(stream) \(sequence)")
                case 1: break
                default: duplicated.append("\(stream) \(sequence)")
                }
            }
        }
    }
}
