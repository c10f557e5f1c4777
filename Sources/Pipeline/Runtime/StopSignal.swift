import NIOConcurrencyHelpers

/// Tells a source to stop reading. Reading loops check `isStopped` between reads; sources
/// blocked elsewhere (a listening socket) register a handler that unblocks them.
public final class StopSignal: Sendable {
    private let state = NIOLockedValueBox<(stopped: Bool, handlers: [@Sendable () -> Void])>((false, []))

    public init() {}

    public var isStopped: Bool { state.withLockedValue { $0.stopped } }

    /// Stops; runs every handler once.
    public func stop() {
        let handlers = state.withLockedValue { state -> [@Sendable () -> Void] in
            guard !state.stopped else { return [] }
            state.stopped = true
            defer { state.handlers = [] }
            return state.handlers
        }
        for handler in handlers { handler() }
    }

    /// Runs `handler` on stop (at once when already stopped).
    public func onStop(_ handler: @escaping @Sendable () -> Void) {
        let runNow = state.withLockedValue { state -> Bool in
            if state.stopped { return true }
            state.handlers.append(handler)
            return false
        }
        if runNow { handler() }
    }
}
