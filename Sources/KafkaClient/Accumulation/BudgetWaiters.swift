import NIOConcurrencyHelpers

/// Tasks waiting, first come first served, for a share of a budget: bytes of `buffer.memory`
/// (the accumulator) or places in a caller's report stream (`KafkaDeliveryReports`). Kept inside
/// its owner's locked state.
struct BudgetWaiters {
    struct Waiter {
        let id: UInt64
        let amount: Int
        let continuation: CheckedContinuation<Void, any Error>
    }

    private var waiters: [Waiter] = []
    private var nextID: UInt64 = 0

    var isEmpty: Bool { waiters.isEmpty }

    /// Ends the wait of `id`, if it still waits, and returns it (to be resumed with an error).
    mutating func remove(id: UInt64) -> Waiter? {
        guard let index = waiters.firstIndex(where: { $0.id == id }) else { return nil }
        return waiters.remove(at: index)
    }

    /// Resumes waiters in arrival order while `take` accepts the first one's amount (and takes
    /// it). Resuming inside the owner's lock is safe: it only schedules the task.
    mutating func grant(_ take: (Int) -> Bool) {
        while let first = waiters.first, take(first.amount) {
            waiters.removeFirst()
            first.continuation.resume()
        }
    }

    /// Every waiter, removed (close, a fatal error): to be resumed with an error.
    mutating func removeAll() -> [Waiter] {
        defer { waiters = [] }
        return waiters
    }

    /// Waits for `amount` of the budget guarded by `box`: `takeNow` takes it at once when it is
    /// free and nobody waits before; otherwise the task waits in `waiters` until a `grant`
    /// resumes it, `cancel(id, error)` ends it (the owner's way to remove and fail a waiter: the
    /// max.block.ms timer, or the task's cancellation), or the owner fails every waiter.
    /// `registered` receives the id while the lock is held.
    static func wait<State>(
        in box: NIOLockedValueBox<State>, waiters: WritableKeyPath<State, BudgetWaiters>, amount: Int, what: String,
        takeNow: (inout State) -> Bool, registered: (UInt64) -> Void,
        cancel: @escaping @Sendable (UInt64, KafkaProducerError) -> Void
    ) async throws {
        let wait = CancellableWait()
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let start: WaitStart = box.withLockedValue { state in
                    if state[keyPath: waiters].isEmpty, takeNow(&state) { return .taken }
                    let id = state[keyPath: waiters].nextID
                    state[keyPath: waiters].nextID += 1
                    guard wait.register(id) else { return .cancelled }
                    state[keyPath: waiters].waiters.append(Waiter(id: id, amount: amount, continuation: continuation))
                    registered(id)
                    return .waiting
                }
                switch start {
                case .taken: continuation.resume()
                case .cancelled: continuation.resume(throwing: CancellableWait.cancelledError(what))
                case .waiting: break
                }
            }
        } onCancel: {
            if let id = wait.cancel() { cancel(id, CancellableWait.cancelledError(what)) }
        }
    }
}

/// How a wait for a budget began (inside the owner's lock).
private enum WaitStart {
    case taken, waiting, cancelled
}
