import NIOConcurrencyHelpers

/// Lets reads through one at a time while open; `close()` waits for the read in progress and
/// holds the next until `open()`. Used to swap the producer between two reads.
final class SinkGate: Sendable {
    private struct State {
        var isBusy = false
        var isClosed = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = NIOLockedValueBox(State())

    /// Waits until the gate is open and no other holder is inside.
    func enter() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let admitted = state.withLockedValue { state -> Bool in
                if !state.isBusy && !state.isClosed {
                    state.isBusy = true
                    return true
                }
                state.waiters.append(continuation)
                return false
            }
            if admitted { continuation.resume() }
        }
    }

    func leave() {
        let next = state.withLockedValue { state -> CheckedContinuation<Void, Never>? in
            guard !state.isClosed, !state.waiters.isEmpty else {
                state.isBusy = false
                return nil
            }
            return state.waiters.removeFirst()
        }
        next?.resume()
    }

    /// Closes the gate once the read inside (if any) has left.
    func close() async {
        await enter()
        state.withLockedValue { $0.isClosed = true }
    }

    /// Opens the gate closed by `close()`.
    func open() {
        let next = state.withLockedValue { state -> CheckedContinuation<Void, Never>? in
            state.isClosed = false
            guard !state.waiters.isEmpty else {
                state.isBusy = false
                return nil
            }
            return state.waiters.removeFirst()
        }
        next?.resume()
    }
}
