import ArgumentParser
import Logging
import MetricsServer
import Pipeline
import PipelineConfig
import Prometheus
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
        let registry = PrometheusCollectorRegistry()
        if configuration.agent.metricsListen != nil { environment.metricsFactory = Self.metricsFactory(registry) }
        let pipeline = Pipeline(configuration: configuration, environment: environment, logger: logger)
        // Listed before the pipeline: a group stops its services last to first, so /health
        // answers "draining" while the pipeline delivers what it read.
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if let listen = configuration.agent.metricsListen {
            let endpoint = MetricsEndpoint(
                metrics: { registry.emitToBuffer() },
                health: {
                    let health = pipeline.health
                    return .init(status: health.httpStatus, json: health.json)
                })
            do {
                let server = try await MetricsServer.bind(Self.address(listen), endpoint: endpoint, logger: logger)
                services.append(.init(service: server))
            } catch {
                logger.error("\(error)")
                throw ExitCode(1)
            }
        }
        services.append(.init(service: pipeline, successTerminationBehavior: .gracefullyShutdownGroup))
        let reloads = Task {
            for await _ in await UnixSignalsSequence(trapping: .sighup) { pipeline.requestReload() }
        }
        defer { reloads.cancel() }
        let group = ServiceGroup(
            configuration: .init(
                services: services,
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

    /// Prometheus for the sources' and the producer's instruments, with latency buckets from
    /// 1 ms (a Produce round trip on a LAN) to 10 s.
    static func metricsFactory(_ registry: PrometheusCollectorRegistry) -> PrometheusMetricsFactory {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets["tributary_producer_request_latency_seconds"] = [
            .milliseconds(1), .microseconds(2500), .milliseconds(5), .milliseconds(10), .milliseconds(25),
            .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
            .microseconds(2_500_000), .seconds(5), .seconds(10),
        ]
        return factory
    }

    static func address(_ listen: ListenAddress) -> MetricsServer.Address {
        switch listen {
        case .tcp(let host, let port): .tcp(host: host, port: port)
        case .unix(let path): .unix(path: path)
        }
    }
}
