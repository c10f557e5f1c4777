import Foundation
import KafkaTestCluster
import Logging
import MetricsTestKit
import PipelineConfig
import Testing

@testable import Pipeline

/// The file metrics, read from a metrics backend while the pipeline ships a file into the test
/// cluster; the counts are compared with what the test wrote and what the cluster holds.
@Suite("file source metrics")
struct SourceMetricsTests {
    static let dimensions = [("source", "app")]

    /// Polls `condition` for up to 20 s (metrics are carried over once a second).
    static func eventually(_ condition: () throws -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            if (try? condition()) == true { return true }
            try await Task.sleep(for: .milliseconds(100))
        }
        return try condition()
    }

    @Test func countsFilesBytesTruncationAcknowledgementsAndCheckpointAge() async throws {
        let cluster = try await KafkaTestCluster.start(brokers: 1, topics: ["lines": 2])
        defer { Task { await cluster.stop() } }
        let directory = "/tmp/trib-metrics-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory + "/logs", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let log = directory + "/logs/app.log"
        // 40 short lines and 3 over max_record_bytes (100), which are truncated.
        var text = (0..<40).map { "line \($0)\n" }.joined()
        text += (0..<3).map { "long \($0) " + String(repeating: "x", count: 150) + "\n" }.joined()
        _ = FileManager.default.createFile(atPath: log, contents: Data(text.utf8))

        let configuration = try PipelineConfiguration.parse(
            """
            kafka:
              bootstrap_servers: [\(cluster.bootstrapServers)]
              producer: { linger.ms: 2 }
            agent: { state_dir: \(directory)/state, shutdown_timeout: 10s }
            sources:
              app:
                type: file
                include: [\(directory)/logs/*.log]
                poll_interval: 20ms
                max_record_bytes: 100
                rotate_wait: 1h
            routes:
              - from: app
                topic: lines
            """, file: "p.yaml", environment: [:], hostName: "h")
        let metrics = TestMetrics()
        var environment = Pipeline.Environment(hostName: "h", reloadConfiguration: { configuration })
        environment.metricsFactory = metrics
        let pipeline = Pipeline(
            configuration: configuration, environment: environment, logger: Logger(label: "test"))
        let running = Task { try await pipeline.run() }

        func counter(_ label: String) throws -> Int64 {
            try metrics.expectCounter(label, Self.dimensions).totalValue
        }
        func gauge(_ label: String) throws -> Double? { try metrics.expectGauge(label, Self.dimensions).lastValue }

        // The cluster's read stops at the high watermark of the moment it starts, so it waits for
        // the acknowledgements first; the count it finds must then match them.
        #expect(
            try await Self.eventually { try counter("tributary_source_records_acknowledged_total") == 43 },
            "acknowledged: \((try? counter("tributary_source_records_acknowledged_total")) ?? -1)")
        #expect(try await cluster.consume(topic: "lines").count == 43)
        #expect(try counter("tributary_source_lines_read_total") == 43)
        #expect(try counter("tributary_source_bytes_read_total") == Int64(text.utf8.count))
        #expect(try counter("tributary_source_lines_truncated_total") == 3)
        #expect(try counter("tributary_source_records_failed_total") == 0)
        #expect(try gauge("tributary_source_files_open") == 1)
        #expect(try gauge("tributary_source_files_deleted_open") == 0)
        #expect(try gauge("tributary_source_checkpoint_age_seconds") == 0)

        // The checkpoint file cannot be replaced (a directory stands in its way): progress is
        // not stored, and the checkpoint age grows.
        let checkpointFile = directory + "/state/checkpoints/app.txt"
        try FileManager.default.removeItem(atPath: checkpointFile)
        try FileManager.default.createDirectory(atPath: checkpointFile, withIntermediateDirectories: false)
        let handle = try #require(FileHandle(forWritingAtPath: log))
        handle.seekToEndOfFile()
        handle.write(Data("after 1\n".utf8))
        #expect(try await Self.eventually { (try gauge("tributary_source_checkpoint_age_seconds") ?? 0) >= 1.5 })
        try FileManager.default.removeItem(atPath: checkpointFile)
        #expect(try await Self.eventually { try gauge("tributary_source_checkpoint_age_seconds") == 0 })
        #expect(FileManager.default.fileExists(atPath: checkpointFile))

        // Deleted while its writer still holds it: held open (rotate_wait 1h), and counted.
        try FileManager.default.removeItem(atPath: log)
        handle.write(Data("after 2\n".utf8))
        try handle.close()
        #expect(try await Self.eventually { try gauge("tributary_source_files_deleted_open") == 1 })
        #expect(try gauge("tributary_source_files_open") == 1)
        #expect(try await Self.eventually { try counter("tributary_source_records_acknowledged_total") == 45 })
        #expect(try await cluster.consume(topic: "lines").count == 45)

        pipeline.requestShutdown()
        try await running.value
        #expect(try gauge("tributary_source_files_open") == 0)
    }
}
