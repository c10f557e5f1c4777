import PipelineConfig
import Testing

@testable import Pipeline

@Suite("reload differences")
struct PipelineDiffTests {
    static func configuration(_ body: String) throws -> PipelineConfiguration {
        try PipelineConfiguration.parse(body, file: "p.yaml", environment: [:], hostName: "h")
    }

    static let base = """
        kafka:
          bootstrap_servers: [127.0.0.1:9092]
        sources:
          a: { type: stdin }
          b: { type: unix_socket, path: /run/b.sock }
          c: { type: file, include: [/var/log/c.log] }
        routes:
          - from: [a, b, c]
            topic: t
        """

    @Test func noChange() throws {
        let diff = PipelineDiff(from: try Self.configuration(Self.base), to: try Self.configuration(Self.base))
        #expect(diff.isEmpty && diff.summary == "no changes")
    }

    @Test func addedRemovedChangedAndRerouted() throws {
        let new = """
            kafka:
              bootstrap_servers: [127.0.0.1:9092]
            sources:
              a: { type: stdin }
              b: { type: unix_socket, path: /run/b2.sock }
              d: { type: file, include: [/var/log/d.log] }
            routes:
              - from: [b, d]
                topic: t
              - from: [a]
                topic: u
            """
        let diff = PipelineDiff(from: try Self.configuration(Self.base), to: try Self.configuration(new))
        #expect(diff.stoppedSources == ["b", "c"])
        #expect(diff.startedSources == ["b", "d"])
        #expect(diff.reroutedSources == ["a"])
        #expect(!diff.replacesProducer)
        #expect(diff.summary == "added d; removed c; restarted b; rerouted a")
    }

    @Test func producerSettingsReplaceTheProducerOnly() throws {
        let topicChange = Self.base + "\n    producer: { compression.type: zstd }\n"
        let diff = PipelineDiff(from: try Self.configuration(Self.base), to: try Self.configuration(topicChange))
        #expect(diff.replacesProducer && diff.stoppedSources.isEmpty && diff.startedSources.isEmpty)
        #expect(diff.reroutedSources == ["a", "b", "c"])  // their route's settings differ
        let kafkaChange = Self.base.replacingOccurrences(of: "127.0.0.1:9092", with: "127.0.0.1:9093")
        #expect(
            PipelineDiff(from: try Self.configuration(Self.base), to: try Self.configuration(kafkaChange))
                .replacesProducer)
    }
}
