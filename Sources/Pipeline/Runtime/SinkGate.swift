import NIOConcurrencyHelpers

/// Lets reads through one at a time while open; `close(until:)` waits for the read in progress
/// (new reads queue meanwhile) and holds the next until `open()`. Used to swap the producer
/// between two reads.
final class SinkGate: Sendable {
    private struct State {
        var isBusy = false
        var isClosed = false
        /// A closer waits: reads arriving now queue behind it.
        var isClosing = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = NIOLockedValueBox(State())

    /// Waits until the gate is open and no other read is inside.
    func enter() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let admitted = state.withLockedValue { state -> Bool in
                if !state.isBusy && !state.isClosed && !state.isClosing {
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
            guard !state.isClosing, !state.isClosed, !state.waiters.isEmpty else {
                state.isBusy = false
                return nil
            }
            return state.waiters.removeFirst()
        }
        next?.resume()
    }

    /// Closes the gate once the read inside (if any) has left. Returns false, leaving the gate
    /// open, when that read is still inside at `deadline` (it waits for room in the producer).
    func close(until deadline: ContinuousClock.Instant) async -> Bool {
        state.withLockedValue { $0.isClosing = true }
        while true {
            let closed = state.withLockedValue { state -> Bool in
                guard !state.isBusy else { return false }
                state.isClosing = false
                state.isClosed = true
                return true
            }
            if closed { return true }
            if ContinuousClock.now >= deadline {
                open()
                return false
            }
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Opens the gate (after `close(until:)`), letting the next queued read in.
    func open() {
        let next = state.withLockedValue { state -> CheckedContinuation<Void, Never>? in
            state.isClosed = false
            state.isClosing = false
            guard !state.isBusy, !state.waiters.isEmpty else { return nil }
            state.isBusy = true
            return state.waiters.removeFirst()
        }
        next?.resume()
    }
}
