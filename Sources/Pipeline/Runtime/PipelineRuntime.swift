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
        let finished: Completion
        /// Whether it came with the configuration the agent started with: such a source that
        /// cannot run stops the agent (systemd then reports it); one added by a reload is logged.
        let isInitial: Bool
    }

    private(set) var configuration: PipelineConfiguration
    private(set) var producer: KafkaProducer
    private var sources: [RunningSource] = []
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
        self.reader = BlockingReader(threadPool: threadPool, chunkSize: 65_536)
        self.logger = logger
        self.events = events
        self.live = live
        self.producer = try Self.makeProducer(configuration, group: group, logger: logger)
    }

    static func makeProducer(
        _ configuration: PipelineConfiguration, group: MultiThreadedEventLoopGroup, logger: Logger
    ) throws -> KafkaProducer {
        do {
            return try KafkaProducer(
                configuration: configuration.producerConfiguration(), eventLoopGroup: group,
                shutdownTimeout: configuration.agent.shutdownTimeout, logger: logger)
        } catch {
            throw PipelineError(.producerFailed, "cannot create the producer: \(error)")
        }
    }

    // MARK: Starting and ending sources

    mutating func startAll(tasks: inout TaskGroup<Void>) {
        for source in configuration.sources { start(source, tasks: &tasks) }
        isStarting = false
    }

    private mutating func start(_ source: SourceConfiguration, tasks: inout TaskGroup<Void>) {
        nextID += 1
        let id = nextID
        let reports = producer.makeDeliveryReports()
        let sink = SourceSink(
            name: source.name, host: environment.hostName, wiring: wiring(for: source, reports: reports),
            logger: logger)
        tasks.addTask { await sink.acknowledge(from: reports) }
        let stop = StopSignal()
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
            defer { finished.signal() }
            guard let runner else {
                events.yield(.sourceEnded(id: id, byItself: false, error: startError))
                return
            }
            do {
                let ended = try await runner.run(into: sink, stop: stop)
                events.yield(.sourceEnded(id: id, byItself: ended, error: nil))
            } catch {
                let failure = error as? SourceError ?? SourceError(source: source.name, "\(error)")
                logger.error("Source failed", metadata: ["source": "\(source.name)", "error": "\(failure.message)"])
                events.yield(.sourceEnded(id: id, byItself: false, error: failure))
            }
        }
        sources.append(
            RunningSource(
                id: id, configuration: source, sink: sink, stop: stop, task: task, finished: finished,
                isInitial: isStarting))
        live.withLockedValue { $0.sinks.append(sink) }
    }

    private func wiring(for source: SourceConfiguration, reports: KafkaDeliveryReports) -> SourceSink.Wiring {
        // The configuration was validated: its regexes compile.
        let routes = configuration.routes(from: source.name).compactMap {
            try? RouteRecordBuilder($0, sourceKey: source.key)
        }
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
                configuration: source, settings: settings, reader: reader, positions: positions, logger: logger)
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

    /// Applies a new configuration: stops removed and changed sources once their records are
    /// delivered, replaces the producer if its settings changed (pausing the sources meanwhile),
    /// gives unchanged sources their new routes, and starts new and changed sources.
    mutating func apply(_ new: PipelineConfiguration, tasks: inout TaskGroup<Void>) async throws -> PipelineDiff {
        let diff = PipelineDiff(from: configuration, to: new)
        guard !diff.isEmpty else { return diff }
        let newProducer = diff.replacesProducer ? try Self.makeProducer(new, group: group, logger: logger) : nil
        let deadline = ContinuousClock.now + configuration.agent.shutdownTimeout
        for name in diff.stoppedSources {
            guard let index = sources.firstIndex(where: { $0.configuration.name == name }) else { continue }
            await retire(sources.remove(at: index), deadline: deadline)
        }
        configuration = new
        if let newProducer {
            for source in sources { await source.sink.gate.close() }
            await producer.flush()
            for source in sources { _ = await source.sink.waitUntilDrained(deadline: deadline) }
            let old = producer
            producer = newProducer
            for source in sources {
                let reports = newProducer.makeDeliveryReports()
                let oldReports = source.sink.reports
                source.sink.rewire {
                    $0.producer = newProducer
                    $0.reports = reports
                }
                oldReports.finish()
                let sink = source.sink
                tasks.addTask { await sink.acknowledge(from: reports) }
            }
            await old.close(timeout: .seconds(1))
            for source in sources { source.sink.gate.open() }
        }
        for source in sources {
            let routes = new.routes(from: source.configuration.name).compactMap {
                try? RouteRecordBuilder($0, sourceKey: source.configuration.key)
            }
            source.sink.rewire { $0.routes = routes }
        }
        for name in diff.startedSources {
            guard let source = new.sources.first(where: { $0.name == name }) else { continue }
            start(source, tasks: &tasks)
        }
        return diff
    }

    /// Stops one source, waits for its records to be answered for, and moves its counts to
    /// the retired totals.
    private func retire(_ source: RunningSource, deadline: ContinuousClock.Instant) async {
        source.stop.stop()
        await source.finished.wait()
        _ = await source.sink.waitUntilDrained(deadline: deadline)
        source.sink.reports.finish()
        live.withLockedValue { state in
            state.sinks.removeAll { $0 === source.sink }
            state.retired = PipelineStatus.collect([source.sink], base: state.retired)
            state.retired.backlog = 0
        }
    }

    // MARK: Shutdown

    /// Stops every source, delivers what was read within the shutdown timeout, closes the
    /// producer. Returns how many records read were not delivered.
    mutating func drain() async -> Int {
        let timeout = configuration.agent.shutdownTimeout
        let deadline = ContinuousClock.now + timeout
        environment.notifier.stopping(
            status: "draining: \(PipelineStatus.collect(sources.map(\.sink), base: .init()).backlog) records in flight")
        logger.info("Stopping: no more reading; delivering what was read", metadata: ["timeout": "\(timeout)"])
        let failedBefore = sources.reduce(0) { $0 + $1.sink.counters.recordsFailed.load(ordering: .relaxed) }
        for source in sources { source.stop.stop() }
        for source in sources {
            if await !source.finished.wait(until: deadline) {
                // Out of time while waiting for room in the producer: give up what it holds.
                source.sink.abandon()
                source.task.cancel()
                await source.finished.wait()
            }
        }
        await producer.flush(until: deadline)
        let remaining = max(deadline - ContinuousClock.now, .milliseconds(100))
        await producer.close(timeout: remaining)
        for source in sources { _ = await source.sink.waitUntilDrained(deadline: ContinuousClock.now + .seconds(1)) }
        let failedAfter = sources.reduce(0) { $0 + $1.sink.counters.recordsFailed.load(ordering: .relaxed) }
        let undelivered = failedAfter - failedBefore
        let status = PipelineStatus.collect(sources.map(\.sink), base: .init())
        if undelivered > 0 {
            logger.error(
                "Stopped with records not delivered",
                metadata: ["undelivered": "\(undelivered)", "delivered": "\(status.recordsAcknowledged)"])
        } else {
            logger.info(
                "Stopped; every record read was delivered", metadata: ["delivered": "\(status.recordsAcknowledged)"])
        }
        return undelivered
    }
}

extension KafkaProducer {
    /// `flush()`, bounded: returns at `deadline` even if records are still in flight (close then
    /// fails them).
    fileprivate func flush(until deadline: ContinuousClock.Instant) async {
        let done = Completion()
        let flushing = Task {
            await self.flush()
            done.signal()
        }
        _ = await done.wait(until: deadline)
        _ = flushing
    }
}
