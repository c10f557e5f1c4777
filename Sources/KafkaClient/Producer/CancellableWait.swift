import Synchronization

/// Connects a task's cancellation to a wait registered somewhere else (the accumulator's memory
/// waiters, the sender's metadata waiters), whichever happens first.
///
/// The waiting side calls `register(id)` where it stores its continuation; the task's
/// cancellation handler calls `cancel()`. If cancellation came first, `register` returns false
/// and the wait must end at once; if registration came first, `cancel` returns the id so the
/// handler can end that wait. Only slow paths (a caller that has to wait) make one.
final class CancellableWait: Sendable {
    private enum State {
        case pending
        case registered(UInt64)
        case cancelled
    }

    private let state = Mutex(State.pending)

    /// Records where the wait is stored. False when the task was already cancelled.
    func register(_ id: UInt64) -> Bool {
        state.withLock { state in
            if case .cancelled = state { return false }
            state = .registered(id)
            return true
        }
    }

    /// Marks the wait cancelled; returns the registered id, if any, whose wait must be ended.
    func cancel() -> UInt64? {
        state.withLock { state in
            defer { state = .cancelled }
            if case .registered(let id) = state { return id }
            return nil
        }
    }

    static func cancelledError(_ what: String) -> KafkaProducerError {
        KafkaProducerError(.cancelled, "the task was cancelled while waiting for \(what)")
    }
}
