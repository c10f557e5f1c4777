import ArgumentParser
import Logging
import Pipeline
import PipelineConfig
import ServiceLifecycle
import SystemdSupport
import UnixSignals

/// `tributary run`: the agent. Sources → routes → Kafka until SIGTERM/SIGINT; SIGHUP reloads.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the agent: ship records from the pipeline's sources into Kafka.",
        discussion: """
            SIGTERM or SIGINT: stop reading, deliver every record read, exit 0 (1 when the \
            shutdown timeout passes first, saying how many records were not delivered). SIGHUP: \
            read the file again; if it is valid, apply the difference, otherwise keep running \
            and report why. When stdin is the only source, its end drains and exits. Under \
            systemd (Type=notify) it reports READY=1, STATUS=, RELOADING=1, STOPPING=1 and \
            WATCHDOG=1.
            """)

    @Option(name: [.short, .long], help: "The pipeline file.")
    var config: String = "/etc/tributary/pipeline.yaml"

    @Option(name: .long, help: "Log level on standard error (trace, debug, info, notice, warning, error, critical).")
    var logLevel: Logger.Level = .info

    func run() async throws {
        let level = logLevel
        LoggingSystem.bootstrap { label in JournalLogHandler(label: label, level: level) }
        let logger = Logger(label: "tributary")
        let configuration: PipelineConfiguration
        do {
            configuration = try PipelineConfiguration.load(path: config)
        } catch {
            for problem in error.errors { logger.error("\(problem.description)") }
            throw ExitCode(1)
        }
        let path = config
        // `host` in records means what ${HOSTNAME} means in the file.
        let hostName = PipelineConfiguration.processEnvironment()["HOSTNAME"] ?? PipelineConfiguration.machineHostName()
        var environment = Pipeline.Environment(hostName: hostName) {
            () throws(PipelineConfigErrors) -> PipelineConfiguration in
            try PipelineConfiguration.load(path: path)
        }
        environment.systemdSockets = SystemdSockets.received()
        let pipeline = Pipeline(configuration: configuration, environment: environment, logger: logger)
        let reloads = Task {
            for await _ in await UnixSignalsSequence(trapping: .sighup) { pipeline.requestReload() }
        }
        defer { reloads.cancel() }
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: pipeline, successTerminationBehavior: .gracefullyShutdownGroup)],
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await group.run()
        } catch let error as PipelineError {
            logger.error("\(error.message)")
            throw ExitCode(1)
        } catch let error as ServiceGroupError {
            logger.error("The agent stopped: \(error)")
            throw ExitCode(1)
        }
    }
}
