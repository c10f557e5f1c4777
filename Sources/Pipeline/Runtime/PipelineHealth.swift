/// What `/health` answers: whether the agent delivers, and if not, why.
public struct PipelineHealth: Sendable, Equatable {
    public enum State: String, Sendable {
        /// Sources are starting, or no broker answered with metadata yet.
        case starting
        /// Delivering, or nothing to deliver.
        case ok
        /// No broker connection, and the last attempt failed.
        case brokersUnreachable = "brokers_unreachable"
        /// Records wait and none was acknowledged for `agent.stall_timeout`.
        case stalled
        /// Shutdown: reading stopped, what was read is being delivered.
        case draining
    }

    public var state: State
    /// One sentence for people.
    public var reason: String
    /// Records handed to the producer and not yet answered for.
    public var backlog: Int
    public var recordsAcknowledged: Int
    /// Since the last acknowledgement (or since the start, before the first one).
    public var secondsSinceProgress: Double
    public var connectionsOpen: Int
    public var connectionError: String?

    /// 200 only while delivering (or idle); 503 otherwise, so a load balancer or a probe treats
    /// starting, stuck and draining agents alike.
    public var isHealthy: Bool { state == .ok }
    public var httpStatus: Int { isHealthy ? 200 : 503 }

    /// The body of `/health`.
    public var json: String {
        var fields = [
            "\"status\":\"\(state.rawValue)\"", "\"healthy\":\(isHealthy)", "\"reason\":\(JSONWriter.quoted(reason))",
            "\"backlog\":\(backlog)", "\"records_acknowledged\":\(recordsAcknowledged)",
            "\"seconds_since_progress\":\((secondsSinceProgress * 10).rounded() / 10)",
            "\"connections_open\":\(connectionsOpen)",
        ]
        if let connectionError { fields.append("\"connection_error\":\(JSONWriter.quoted(connectionError))") }
        return "{" + fields.joined(separator: ",") + "}"
    }
}

/// Turns what the pipeline observes into `PipelineHealth`. Pure: the pipeline feeds it the
/// counts and the producer's statistics with the time; tests drive it directly.
public struct HealthMonitor: Sendable {
    /// `agent.stall_timeout`.
    public var stallTimeout: Duration
    private var isReady = false
    private var isDraining = false
    private var lastAcknowledged = 0
    private var lastProgress: ContinuousClock.Instant

    public init(stallTimeout: Duration, now: ContinuousClock.Instant) {
        self.stallTimeout = stallTimeout
        self.lastProgress = now
    }

    /// Sources read and the brokers answered (READY=1).
    public mutating func markReady() { isReady = true }
    /// Shutdown began.
    public mutating func markDraining() { isDraining = true }

    public mutating func observe(
        backlog: Int, recordsAcknowledged: Int, brokersReachable: Bool, connectionsOpen: Int,
        connectionError: String?, now: ContinuousClock.Instant
    ) -> PipelineHealth {
        // Idle is progress: with nothing waiting there is nothing to be stuck on.
        if recordsAcknowledged != lastAcknowledged || backlog == 0 {
            lastAcknowledged = recordsAcknowledged
            lastProgress = now
        }
        let waited = now - lastProgress
        let seconds = Double(waited.components.seconds) + Double(waited.components.attoseconds) / 1e18
        var health = PipelineHealth(
            state: .ok, reason: "delivering", backlog: backlog, recordsAcknowledged: recordsAcknowledged,
            secondsSinceProgress: seconds, connectionsOpen: connectionsOpen, connectionError: connectionError)
        if isDraining {
            health.state = .draining
            health.reason = "shutting down: delivering the \(backlog) records still waiting, then exiting"
        } else if !brokersReachable {
            health.state = .brokersUnreachable
            health.reason =
                "no broker connection"
                + (connectionError.map { "; the last attempt failed: \($0)" } ?? "")
                + (backlog > 0 ? "; \(backlog) records wait" : "")
        } else if !isReady {
            health.state = .starting
            health.reason = "waiting for the sources to start and a broker to answer"
        } else if backlog > 0 && waited >= stallTimeout {
            health.state = .stalled
            health.reason =
                "\(backlog) records wait and none was acknowledged for \(Int(seconds)) s (agent.stall_timeout \(stallTimeout))"
        } else if backlog == 0 {
            health.reason = "idle: everything read is delivered"
        }
        return health
    }
}
