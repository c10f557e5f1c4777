import ArgumentParser
import KafkaClient
import Logging
import Pipeline
import PipelineConfig

/// `tributary doctor`: asks the cluster whether the pipeline's producer settings will hold.
struct DoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check the pipeline's producer settings against the cluster's.",
        discussion: """
            Connects to the pipeline's bootstrap servers, reads Metadata for every route's topic \
            and the configuration of those topics and of each broker (DescribeConfigs), and \
            reports what will fail (errors) and what loses durability or speed (warnings): \
            missing topics, acks against min.insync.replicas and the replication factor, batch \
            and request sizes against max.message.bytes, topic recompression, replication \
            settings. Exits 0 when clean, 1 with warnings, 2 with errors (an unreachable cluster \
            included).
            """)

    @Option(name: [.short, .long], help: "The pipeline file.")
    var config: String = "/etc/tributary/pipeline.yaml"

    @Flag(help: "Print the report as JSON (the shape is in the README).")
    var json = false

    func run() async throws {
        let pipeline: PipelineConfiguration
        let routes: [DoctorRoute]
        let producer: KafkaProducerConfiguration
        do {
            pipeline = try PipelineConfiguration.load(path: config)
            producer = try pipeline.producerConfiguration()
            routes = try DoctorRoute.routes(of: pipeline)
        } catch let errors as PipelineConfigErrors {
            printError(errors.description)
            if json { print(DoctorReport.invalidPipeline(errors.errors.map(\.description)).json(), terminator: "") }
            throw ExitCode(2)
        } catch {
            printError("\(config): \(error)")
            if json { print(DoctorReport.invalidPipeline(["\(config): \(error)"]).json(), terminator: "") }
            throw ExitCode(2)
        }
        var inspector = KafkaClusterInspector(configuration: producer)
        // The report says what went wrong; connection logs would only interleave with it.
        inspector.logger = Logger(label: "tributary.doctor", factory: { _ in SwiftLogNoOpLogHandler() })
        let topics = Array(Set(routes.flatMap(\.topics))).sorted()
        let report: DoctorReport
        do {
            // Every key, not just the ones checked: naming keys is what Tansu 0.6 cannot answer
            // (it drops the connection), and a whole description is a few kilobytes.
            let cluster = try await inspector.inspect(topics: topics, topicConfigKeys: nil, brokerConfigKeys: nil)
            report = PipelineDoctor(routes: routes, cluster: cluster).diagnose()
        } catch {
            report = DoctorReport.unreachable(error, routes: routes)
        }
        print(json ? report.json() : report.text(), terminator: "")
        if report.exitStatus != 0 { throw ExitCode(report.exitStatus) }
    }
}
