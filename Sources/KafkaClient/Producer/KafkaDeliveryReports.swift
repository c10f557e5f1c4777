import NIOConcurrencyHelpers
import NIOCore

/// One caller's delivery reports: the outcomes of the records it gave to
/// `KafkaProducer.enqueue(…, reportingTo:)`, and of no one else's.
///
/// Make one per source with `KafkaProducer.makeDeliveryReports(capacity:)` and read it with
/// `for await report in reports`. Each report covers records of one batch that went to this
/// caller — consecutive offsets of one partition, stored or failed together — and names them by
/// the ids the caller chose when it appended them, so a report can never arrive before the caller
/// knows what it refers to. Within a partition, reports arrive in offset order.
///
/// Memory is bounded by `capacity`, counted in records: a record takes a place from the moment
/// it is appended until its report has been read. An append that finds no room waits (up to
/// `max.block.ms`, like `buffer.memory`) until the caller reads, so a caller that stops reading
/// stops being able to append instead of growing memory. One bulk call larger than the whole
/// capacity goes in once nothing else is outstanding.
///
/// The sequence ends after the producer closed and every report was read, or after `finish()`.
public final class KafkaDeliveryReports: AsyncSequence, Sendable {
    public typealias Element = KafkaDeliveryReport

    /// How many records may be outstanding: appended, and their reports not yet read.
    public let capacity: Int

    struct Reader {
        var id: UInt64
        var continuation: CheckedContinuation<KafkaDeliveryReport?, Never>
    }

    struct State {
        var reports = FIFOQueue<KafkaDeliveryReport>()
        /// Records holding a place: reserved for an append, in a batch, or reported and unread.
        var outstanding = 0
        var creditWaiters = BudgetWaiters()
        var readers: [Reader] = []
        var nextWaiterID: UInt64 = 0
        var isFinished = false
    }

    /// The producer keeps a weak reference to the core (to finish the stream when it closes),
    /// not to the stream itself: a weakly referenced object takes Swift's slow reference-counting
    /// path on every retain, and the stream is retained for each run of records appended.
    let core = Core()
    private var state: NIOLockedValueBox<State> { core.state }

    final class Core: Sendable {
        let state = NIOLockedValueBox(State())
    }

    init(capacity: Int) {
        self.capacity = Swift.max(capacity, 1)
    }

    /// Records appended and not yet read back as reports (tests, metrics).
    public var outstandingRecords: Int { state.withLockedValue { $0.outstanding } }

    /// Ends the sequence once the reports already delivered are read; later reports are dropped.
    /// For a caller that goes away (a source removed by a reload) while records are in flight.
    public func finish() { Self.finish(core) }

    /// `finish()` for the producer, which holds only the stream's core.
    static func finish(_ core: Core) {
        let state = core.state
        let readers: [Reader] = state.withLockedValue { state in
            state.isFinished = true
            guard state.reports.isEmpty else { return [] }
            defer { state.readers = [] }
            return state.readers
        }
        for reader in readers { reader.continuation.resume(returning: nil) }
    }

    // MARK: - The producer's side

    /// Takes places for `count` records, waiting while there is no room. `registered` receives
    /// an id that `failCreditWaiter` can use to end the wait (the max.block.ms timer).
    func acquire(count: Int, registered: (UInt64) -> Void) async throws {
        let capacity = self.capacity
        try await BudgetWaiters.wait(
            in: state, waiters: \.creditWaiters, amount: count, what: "room for delivery reports",
            takeNow: { Self.take(count, state: &$0, capacity: capacity) }, registered: registered,
            cancel: { id, error in self.failCreditWaiter(id: id, error: error) })
    }

    /// Whether `count` more records may be appended now.
    func hasRoom(for count: Int) -> Bool {
        state.withLockedValue { state in
            state.creditWaiters.isEmpty && Self.take(count, state: &state, capacity: capacity)
        }
    }

    /// Takes places for `count` records if they fit.
    private static func take(_ count: Int, state: inout State, capacity: Int) -> Bool {
        guard fits(count, outstanding: state.outstanding, capacity: capacity) else { return false }
        state.outstanding += count
        return true
    }

    private static func fits(_ count: Int, outstanding: Int, capacity: Int) -> Bool {
        outstanding == 0 || outstanding + count <= capacity
    }

    /// Ends a wait for room with `error`, if it is still waiting.
    func failCreditWaiter(id: UInt64, error: KafkaProducerError) {
        let waiter: BudgetWaiters.Waiter? = state.withLockedValue { state in
            let waiter = state.creditWaiters.remove(id: id)
            Self.grant(state: &state, capacity: capacity)
            return waiter
        }
        waiter?.continuation.resume(throwing: error)
    }

    /// Gives back places of records that were not accepted after all.
    func release(count: Int) {
        guard count > 0 else { return }
        state.withLockedValue { state in
            state.outstanding -= count
            Self.grant(state: &state, capacity: capacity)
        }
    }

    /// Hands a report to the reader (called from the sender's event loop; never blocks: its
    /// records already hold their places).
    func deliver(_ report: KafkaDeliveryReport) {
        let reader: Reader? = state.withLockedValue { state in
            if state.isFinished && state.readers.isEmpty {
                // Nobody will read it: give its places back at once.
                state.outstanding -= report.recordIDs.count
                Self.grant(state: &state, capacity: capacity)
                return nil
            }
            guard !state.readers.isEmpty else {
                state.reports.append(report)
                return nil
            }
            state.outstanding -= report.recordIDs.count
            Self.grant(state: &state, capacity: capacity)
            return state.readers.removeFirst()
        }
        reader?.continuation.resume(returning: report)
    }

    /// Resumes waiters in arrival order while the first one fits.
    private static func grant(state: inout State, capacity: Int) {
        var waiters = BudgetWaiters()
        swap(&waiters, &state.creditWaiters)
        waiters.grant { take($0, state: &state, capacity: capacity) }
        swap(&waiters, &state.creditWaiters)
    }

    // MARK: - Reading

    private func next() async -> KafkaDeliveryReport? {
        let wait = CancellableWait()
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<KafkaDeliveryReport?, Never>) in
                enum Start {
                    case report(KafkaDeliveryReport)
                    case end
                    case waiting
                }
                let start: Start = state.withLockedValue { state in
                    if let report = state.reports.popFirst() {
                        state.outstanding -= report.recordIDs.count
                        Self.grant(state: &state, capacity: capacity)
                        return .report(report)
                    }
                    if state.isFinished { return .end }
                    let id = state.nextWaiterID
                    state.nextWaiterID += 1
                    guard wait.register(id) else { return .end }
                    state.readers.append(Reader(id: id, continuation: continuation))
                    return .waiting
                }
                switch start {
                case .report(let report): continuation.resume(returning: report)
                case .end: continuation.resume(returning: nil)
                case .waiting: break
                }
            }
        } onCancel: {
            guard let id = wait.cancel() else { return }
            let reader: Reader? = state.withLockedValue { state in
                guard let index = state.readers.firstIndex(where: { $0.id == id }) else { return nil }
                return state.readers.remove(at: index)
            }
            reader?.continuation.resume(returning: nil)
        }
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let reports: KafkaDeliveryReports

        /// The next report; nil once the sequence ended, or when the reading task is cancelled.
        public mutating func next() async -> KafkaDeliveryReport? {
            await reports.next()
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(reports: self) }
}
