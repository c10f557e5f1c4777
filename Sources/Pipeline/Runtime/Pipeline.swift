import Atomics
import CoreMetrics
import KafkaClient
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import PipelineConfig
import ServiceLifecycle
import SystemdSupport

/// The agent's runtime: the configured sources feeding one producer through their routes,
/// reporting to systemd, reloading on request and draining on graceful shutdown.
///
/// `run()` owns everything that changes (the running sources, the producer); reload requests
/// and source endings reach it as events, handled one at a time, so a reload never races a
/// shutdown or another reload.
public final class Pipeline: Service, Sendable {
    /// What the pipeline needs from its surroundings.
    public struct Environment: Sendable {
        /// The host name records carry.
        public var hostName: String
        /// Reads the pipeline file again for a reload.
        public var reloadConfiguration: @Sendable () throws(PipelineConfigErrors) -> PipelineConfiguration
        public var notifier = SystemdNotifier()
        /// Sockets systemd handed over, by name.
        public var systemdSockets = SystemdSockets(descriptors: [:])
        /// The descriptor `type: stdin` reads. Default: 0.
        public var stdinDescriptor: CInt = 0
        /// Where the sources' and the producer's metrics go. Default: the process's
        /// `MetricsSystem` (which reports nothing until a backend is bootstrapped).
        public var metricsFactory: any MetricsFactory = MetricsSystem.factory

        public init(
            hostName: String,
            reloadConfiguration: @escaping @Sendable () throws(PipelineConfigErrors) -> PipelineConfiguration
        ) {
            self.hostName = hostName
            self.reloadConfiguration = reloadConfiguration
        }
    }

    enum Event: Sendable {
        case reload
        case shutdown
        case sourceEnded(id: Int, byItself: Bool, error: SourceError?)
    }

    private let initialConfiguration: PipelineConfiguration
    private let environment: Environment
    private let logger: Logger
    private let events: AsyncStream<Event>
    private let eventSink: AsyncStream<Event>.Continuation
    /// Set while a reload request waits, so SIGHUPs arriving meanwhile become one reload.
    private let reloadPending = ManagedAtomic(false)
    /// What the status ticker reads.
    private let live = NIOLockedValueBox(LiveState())

    struct LiveState: Sendable {
        var sinks: [SourceSink] = []
        /// Counts of sources that stopped, so totals do not drop at a reload.
        var retired = PipelineStatus()
        var reloadError: String?
        /// `agent.status_interval` of the configuration in force (a reload may change it).
        var statusInterval: Duration = .seconds(5)
        /// The producer in force (a reload may replace it).
        var producer: KafkaProducer?
        var health = HealthMonitor(stallTimeout: .seconds(30), now: .now)
    }

    public init(configuration: PipelineConfiguration, environment: Environment, logger: Logger) {
        self.initialConfiguration = configuration
        self.environment = environment
        self.logger = logger
        (events, eventSink) = AsyncStream.makeStream(of: Event.self)
    }

    /// Asks for the file to be read again and the difference applied. Requests made while one
    /// waits are the same request.
    public func requestReload() {
        if reloadPending.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged {
            eventSink.yield(.reload)
        }
    }

    /// Asks for a drain and stop, as graceful shutdown does.
    public func requestShutdown() {
        eventSink.yield(.shutdown)
    }

    /// The counts so far, summed over every source.
    public var status: PipelineStatus {
        live.withLockedValue { state in
            var status = PipelineStatus.collect(state.sinks, base: state.retired)
            status.reloadError = state.reloadError
            return status
        }
    }

    /// Whether the agent delivers, now (what `/health` answers).
    public var health: PipelineHealth {
        live.withLockedValue { state in
            let status = PipelineStatus.collect(state.sinks, base: state.retired)
            let statistics = state.producer?.statistics
            return state.health.observe(
                backlog: status.backlog, recordsAcknowledged: status.recordsAcknowledged,
                brokersReachable: statistics?.brokersReachable ?? true,
                connectionsOpen: statistics?.connectionsOpen ?? 0,
                connectionError: statistics?.connectionError, now: .now)
        }
    }

    /// Runs until graceful shutdown, or until stdin ends when it is the only source; then stops
    /// reading, delivers what was read and closes.
    ///
    /// - Throws: `PipelineError(.undelivered)` when the shutdown timeout passed before every
    ///   record read was delivered, `.sourceFailed` when a source of the starting
    ///   configuration could not run, `.producerFailed` when the producer cannot be made.
    public func run() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let threadPool = NIOThreadPool(numberOfThreads: 2)
        threadPool.start()
        var runtime: PipelineRuntime
        do {
            runtime = try PipelineRuntime(
                configuration: initialConfiguration, environment: environment, group: group, threadPool: threadPool,
                logger: logger, events: eventSink, live: live)
        } catch {
            try? await threadPool.shutdownGracefully()
            try? await group.shutdownGracefully()
            throw error
        }
        let outcome: Result<Void, any Error> = await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { tasks in
                defer { tasks.cancelAll() }
                runtime.startAll(tasks: &tasks)
                let producer = runtime.producer
                let configuration = runtime.configuration
                let started = runtime.startedSignals
                tasks.addTask { [self] in await self.announceReady(producer, configuration, sourcesStarted: started) }
                live.withLockedValue {
                    $0.statusInterval = configuration.agent.statusInterval
                    $0.producer = producer
                    $0.health.stallTimeout = configuration.agent.stallTimeout
                }
                tasks.addTask { [self] in await self.reportStatus() }
                tasks.addTask { [self] in await self.writeCheckpoints() }
                var fatal: PipelineError?
                var inputEnded = false
                for await event in events {
                    switch event {
                    case .shutdown:
                        break
                    case .reload:
                        reloadPending.store(false, ordering: .releasing)
                        await reload(&runtime, tasks: &tasks)
                        continue
                    case .sourceEnded(let id, let byItself, let error):
                        let result = runtime.sourceEnded(id: id, byItself: byItself, error: error)
                        fatal = result.fatal
                        if !result.shouldStop { continue }
                        inputEnded = result.fatal == nil
                    }
                    break
                }
                live.withLockedValue { $0.health.markDraining() }
                let outcome = await runtime.drain()
                try? await threadPool.shutdownGracefully()
                try? await group.shutdownGracefully()
                if let fatal { return .failure(fatal) }
                if outcome.undelivered > 0 {
                    let count = outcome.undelivered
                    return .failure(
                        PipelineError(
                            .undelivered,
                            "\(count) record\(count == 1 ? "" : "s") read but not delivered within the shutdown timeout (\(runtime.configuration.agent.shutdownTimeout))",
                            undeliveredRecords: count))
                }
                // A run that ended with its input (stdin) is a batch job: its status says whether
                // everything was delivered, as `tributary produce`'s does.
                if inputEnded && outcome.failed > 0 {
                    return .failure(
                        PipelineError(
                            .undelivered, "\(outcome.failed) records failed delivery (each was logged when it failed)",
                            undeliveredRecords: outcome.failed))
                }
                return .success(())
            }
        } onGracefulShutdown: { [eventSink] in
            eventSink.yield(.shutdown)
        }
        try outcome.get()
    }

    private func reload(_ runtime: inout PipelineRuntime, tasks: inout DiscardingTaskGroup) async {
        environment.notifier.reloading()
        logger.info("Reloading the pipeline file")
        let configuration: PipelineConfiguration
        do {
            configuration = try environment.reloadConfiguration()
        } catch {
            for problem in error.errors { logger.error("Reload refused: \(problem.description)") }
            let summary =
                (error.errors.first?.description ?? "invalid file")
                + (error.errors.count > 1 ? " (and \(error.errors.count - 1) more)" : "")
            live.withLockedValue { $0.reloadError = summary }
            environment.notifier.ready(status: status.line)
            return
        }
        do {
            let previous = runtime.configuration.agent.metricsListen
            let diff = try await runtime.apply(configuration, tasks: &tasks)
            live.withLockedValue {
                $0.reloadError = nil
                $0.statusInterval = configuration.agent.statusInterval
                $0.producer = runtime.producer
                $0.health.stallTimeout = configuration.agent.stallTimeout
            }
            if configuration.agent.metricsListen != previous {
                logger.warning(
                    "agent.metrics_listen changed; the metrics server moves at the next start",
                    metadata: ["listening": "\(previous.map { "\($0)" } ?? "off")"])
            }
            logger.info("Reloaded the pipeline file", metadata: ["changes": "\(diff.summary)"])
        } catch {
            logger.error("Reload failed; the previous pipeline keeps running", metadata: ["error": "\(error)"])
            live.withLockedValue { $0.reloadError = "\(error)" }
        }
        environment.notifier.ready(status: status.line)
    }

    /// READY=1 once every source reads (sockets bound, files found) and a broker answered with
    /// metadata for a topic the routes write.
    private func announceReady(
        _ producer: KafkaProducer, _ configuration: PipelineConfiguration, sourcesStarted: [Completion]
    ) async {
        for started in sourcesStarted { await started.wait() }
        if let topic = configuration.probeTopic(hostName: environment.hostName) {
            while !Task.isCancelled {
                do {
                    try await producer.waitForMetadata(topic: topic, timeout: .seconds(5))
                    break
                } catch {
                    if Task.isCancelled { return }
                    logger.warning("The brokers have not answered yet", metadata: ["error": "\(error)"])
                    if (error as? KafkaProducerError)?.code == .producerClosed { return }
                }
            }
        }
        guard !Task.isCancelled else { return }
        logger.info(
            "Pipeline running",
            metadata: ["sources": "\(configuration.sources.count)", "routes": "\(configuration.routes.count)"])
        live.withLockedValue { $0.health.markReady() }
        environment.notifier.ready(status: status.line)
    }

    /// Checkpoints of file sources, written once a second when they moved (and at shutdown by
    /// `drain`); the metrics are brought up to date on the same beat.
    private func writeCheckpoints() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: Self.checkpointInterval)
            guard !Task.isCancelled else { return }
            let (sinks, producer) = live.withLockedValue { ($0.sinks, $0.producer) }
            for sink in sinks {
                sink.saveCheckpoints()
                sink.exportMetrics()
            }
            producer?.exportStatistics()
        }
    }

    static let checkpointInterval: Duration = .seconds(1)

    /// STATUS= every `interval`, and WATCHDOG=1 while delivery makes progress (or has nothing
    /// to do), so systemd restarts an agent that is stuck, not one that is idle.
    private func reportStatus() async {
        let watchdog = environment.notifier.watchdogInterval
        var lastStatus = ContinuousClock.now
        var previous = status
        var previousTime = ContinuousClock.now
        while !Task.isCancelled {
            let interval = live.withLockedValue { $0.statusInterval }
            try? await Task.sleep(for: min(interval, (watchdog ?? interval) / 2))
            guard !Task.isCancelled else { return }
            var current = status
            let now = ContinuousClock.now
            let elapsed =
                Double((now - previousTime).components.seconds)
                + Double((now - previousTime).components.attoseconds) / 1e18
            current.acknowledgedPerSecond =
                elapsed > 0 ? Double(current.recordsAcknowledged - previous.recordsAcknowledged) / elapsed : 0
            if watchdog != nil, current.recordsAcknowledged > previous.recordsAcknowledged || current.backlog == 0 {
                environment.notifier.watchdog()
            }
            if now - lastStatus >= interval {
                environment.notifier.status(current.line)
                logger.debug("Status: \(current.line)")
                lastStatus = now
            }
            previous = current
            previousTime = now
        }
    }
}
