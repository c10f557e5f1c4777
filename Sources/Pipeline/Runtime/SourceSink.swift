import Atomics
import KafkaClient
import Logging
import NIOConcurrencyHelpers
import NIOCore
import PipelineConfig

#if canImport(Glibc)
    import Glibc
#endif

/// Where a source's reads go: filters, the source's routes, the producer, and the source's own
/// acknowledgements.
///
/// One per running source. The read loop calls `accept` once per read (not per record); it
/// returns when the producer took every record, so a full `buffer.memory` holds the source's
/// reading, and nothing read is dropped. The routes and the producer can be swapped between
/// reads (reload) without restarting the source.
public final class SourceSink: Sendable {
    public let name: String
    public let counters = SourceCounters()
    private let host: String
    private let logger: Logger

    struct Wiring: Sendable {
        var routes: [RouteRecordBuilder]
        var filter: LineFilter
        var producer: KafkaProducer
        var reports: KafkaDeliveryReports
    }

    private struct State: Sendable {
        var wiring: Wiring
        var acknowledger = SourceAcknowledger<SourcePosition>()
        /// Set when shutdown ran out of time: `accept` stops waiting for room and counts what
        /// it still holds as not delivered.
        var isAbandoned = false
        var abandonedRecords = 0
        /// Per file: how far every record is acknowledged (file sources only).
        var checkpoints: [FileIdentity: FileCheckpoint] = [:]
        /// Files with a retriably failed record: their checkpoints stay before it for this run.
        var blockedFiles: Set<FileIdentity> = []
        var checkpointsChanged = false {
            didSet { if checkpointsChanged && unsavedSince == nil { unsavedSince = .now } }
        }
        /// When the oldest change not yet in the state directory happened (checkpoint age).
        var unsavedSince: ContinuousClock.Instant?

        /// Turns the spans just done into checkpoints.
        mutating func absorbCompleted() {
            for (position, isBlocked) in acknowledger.takeCompleted() {
                guard let identity = position.file, let path = position.path else { continue }
                if isBlocked { blockedFiles.insert(identity) }
                guard !blockedFiles.contains(identity) else { continue }
                checkpoints[identity] = FileCheckpoint(
                    identity: identity, offset: position.offset, fingerprint: position.fingerprint, path: path)
                checkpointsChanged = true
            }
        }
    }

    private let state: NIOLockedValueBox<State>
    /// Closed while the producer is being replaced (reload); `accept` waits at it.
    let gate = SinkGate()

    /// Where a file source's checkpoints are written; nil for other sources.
    let checkpointStore: CheckpointStore?

    private let metrics: SourceMetrics

    init(
        name: String, host: String, wiring: Wiring, checkpointStore: CheckpointStore?, metrics: SourceMetrics,
        logger: Logger
    ) {
        self.name = name
        self.host = host
        self.checkpointStore = checkpointStore
        self.metrics = metrics
        self.state = NIOLockedValueBox(State(wiring: wiring))
        var logger = logger
        logger[metadataKey: "source"] = "\(name)"
        self.logger = logger
    }

    /// Records handed to the producer and not yet answered for.
    public var outstandingRecords: Int { state.withLockedValue { $0.acknowledger.outstandingRecords } }
    /// The furthest position all of whose records are answered for.
    public var acknowledgedPosition: SourcePosition? { state.withLockedValue { $0.acknowledger.position } }
    /// Records given up at a shutdown that ran out of time.
    public var abandonedRecords: Int { state.withLockedValue { $0.abandonedRecords } }

    var reports: KafkaDeliveryReports { state.withLockedValue { $0.wiring.reports } }

    func rewire(_ change: (inout Wiring) -> Void) {
        state.withLockedValue { change(&$0.wiring) }
    }

    func abandon() {
        state.withLockedValue { $0.isAbandoned = true }
    }

    /// Starts from checkpoints read from the state directory (kept for files not read again).
    func seedCheckpoints(_ checkpoints: [FileCheckpoint]) {
        state.withLockedValue { state in
            for checkpoint in checkpoints { state.checkpoints[checkpoint.identity] = checkpoint }
        }
    }

    /// The checkpoints, when they changed since the last call (or always with `force`), and
    /// since when they waited to be written.
    private func takeCheckpoints(force: Bool) -> (checkpoints: [FileCheckpoint], since: ContinuousClock.Instant?)? {
        state.withLockedValue { state in
            guard state.checkpointsChanged || force else { return nil }
            state.checkpointsChanged = false
            defer { state.unsavedSince = nil }
            return (Array(state.checkpoints.values), state.unsavedSince)
        }
    }

    /// Carries the counters to the metrics instruments.
    /// Stops this sink's gauges from being written: a restarted source's new sink owns them.
    func retireGauges() {
        gaugesRetired.store(true, ordering: .relaxed)
    }

    func destroyGauges() {
        metrics.destroyGauges()
    }

    private let gaugesRetired = ManagedAtomic(false)

    func exportMetrics() {
        let withGauges = !gaugesRetired.load(ordering: .relaxed)
        let (since, outstanding, checkpoints) = state.withLockedValue { state in
            (
                state.unsavedSince, state.acknowledger.outstandingRecords,
                checkpointStore == nil ? [] : Array(state.checkpoints.values)
            )
        }
        metrics.export(
            counters, checkpointAge: since.map { ContinuousClock.now - $0 } ?? .zero, backlog: outstanding,
            gauges: withGauges)
        if withGauges && checkpointStore != nil { metrics.exportFileLags(Self.lags(checkpoints)) }
    }

    /// Size minus acknowledged offset for each checkpoint whose path still names its file (a
    /// rotated-away or deleted file is not followed by path any more).
    static func lags(_ checkpoints: [FileCheckpoint]) -> [String: Int64] {
        var lags: [String: Int64] = [:]
        for checkpoint in checkpoints {
            var status = stat()
            guard stat(checkpoint.path, &status) == 0,
                UInt64(status.st_dev) == checkpoint.identity.device, UInt64(status.st_ino) == checkpoint.identity.inode
            else { continue }
            lags[checkpoint.path] = max(0, Int64(status.st_size) - checkpoint.offset)
        }
        return lags
    }

    /// Writes the checkpoints if they changed (always with `force`); failures are logged, and
    /// the next write tries again.
    func saveCheckpoints(force: Bool = false) {
        guard let store = checkpointStore else { return }
        // One writer at a time: the periodic writer and shutdown's last write share the file.
        saveLock.withLock {
            guard let (checkpoints, since) = takeCheckpoints(force: force) else { return }
            do {
                try store.save(source: name, checkpoints)
            } catch {
                state.withLockedValue { state in
                    state.checkpointsChanged = true
                    // The age runs from the first change not written, not from this failure.
                    if let since, since < state.unsavedSince ?? .now { state.unsavedSince = since }
                }
                logger.error("Cannot write checkpoints", metadata: ["error": "\(error)"])
            }
        }
    }

    private let saveLock = NIOLock()

    /// A file opened at `checkpoint.offset`: its checkpoint starts there, unless it already has
    /// one at or before that offset (then only its name is brought up to date). A file new to
    /// the checkpoints is written down at once, before any of its lines is read: a kill -9 right
    /// after must not leave a renamed-away file unknown to the next start.
    func noteOpened(_ checkpoint: FileCheckpoint) {
        let isNew = state.withLockedValue { state -> Bool in
            if let existing = state.checkpoints[checkpoint.identity], existing.offset <= checkpoint.offset {
                guard existing.path != checkpoint.path else { return false }
                state.checkpoints[checkpoint.identity]?.path = checkpoint.path
                state.checkpointsChanged = true
                return false
            }
            state.checkpoints[checkpoint.identity] = checkpoint
            state.checkpointsChanged = true
            return true
        }
        if isNew { saveCheckpoints() }
    }

    /// Forgets a file's checkpoint (it was deleted).
    func dropCheckpoint(_ identity: FileIdentity) {
        state.withLockedValue { state in
            if state.checkpoints.removeValue(forKey: identity) != nil { state.checkpointsChanged = true }
        }
    }

    /// Filters, routes and enqueues one read's records; returns once the producer holds them.
    /// `peer` is the writer of the stream connection the read came from.
    public func accept(_ lines: FramedLines, position: SourcePosition, peer: PeerCredentials? = nil) async {
        await gate.enter()
        defer { gate.leave() }
        let wiring = state.withLockedValue { $0.wiring }
        let timestamp = LineContext.nowMilliseconds()
        counters.linesRead.wrappingIncrement(by: lines.lines.count, ordering: .relaxed)
        if lines.oversizedLines > 0 {
            counters.linesOversized.wrappingIncrement(by: lines.oversizedLines, ordering: .relaxed)
        }
        var outgoing: [Outgoing] = []
        var tally = RouteRecordBuilder.Tally()
        var filtered = 0
        if !lines.isEmpty {
            var context = LineContext(
                source: name, host: host, path: position.path, timestamp: timestamp,
                timestampText: LineContext.rfc3339(milliseconds: timestamp), peer: peer, lines: lines,
                line: lines.lines[0])
            var kept = lines.lines
            if !wiring.filter.isEmpty {
                kept.removeAll { !wiring.filter.keeps(lines.string($0)) }
                filtered = lines.lines.count - kept.count
            }
            var records: [KafkaProducerRecord] = []
            for route in wiring.routes where !kept.isEmpty {
                if let block = route.block(context, lines: kept, tally: &tally) {
                    outgoing.append(.block(block))
                    continue
                }
                records.reserveCapacity(records.count + kept.count)
                for line in kept {
                    context.line = line
                    records.append(route.record(context, tally: &tally))
                }
            }
            if !records.isEmpty { outgoing.append(.records(records)) }
        }
        if filtered > 0 { counters.linesFiltered.wrappingIncrement(by: filtered, ordering: .relaxed) }
        if tally.keyFailures > 0 { counters.keyFailures.wrappingIncrement(by: tally.keyFailures, ordering: .relaxed) }
        if tally.deadLettered > 0 {
            counters.deadLettered.wrappingIncrement(by: tally.deadLettered, ordering: .relaxed)
        }
        if tally.fallbackTopics > 0 {
            counters.fallbackTopics.wrappingIncrement(by: tally.fallbackTopics, ordering: .relaxed)
        }
        let count = outgoing.reduce(0) { $0 + $1.count }
        var firstID = state.withLockedValue { state in
            defer { state.absorbCompleted() }
            return state.acknowledger.register(count: count, position: position)
        }
        for part in outgoing {
            await enqueue(part, firstID: firstID, wiring: wiring)
            firstID += UInt64(part.count)
        }
    }

    /// One read's records for the producer: a block per route that allows it, the rest one by one.
    private enum Outgoing {
        case block(KafkaRecordBlock)
        case records([KafkaProducerRecord])

        var count: Int {
            switch self {
            case .block(let block): block.records.count
            case .records(let records): records.count
            }
        }

        func topic(at index: Int) -> String {
            switch self {
            case .block(let block): block.topic
            case .records(let records): records[index].topic
            }
        }

        /// Hands the records from `start` on to the producer.
        func enqueue(from start: Int, firstID: UInt64, wiring: Wiring) async throws {
            switch self {
            case .block(var block):
                if start > 0 { block.records.removeFirst(start) }
                try await wiring.producer.enqueue(block, firstID: firstID, reportingTo: wiring.reports)
            case .records(let records):
                try await wiring.producer.enqueue(
                    contentsOf: start == 0 ? records : Array(records[start...]), firstID: firstID,
                    reportingTo: wiring.reports)
            }
        }
    }

    /// Counts and logs an unfinished line given up at a stop.
    func dropPartialLine(bytes: Int) {
        counters.partialLinesDropped.wrappingIncrement(ordering: .relaxed)
        logger.warning(
            "Stopped in the middle of a line; its start is dropped (the writer had not finished it)",
            metadata: ["bytes": "\(bytes)"])
    }

    /// Hands `records` to the producer, waiting through a full buffer; a record the producer
    /// refuses for itself (too large, unknown topic) is counted as failed and the rest go on.
    private func enqueue(_ records: Outgoing, firstID: UInt64, wiring: Wiring) async {
        var start = 0
        var waits = 0
        while start < records.count {
            do {
                try await records.enqueue(from: start, firstID: firstID + UInt64(start), wiring: wiring)
                counters.recordsSent.wrappingIncrement(by: records.count - start, ordering: .relaxed)
                return
            } catch {
                let failure = error as? KafkaProducerError
                let accepted = failure?.acceptedRecordCount ?? 0
                counters.recordsSent.wrappingIncrement(by: accepted, ordering: .relaxed)
                start += accepted
                guard start < records.count else { return }
                let wait: String?
                switch failure?.code {
                case .bufferExhausted?, .deliveryReportsFull?:
                    wait = "The producer's buffer stays full; reading waits until Kafka takes records"
                case .metadataTimeout? where failure?.brokerErrorCode == nil:
                    // No broker said anything about the topic: they are unreachable. (A broker's
                    // error for the topic drops the record below.)
                    wait = "No broker answers with the topic's metadata; reading waits"
                case .authenticationFailed?:
                    // Credentials or certificates fixed by a reload or on the broker's side let
                    // the same records through; nothing is dropped meanwhile.
                    wait = "The brokers refuse this client (TLS or SASL); reading waits"
                case .producerClosed?, .cancelled?:
                    giveUp(records.count - start, firstID: firstID + UInt64(start))
                    return
                default:
                    wait = nil
                }
                if let wait {
                    // Backpressure, not loss: try again, unless shutdown gave up.
                    if state.withLockedValue({ $0.isAbandoned }) {
                        giveUp(records.count - start, firstID: firstID + UInt64(start))
                        return
                    }
                    waits += 1
                    if waits == 1 || waits % 10 == 0 {
                        logger.warning(
                            "\(wait)",
                            metadata: ["topic": "\(records.topic(at: start))", "error": "\(failure?.message ?? "")"])
                    }
                } else {
                    // This record cannot be sent (too large, its topic unknown after max.block.ms…).
                    logger.error(
                        "A record could not be sent and is dropped",
                        metadata: [
                            "topic": "\(records.topic(at: start))", "error": "\(failure?.message ?? "\(error)")",
                        ])
                    state.withLockedValue {
                        _ = $0.acknowledger.acknowledge([firstID + UInt64(start)], failed: true)
                        $0.absorbCompleted()
                    }
                    counters.recordsFailed.wrappingIncrement(ordering: .relaxed)
                    start += 1
                }
            }
        }
    }

    private func giveUp(_ count: Int, firstID: UInt64) {
        state.withLockedValue {
            _ = $0.acknowledger.acknowledge(firstID..<(firstID + UInt64(count)), failed: true, retriable: true)
            $0.abandonedRecords += count
            $0.absorbCompleted()
        }
        counters.recordsFailed.wrappingIncrement(by: count, ordering: .relaxed)
        counters.recordsAbandoned.wrappingIncrement(by: count, ordering: .relaxed)
    }

    /// Reads the source's delivery reports until the stream ends (the producer closed or was
    /// replaced).
    func acknowledge(from reports: KafkaDeliveryReports) async {
        for await report in reports {
            let failed = report.error != nil
            // Only a failure of the record itself (too large, a topic refused) lets the checkpoint
            // pass it; after a timeout or a closing producer, a restart must send it again.
            let retriable = failed && report.error?.isRecordSpecific == false
            state.withLockedValue {
                _ = $0.acknowledger.acknowledge(report.recordIDs, failed: failed, retriable: retriable)
                $0.absorbCompleted()
            }
            if let error = report.error {
                counters.recordsFailed.wrappingIncrement(by: report.recordIDs.count, ordering: .relaxed)
                if error.code == .producerClosed {
                    counters.recordsAbandoned.wrappingIncrement(by: report.recordIDs.count, ordering: .relaxed)
                }
                logger.error(
                    "Records were not delivered",
                    metadata: [
                        "topic": "\(report.topicPartition.topic)", "partition": "\(report.topicPartition.partition)",
                        "records": "\(report.recordIDs.count)", "error": "\(error.message)",
                    ])
            } else {
                counters.recordsAcknowledged.wrappingIncrement(by: report.recordIDs.count, ordering: .relaxed)
            }
        }
    }

    /// Waits until every record handed on is answered for, or `deadline` passes.
    func waitUntilDrained(deadline: ContinuousClock.Instant) async -> Bool {
        while outstandingRecords > 0 {
            if ContinuousClock.now >= deadline { return false }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return true
    }
}
