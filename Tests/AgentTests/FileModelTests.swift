import Foundation
import KafkaTestCluster
import Testing

extension AgentBinaryTests {
    /// Random sequences of writes, rename rotations, copytruncate, deletions, new files, graceful
    /// restarts, kill -9 and broker outages against the real binary; the lines in Kafka are
    /// checked against the lines written: none lost, and none twice unless a kill -9 or an outage
    /// made a repeat legitimate. `make test` runs a few seeds; `TRIBUTARY_FILE_MODEL_SEEDS=N`
    /// runs more.
    ///
    /// copytruncate and deletion lose, with any shipper, what was not read before the file was
    /// emptied or removed (copytruncate's copy is not matched by the globs): the model does them
    /// once every line written so far is in Kafka, which it checks first, and never while the
    /// broker is down.
    @Suite("tributary run: file model", .serialized)
    struct FileModelTests {
        enum Operation: CaseIterable {
            case write, rotate, copytruncate, delete, create, restart, kill, outage
        }

        static var seeds: [UInt64] {
            let count = ProcessInfo.processInfo.environment["TRIBUTARY_FILE_MODEL_SEEDS"].flatMap(Int.init) ?? 3
            return (0..<UInt64(count)).map { 1000 + $0 }
        }

        @Test(arguments: seeds)
        func randomOperationsLoseNothing(seed: UInt64) async throws {
            var random = SeededGenerator(state: seed)
            let cluster = try await KafkaTestCluster.start(brokers: 1, topics: ["lines": 2])
            defer { Task { await cluster.stop() } }
            let directory = try AgentProcess.makeDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let logs = directory.appendingPathComponent("logs")
            try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
            // The files the globs match now; writes go to one of them.
            var live = [logs.appendingPathComponent("app.log")]
            _ = FileManager.default.createFile(atPath: live[0].path, contents: nil)
            let pipeline = """
                kafka:
                  bootstrap_servers: [\(cluster.bootstrapServers)]
                  producer: { linger.ms: 2, max.block.ms: 500, delivery.timeout.ms: 60000 }
                agent: { state_dir: \(directory.path)/state, shutdown_timeout: 1s }
                sources:
                  app:
                    type: file
                    include: [\(logs.path)/*.log]
                    poll_interval: 20ms
                    glob_interval: 100ms
                    rotate_wait: 300ms
                routes:
                  - from: app
                    topic: lines
                """
            var agent: AgentProcess? = try AgentProcess(pipeline: pipeline, directory: directory)
            var written: [String] = []
            var rotations = 0
            var repeatsAllowed = false
            var brokerDown = false
            var history: [String] = []
            var created = 0
            func lines(_ count: Int) -> [String] {
                let new = (written.count..<(written.count + count)).map { "seed \(seed) line \($0)" }
                written += new
                return new
            }
            func delivered(_ cluster: KafkaTestCluster) async throws -> [String] {
                try await cluster.consume(topic: "lines", timeout: .seconds(2)).map {
                    String(decoding: $0.value ?? [], as: UTF8.self)
                }
            }
            /// Waits until everything written is in Kafka (before a copytruncate or a deletion).
            func waitForDelivery() async throws -> Bool {
                let deadline = ContinuousClock.now + .seconds(30)
                while ContinuousClock.now < deadline {
                    if Set(try await delivered(cluster)).isSuperset(of: written) { return true }
                    try await Task.sleep(for: .milliseconds(200))
                }
                return false
            }
            for _ in 0..<12 {
                // Writes twice as likely as each other operation.
                var operation = Operation.allCases.randomElement(using: &random)!
                if Bool.random(using: &random) { operation = .write }
                if brokerDown && (operation == .copytruncate || operation == .delete) { operation = .write }
                if live.isEmpty && operation != .create { operation = .create }
                history.append("\(operation)")
                if operation == .copytruncate || operation == .delete {
                    guard try await waitForDelivery() else {
                        Issue.record("seed \(seed) \(history): not delivered before \(operation)")
                        break
                    }
                }
                switch operation {
                case .write:
                    let handle = try FileHandle(forWritingTo: live.randomElement(using: &random)!)
                    handle.seekToEndOfFile()
                    handle.write(Data(lines(Int.random(in: 1...200, using: &random)).map { $0 + "\n" }.joined().utf8))
                    try handle.close()
                case .rotate:
                    rotations += 1
                    let file = live.randomElement(using: &random)!
                    try FileManager.default.moveItem(at: file, to: URL(fileURLWithPath: file.path + ".\(rotations)"))
                    _ = FileManager.default.createFile(atPath: file.path, contents: nil)
                case .copytruncate:
                    rotations += 1
                    let file = live.randomElement(using: &random)!
                    try FileManager.default.copyItem(at: file, to: URL(fileURLWithPath: file.path + ".\(rotations)"))
                    let handle = try FileHandle(forWritingTo: file)
                    try handle.truncate(atOffset: 0)
                    try handle.close()
                case .delete:
                    let file = live.remove(at: Int.random(in: 0..<live.count, using: &random))
                    try FileManager.default.removeItem(at: file)
                case .create:
                    created += 1
                    let file = logs.appendingPathComponent("new-\(created).log")
                    let content = lines(Int.random(in: 0...50, using: &random)).map { $0 + "\n" }.joined()
                    _ = FileManager.default.createFile(atPath: file.path, contents: Data(content.utf8))
                    live.append(file)
                case .restart:
                    agent?.signal(SIGTERM)
                    _ = await agent?.waitForExit()
                    // With the brokers down the stop runs out of time (exit 1); what it read
                    // was not acknowledged, so it is sent again later: a legitimate repeat.
                    if brokerDown { repeatsAllowed = true }
                    agent = try AgentProcess(pipeline: pipeline, directory: directory)
                case .kill:
                    agent?.signal(SIGKILL)
                    _ = await agent?.waitForExit()
                    repeatsAllowed = true
                    agent = try AgentProcess(pipeline: pipeline, directory: directory)
                case .outage:
                    if brokerDown {
                        try await cluster.setBrokerUp(1)
                    } else {
                        try await cluster.setBrokerDown(1)
                        repeatsAllowed = true
                    }
                    brokerDown.toggle()
                }
                try await Task.sleep(for: .milliseconds(Int.random(in: 50...400, using: &random)))
            }
            if brokerDown { try await cluster.setBrokerUp(1) }
            let expected = Set(written)
            let deadline = ContinuousClock.now + .seconds(30)
            var values: [String] = []
            while ContinuousClock.now < deadline {
                values = try await delivered(cluster)
                if Set(values).isSuperset(of: expected) { break }
                try await Task.sleep(for: .milliseconds(300))
            }
            agent?.signal(SIGTERM)
            let status = await agent?.waitForExit()
            let missing = expected.subtracting(values)
            #expect(
                missing.isEmpty,
                "seed \(seed) \(history): \(missing.count) lines lost, e.g. \(missing.sorted().prefix(3))")
            #expect(Set(values).isSubset(of: expected), "seed \(seed): records never written")
            if !repeatsAllowed {
                #expect(
                    values.count == Set(values).count, "seed \(seed) \(history): repeats without a kill or an outage")
            }
            #expect(status == 0, "seed \(seed) \(history): stderr \(agent?.stderr.suffix(2000) ?? "")")
        }
    }
}
