import CoreMetrics
import KafkaClient
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import PipelineConfig
import SystemdSupport

#if canImport(Glibc)
    import Glibc
#endif

/// The running parts of a pipeline: the producer and the sources. Owned by `Pipeline.run()`,
/// which alone mutates it, one event at a time.
struct PipelineRuntime {
    struct RunningSource {
        let id: Int
        let configuration: SourceConfiguration
        let sink: SourceSink
        let stop: StopSignal
        let task: Task<Void, Never>
        /// Signalled once the source reads (or has ended).
        let started: Completion
        let finished: Completion
        /// Whether it came with the configuration the agent started with: such a source that
        /// cannot run stops the agent (systemd then reports it); one added by a reload is logged.
        let isInitial: Bool
    }

    private(set) var configuration: PipelineConfiguration
    private(set) var producer: KafkaProducer
    private var sources: [RunningSource] = []
    /// Sources a reload stopped that may still be finishing their last read (waiting for room
    /// in the producer). Their records are delivered and counted like any others.
    private var retiring: [RunningSource] = []
    /// Producers a reload replaced before they had delivered everything; closed at shutdown.
    private var retiringProducers: [KafkaProducer] = []
    private var nextID = 0
    private let environment: Pipeline.Environment
    private let group: MultiThreadedEventLoopGroup
    private let reader: BlockingReader
    private let positions = FilePositions()
    private let logger: Logger
    private let events: AsyncStream<Pipeline.Event>.Continuation
    private let live: NIOLockedValueBox<Pipeline.LiveState>
    private var isStarting = true

    init(
        configuration: PipelineConfiguration, environment: Pipeline.Environment, group: MultiThreadedEventLoopGroup,
        threadPool: NIOThreadPool, logger: Logger, events: AsyncStream<Pipeline.Event>.Continuation,
        live: NIOLockedValueBox<Pipeline.LiveState>
    ) throws {
        self.configuration = configuration
        self.environment = environment
        self.group = group
        self.reader = BlockingReader(threadPool: threadPool, chunkSize: 262_144)
        self.logger = logger
        self.events = events
        self.live = live
        self.producer = try Self.makeProducer(
            configuration, group: group, metricsFactory: environment.metricsFactory, logger: logger)
    }

    static func makeProducer(
        _ configuration: PipelineConfiguration, group: MultiThreadedEventLoopGroup,
        metricsFactory: any MetricsFactory, logger: Logger
    ) throws -> KafkaProducer {
        do {
            return try KafkaProducer(
                configuration: configuration.producerConfiguration(), eventLoopGroup: group,
                shutdownTimeout: configuration.agent.shutdownTimeout, logger: logger, metricsFactory: metricsFactory)
        } catch {
            throw PipelineError(.producerFailed, "cannot create the producer: \(error)")
        }
    }

    // MARK: Starting and ending sources

    /// Signalled when every source started by `startAll` reads (or has ended).
    var startedSignals: [Completion] { sources.map(\.started) }

    mutating func startAll(tasks: inout DiscardingTaskGroup) {
        for source in configuration.sources { start(source, tasks: &tasks) }
        isStarting = false
    }

    private mutating func start(_ source: SourceConfiguration, tasks: inout DiscardingTaskGroup) {
        nextID += 1
        let id = nextID
        let reports = producer.makeDeliveryReports()
        var store: CheckpointStore?
        if case .file = source.kind { store = CheckpointStore(stateDirectory: configuration.agent.stateDirectory) }
        let sink = SourceSink(
            name: source.name, host: environment.hostName, wiring: wiring(for: source, reports: reports),
            checkpointStore: store,
            metrics: SourceMetrics(source: source.name, factory: environment.metricsFactory), logger: logger)
        tasks.addTask { await sink.acknowledge(from: reports) }
        let stop = StopSignal()
        let started = Completion()
        let finished = Completion()
        let events = self.events
        let logger = self.logger
        let runner: (any RecordSource)?
        var startError: SourceError?
        do {
            runner = try makeSource(source)
        } catch {
            runner = nil
            startError = error as? SourceError ?? SourceError(source: source.name, "\(error)")
        }
        let task = Task {
            defer {
                started.signal()
                finished.signal()
            }
            guard let runner else {
                events.yield(.sourceEnded(id: id, byItself: false, error: startError))
                return
            }
            do {
                let ended = try await runner.run(into: sink, stop: stop, started: started)
                events.yield(.sourceEnded(id: id, byItself: ended, error: nil))
            } catch {
                let failure = error as? SourceError ?? SourceError(source: source.name, "\(error)")
                logger.error("Source failed", metadata: ["source": "\(source.name)", "error": "\(failure.message)"])
                events.yield(.sourceEnded(id: id, byItself: false, error: failure))
            }
        }
        sources.append(
            RunningSource(
                id: id, configuration: source, sink: sink, stop: stop, task: task, started: started,
                finished: finished, isInitial: isStarting))
        live.withLockedValue { $0.sinks.append(sink) }
    }

    private func wiring(for source: SourceConfiguration, reports: KafkaDeliveryReports) -> SourceSink.Wiring {
        let routes = routeBuilders(for: source)
        let filter = (try? LineFilter(include: source.includeLines, exclude: source.excludeLines))
        return SourceSink.Wiring(
            routes: routes, filter: filter ?? (try! LineFilter(include: [], exclude: [])), producer: producer,
            reports: reports)
    }

    private func makeSource(_ source: SourceConfiguration) throws -> any RecordSource {
        switch source.kind {
        case .stdin:
            return StdinSource(configuration: source, reader: reader, descriptor: environment.stdinDescriptor)
        case .file(let settings):
            return FileSource(
                configuration: source, settings: settings, reader: reader, positions: positions,
                checkpoints: try loadCheckpoints(source.name), logger: logger)
        case .unixSocket(let settings):
            var descriptor: CInt?
            if let name = settings.systemdSocket {
                guard let received = environment.systemdSockets.descriptors[name] else {
                    let names = environment.systemdSockets.descriptors.keys.sorted()
                    throw SourceError(
                        source: source.name,
                        "systemd passed no socket named \(name) (passed: \(names.isEmpty ? "none" : names.joined(separator: ", ")))"
                    )
                }
                // A copy, so a restart after a reload can take the socket again.
                descriptor = dup(received)
            }
            return UnixSocketSource(
                configuration: source, settings: settings, group: group, reader: reader,
                activatedDescriptor: descriptor,
                logger: logger)
        }
    }

    /// The checkpoints of a file source: a missing file is none; an unreadable or corrupt one is
    /// moved aside and logged, and its files are read by start_at as if new (records may then
    /// repeat; none are lost). A state directory that cannot be made stops the source.
    private func loadCheckpoints(_ source: String) throws -> [FileIdentity: FileCheckpoint] {
        let store = CheckpointStore(stateDirectory: configuration.agent.stateDirectory)
        do {
            try store.makeDirectories()
        } catch {
            throw SourceError(source: source, "no place for checkpoints: \(error.description)")
        }
        do {
            let checkpoints = try store.load(source: source)
            return Dictionary(checkpoints.map { ($0.identity, $0) }) { $1 }
        } catch {
            let aside = store.quarantine(source: source)
            logger.error(
                "The checkpoint file is unreadable; it is moved aside and the files are read as new",
                metadata: ["error": "\(error.description)", "movedTo": "\(aside ?? "-")"])
            return [:]
        }
    }

    /// A source's task ended. Returns whether the agent should stop (stdin ended and nothing
    /// else runs, or a starting source failed) and the error to exit with.
    mutating func sourceEnded(id: Int, byItself: Bool, error: SourceError?) -> (shouldStop: Bool, fatal: PipelineError?)
    {
        guard let index = sources.firstIndex(where: { $0.id == id }) else { return (false, nil) }
        let source = sources[index]
        if let error {
            if source.isInitial {
                return (true, PipelineError(.sourceFailed, error.description))
            }
            live.withLockedValue { $0.reloadError = error.description }
            return (false, nil)
        }
        if byItself {
            logger.info("Source reached the end of its input", metadata: ["source": "\(source.configuration.name)"])
        }
        let othersRunning = sources.contains { !$0.finished.isDone && $0.id != id }
        return (byItself && !othersRunning, nil)
    }

    // MARK: Reload

    /// Applies a new configuration: stops removed and changed sources (they deliver what they
    /// read), replaces the producer if its settings changed, gives unchanged sources their new
    /// routes between two reads, and starts new and changed sources.
    ///
    /// No wait is unbounded: a reload must never hold back a shutdown that arrives meanwhile.
    /// When the old producer cannot deliver what it holds within the reload's budget (brokers
    /// down), the new one takes over anyway and the old one goes on delivering in the
    /// background until shutdown; only the order between their records is then not kept.
    mutating func apply(_ new: PipelineConfiguration, tasks: inout DiscardingTaskGroup) async throws -> PipelineDiff {
        let diff = PipelineDiff(from: configuration, to: new)
        guard !diff.isEmpty else { return diff }
        let newProducer =
            diff.replacesProducer
            ? try Self.makeProducer(
                new, group: group, metricsFactory: environment.metricsFactory, logger: logger) : nil
        let deadline = ContinuousClock.now + min(configuration.agent.shutdownTimeout, Self.reloadBudget)
        var stopping: [RunningSource] = []
        for name in diff.stoppedSources {
            guard let index = sources.firstIndex(where: { $0.configuration.name == name }) else { continue }
            let source = sources.remove(at: index)
            source.stop.stop()
            stopping.append(source)
        }
        for source in stopping where await !source.finished.wait(until: deadline) {
            logger.warning(
                "A stopped source is still handing its last read to the producer; it finishes in the background",
                metadata: ["source": "\(source.configuration.name)"])
        }
        // Its gauges are the running source's now (a changed source runs again under its name).
        for source in stopping { source.sink.retireGauges() }
        retiring += stopping
        configuration = new
        if let newProducer {
            var paused: [RunningSource] = []
            for source in sources where await source.sink.gate.close(until: deadline) { paused.append(source) }
            var isDrained = paused.count == sources.count
            if isDrained { isDrained = await producer.flush(until: deadline) }
            for source in sources + retiring where isDrained {
                isDrained = await source.sink.waitUntilDrained(deadline: deadline)
            }
            let old = producer
            producer = newProducer
            for source in sources {
                let reports = newProducer.makeDeliveryReports()
                let routes = routeBuilders(for: source.configuration)
                source.sink.rewire {
                    $0.producer = newProducer
                    $0.reports = reports
                    $0.routes = routes
                }
                let sink = source.sink
                tasks.addTask { await sink.acknowledge(from: reports) }
            }
            for source in paused { source.sink.gate.open() }
            if isDrained {
                // Everything it held is answered for: closing only ends its report streams.
                await old.close(timeout: .seconds(1))
            } else {
                logger.warning(
                    "The replaced producer could not deliver everything within the reload; it goes on in the background (order between its records and the new producer's is not kept)"
                )
                retiringProducers.append(old)
            }
        } else {
            for source in sources {
                let routes = routeBuilders(for: source.configuration)
                source.sink.rewire { $0.routes = routes }
            }
        }
        pruneRetiring()
        for name in diff.startedSources {
            guard let source = new.sources.first(where: { $0.name == name }) else { continue }
            start(source, tasks: &tasks)
        }
        return diff
    }

    /// How long a reload may wait for sources and the old producer.
    static let reloadBudget: Duration = .seconds(5)

    private func routeBuilders(for source: SourceConfiguration) -> [RouteRecordBuilder] {
        // The configuration was validated: its regexes compile.
        configuration.routes(from: source.name).compactMap { try? RouteRecordBuilder($0, sourceKey: source.key) }
    }

    /// Retired sources that are done and fully answered for leave the live set; their counts
    /// stay in the totals.
    private mutating func pruneRetiring() {
        let done = retiring.filter { $0.finished.isDone && $0.sink.outstandingRecords == 0 }
        guard !done.isEmpty else { return }
        retiring.removeAll { source in done.contains { $0.id == source.id } }
        for source in done {
            source.sink.saveCheckpoints(force: true)
            source.sink.exportMetrics()
            // A removed source's gauges would otherwise show their last values until restart.
            if !sources.contains(where: { $0.configuration.name == source.configuration.name }) {
                source.sink.destroyGauges()
            }
        }
        live.withLockedValue { state in
            for source in done {
                state.sinks.removeAll { $0 === source.sink }
                state.retired = PipelineStatus.collect([source.sink], base: state.retired)
                state.retired.backlog = 0
                // Nothing more can be reported to it; its acknowledgement task may end.
                source.sink.reports.finish()
            }
        }
    }

    // MARK: Shutdown

    /// What a shutdown left.
    struct DrainOutcome {
        /// Records read but not delivered because the shutdown timeout ran out.
        var undelivered: Int
        /// Records that failed delivery over the whole run (each was logged when it failed).
        var failed: Int
    }

    /// Stops every source, delivers what was read within the shutdown timeout, closes the
    /// producers.
    mutating func drain() async -> DrainOutcome {
        let timeout = configuration.agent.shutdownTimeout
        let deadline = ContinuousClock.now + timeout
        let all = sources + retiring
        let sinks = all.map(\.sink)
        environment.notifier.stopping(
            status: "draining: \(PipelineStatus.collect(sinks, base: .init()).backlog) records in flight")
        logger.info("Stopping: no more reading; delivering what was read", metadata: ["timeout": "\(timeout)"])
        let abandonedBefore = sinks.reduce(0) { $0 + $1.counters.recordsAbandoned.load(ordering: .relaxed) }
        for source in all { source.stop.stop() }
        for source in all where await !source.finished.wait(until: deadline) {
            // Out of time while waiting for room in the producer: give up what it holds.
            source.sink.abandon()
            source.task.cancel()
            await source.finished.wait()
        }
        _ = await producer.flush(until: deadline)
        // close() turns what is left at its timeout into failed reports, so it gets what remains
        // of the budget; the reports of those failures are read within a moment after.
        let remaining = max(deadline - ContinuousClock.now, .milliseconds(10))
        await withDiscardingTaskGroup { group in
            for producer in retiringProducers + [producer] {
                group.addTask { await producer.close(timeout: remaining) }
            }
        }
        let reportsRead = ContinuousClock.now + .milliseconds(200)
        for sink in sinks { _ = await sink.waitUntilDrained(deadline: reportsRead) }
        for sink in sinks {
            sink.saveCheckpoints(force: true)
            sink.exportMetrics()
        }
        let abandonedAfter = sinks.reduce(0) { $0 + $1.counters.recordsAbandoned.load(ordering: .relaxed) }
        let status = live.withLockedValue { PipelineStatus.collect($0.sinks, base: $0.retired) }
        let outcome = DrainOutcome(undelivered: abandonedAfter - abandonedBefore, failed: status.recordsFailed)
        if outcome.undelivered > 0 {
            logger.error(
                "Stopped with records not delivered",
                metadata: ["undelivered": "\(outcome.undelivered)", "delivered": "\(status.recordsAcknowledged)"])
        } else if outcome.failed > 0 {
            logger.warning(
                "Stopped; what was read at the stop was delivered, but records failed earlier (logged when they failed)",
                metadata: ["delivered": "\(status.recordsAcknowledged)", "failed": "\(outcome.failed)"])
        } else {
            logger.info(
                "Stopped; every record read was delivered", metadata: ["delivered": "\(status.recordsAcknowledged)"])
        }
        return outcome
    }
}

extension KafkaProducer {
    /// `flush()`, bounded: returns false at `deadline` if records are still in flight (the flush
    /// goes on; close then fails what is left).
    fileprivate func flush(until deadline: ContinuousClock.Instant) async -> Bool {
        let done = Completion()
        Task {
            await self.flush()
            done.signal()
        }
        return await done.wait(until: deadline)
    }
}
