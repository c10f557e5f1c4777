import Foundation
import KafkaTestCluster
import Testing

/// `tributary produce`, the built executable, fed on standard input.
@Suite("tributary produce")
struct ProduceCommandTests {
    struct Run {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static var executable: URL {
        try! KafkaTestCluster.repositoryRoot().appendingPathComponent(".build/debug/tributary")
    }

    static func run(_ arguments: [String], input: Data) throws -> Run {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tributary-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let paths = ["stdin", "stdout", "stderr"].map { directory.appendingPathComponent($0) }
        try input.write(to: paths[0])
        _ = FileManager.default.createFile(atPath: paths[1].path, contents: nil)
        _ = FileManager.default.createFile(atPath: paths[2].path, contents: nil)
        let process = Process()
        process.executableURL = executable
        process.arguments = ["produce"] + arguments
        process.standardInput = try FileHandle(forReadingFrom: paths[0])
        process.standardOutput = try FileHandle(forWritingTo: paths[1])
        process.standardError = try FileHandle(forWritingTo: paths[2])
        try process.run()
        process.waitUntilExit()
        return Run(
            status: process.terminationStatus,
            stdout: try String(contentsOf: paths[1], encoding: .utf8),
            stderr: try String(contentsOf: paths[2], encoding: .utf8))
    }

    /// `seq 0 999 | tributary produce --brokers … --topic t` stores all 1000 and exits 0.
    @Test func seqThousandIsStored() async throws {
        let cluster = try await KafkaTestCluster.start(brokers: 3, topics: ["t": 3])
        defer { Task { await cluster.stop() } }
        let input = (0..<1000).map { "\($0)\n" }.joined()
        let run = try Self.run(["--brokers", cluster.bootstrapServers, "--topic", "t"], input: Data(input.utf8))
        #expect(run.status == 0, "stderr: \(run.stderr)")
        let stored = try await cluster.consume(topic: "t", timeout: .seconds(20))
        #expect(stored.count == 1000)
        #expect(Set(stored.map { String(decoding: $0.value ?? [], as: UTF8.self) }) == Set((0..<1000).map(String.init)))
        // Null keys stick to a partition until batch.size (16 KiB) went to it, as Java's built-in
        // partitioner does: the input changes partition only a few times (round robin: 999).
        let partitionOf = Dictionary(
            stored.map { (Int(String(decoding: $0.value ?? [], as: UTF8.self))!, $0.partition) },
            uniquingKeysWith: { a, _ in a })
        let switches = (1..<1000).filter { partitionOf[$0] != partitionOf[$0 - 1] }.count
        #expect(switches <= 5, "the partition changed \(switches) times")
    }

    /// Idempotent by default (acks=all): the stored batches carry one producer id, epoch 0 and
    /// contiguous sequences per partition; `-X acks=1` alone turns idempotence off, as in Java.
    @Test func idempotentByDefault() async throws {
        let cluster = try await KafkaTestCluster.start(brokers: 1, topics: ["idem": 2, "plain": 1])
        defer { Task { await cluster.stop() } }
        let input = Data((0..<3000).map { "line \($0)\n" }.joined().utf8)
        let run = try Self.run(
            ["--brokers", cluster.bootstrapServers, "--topic", "idem", "-X", "batch.size=2000"], input: input)
        #expect(run.status == 0, "stderr: \(run.stderr)")
        var producerIds: Set<Int64> = []
        for partition in Int32(0)..<2 {
            let batches = try await cluster.storedBatches(topic: "idem", partition: partition)
            #expect(batches.count > 1)
            producerIds.formUnion(batches.map(\.producerId))
            #expect(batches.allSatisfy { $0.producerEpoch == 0 })
            var next: Int32 = 0
            for batch in batches {
                #expect(batch.baseSequence == next)
                next = batch.baseSequence + batch.recordCount
            }
        }
        #expect(producerIds.count == 1 && producerIds.first! >= 0)

        let plain = try Self.run(
            ["--brokers", cluster.bootstrapServers, "--topic", "plain", "-X", "acks=1"], input: Data("x\n".utf8))
        #expect(plain.status == 0, "stderr: \(plain.stderr)")
        #expect(try await cluster.storedBatches(topic: "plain", partition: 0).map(\.producerId) == [-1])

        let conflict = try Self.run(
            [
                "--brokers", cluster.bootstrapServers, "--topic", "plain", "-X", "acks=1", "-X",
                "enable.idempotence=true",
            ],
            input: Data("x\n".utf8))
        #expect(conflict.status == 64)
        #expect(conflict.stderr.contains("enable.idempotence=true requires acks=all"), "\(conflict.stderr)")
    }

    @Test func keysHeadersDelimiterAndReports() async throws {
        let cluster = try await KafkaTestCluster.start(brokers: 1, topics: ["kv": 4])
        defer { Task { await cluster.stop() } }
        let input = "user-1:login;user-2:logout;user-1:click;no-key-here"
        let run = try Self.run(
            [
                "--brokers", cluster.bootstrapServers, "--topic", "kv", "--delimiter", ";", "--key-delimiter", ":",
                "--header", "source=test", "-X", "compression.type=zstd", "-X", "linger.ms=20", "--report",
            ], input: Data(input.utf8))
        #expect(run.status == 0, "stderr: \(run.stderr)")
        let reports = run.stdout.split(separator: "\n").map {
            try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
        #expect(reports.count == 4)
        let stored = try await cluster.consume(topic: "kv")
        #expect(stored.count == 4)
        for report in reports {
            let partition = (report["partition"] as! NSNumber).int32Value
            let offset = (report["offset"] as! NSNumber).int64Value
            #expect(stored.contains { $0.partition == partition && $0.offset == offset }, "\(report)")
        }
        let user1 = stored.filter { $0.key == Array("user-1".utf8) }
        #expect(user1.count == 2)
        #expect(Set(user1.map(\.partition)).count == 1, "one key, one partition")
        #expect(stored.first { $0.key == nil }?.value == Array("no-key-here".utf8))
        #expect(
            stored.allSatisfy { $0.headers.first?.name == "source" && $0.headers.first?.value == Array("test".utf8) })
    }

    /// The same command against Tansu, a broker that checks idempotent sequences: 3000 keyed
    /// lines in many small idempotent batches, every one accepted, each key on the partition
    /// Java picks (test-vectors.json), every report pointing at its record.
    @Test func keyedIdempotentLinesAgainstTansu() async throws {
        let tansu = try await TansuBroker.start(topics: ["cli": 6])
        defer { Task { await tansu.stop() } }
        let vectors = try KafkaTestCluster.repositoryRoot().appendingPathComponent("Tests/Vectors/test-vectors.json")
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: vectors)) as! [String: Any]
        let table = (object["java_partition_for_key"] as! [String: Any])["cases"] as! [[String: Any]]
        let partitionOf = Dictionary(
            uniqueKeysWithValues: table.map {
                ($0["key"] as! String, (($0["partitions"] as! [String: Any])["6"] as! NSNumber).int32Value)
            })
        let keys = table.map { $0["key"] as! String }
        let lines = (0..<3000).map { "\(keys[$0 % keys.count]):line \($0)" }
        let run = try Self.run(
            [
                "--brokers", tansu.bootstrapServers, "--topic", "cli", "--key-delimiter", ":", "--header",
                "source=cli", "-X", "batch.size=2000", "--report",
            ], input: Data((lines.joined(separator: "\n") + "\n").utf8))
        #expect(run.status == 0, "stderr: \(run.stderr)")
        let stored = try await tansu.consume(topic: "cli", expecting: 3000)
        #expect(stored.count == 3000)
        #expect(
            Set(stored.map { String(decoding: $0.value ?? [], as: UTF8.self) }) == Set((0..<3000).map { "line \($0)" }))
        for record in stored {
            let key = String(decoding: record.key ?? [], as: UTF8.self)
            #expect(partitionOf[key] == record.partition, "key \(key) in \(record.partition)")
            #expect(record.headers.count == 1 && record.headers.first?.value == Array("cli".utf8))
        }
        let byPosition = Dictionary(
            stored.map { ("\($0.partition)/\($0.offset)", $0.value ?? []) }, uniquingKeysWith: { a, _ in a })
        let reports = run.stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        #expect(reports.count == 3000)
        for report in reports {
            let position = "\(report["partition"] ?? "")/\(report["offset"] ?? "")"
            let id = report["id"].map { "\($0)" } ?? "?"
            #expect(byPosition[position] == Array("line \(id)".utf8), "\(report)")
        }
    }

    /// A record the producer refuses (larger than max.request.size) is reported and skipped;
    /// the records around it are delivered, and their report ids are still input positions.
    @Test func anOversizedRecordIsSkippedAndTheRestDelivered() async throws {
        let cluster = try await KafkaTestCluster.start(brokers: 1, topics: ["big": 1])
        defer { Task { await cluster.stop() } }
        let input = "first\n" + String(repeating: "x", count: 5000) + "\nthird\nfourth\n"
        let run = try Self.run(
            ["--brokers", cluster.bootstrapServers, "--topic", "big", "-X", "max.request.size=1000", "--report"],
            input: Data(input.utf8))
        #expect(run.status == 1, "a record failed")
        #expect(run.stderr.contains("input record 1 skipped"), "stderr: \(run.stderr)")
        #expect(run.stderr.contains("max.request.size"))
        let stored = try await cluster.consume(topic: "big")
        #expect(stored.map { String(decoding: $0.value ?? [], as: UTF8.self) } == ["first", "third", "fourth"])
        let ids = run.stdout.split(separator: "\n").map {
            (try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any])["id"] as! Int
        }
        #expect(ids.sorted() == [0, 2, 3])
    }

    /// buffer.memory defaults to 8 MiB (not Java's 32 MiB): a 9 MiB record is refused for it,
    /// and -X buffer.memory lifts the bound.
    @Test func bufferMemoryDefaultsToEightMebibytes() async throws {
        let cluster = try await KafkaTestCluster.start(brokers: 1, topics: ["buffer": 1])
        defer { Task { await cluster.stop() } }
        let input = Data((String(repeating: "y", count: 9 << 20) + "\n").utf8)
        let common = ["--brokers", cluster.bootstrapServers, "--topic", "buffer", "-X", "max.request.size=20000000"]
        let byDefault = try Self.run(common, input: input)
        #expect(byDefault.status == 1)
        #expect(byDefault.stderr.contains("exceeds buffer.memory (8388608)"), "stderr: \(byDefault.stderr)")
        let raised = try Self.run(common + ["-X", "buffer.memory=33554432"], input: input)
        #expect(!raised.stderr.contains("buffer.memory"), "stderr: \(raised.stderr)")
    }

    @Test func unreachableBrokersMakeItExitNonZero() throws {
        let run = try Self.run(
            [
                "--brokers", "127.0.0.1:1", "--topic", "t", "-X", "max.block.ms=500", "-X", "delivery.timeout.ms=1000",
                "-X", "request.timeout.ms=500", "-X", "linger.ms=0",
            ],
            input: Data("a\nb\n".utf8))
        #expect(run.status != 0)
        #expect(run.stderr.contains("tributary produce"))
    }

    @Test func badSettingsAreRejectedNamingTheKey() throws {
        let run = try Self.run(["--brokers", "127.0.0.1:1", "--topic", "t", "-X", "linger.ms=soon"], input: Data())
        #expect(run.status != 0)
        #expect(run.stderr.contains("linger.ms"))
    }
}
