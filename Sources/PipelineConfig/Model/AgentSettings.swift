/// The `agent` section: how the agent itself runs.
public struct AgentSettings: Sendable, Hashable {
    /// `state_dir`: where the agent keeps its state (file checkpoints). Default:
    /// `/var/lib/tributary`, systemd's `StateDirectory=tributary`.
    public var stateDirectory: String = "/var/lib/tributary"
    /// `shutdown_timeout`: how long SIGTERM may take to deliver what was read before the agent
    /// gives up, says how many records were not delivered, and exits non-zero. Keep it below
    /// systemd's `TimeoutStopSec`. Default: 30 s.
    public var shutdownTimeout: Duration = .seconds(30)
    /// `status_interval`: how often the one-line summary is sent to systemd (STATUS=) and logged
    /// at debug level. Default: 5 s.
    public var statusInterval: Duration = .seconds(5)

    public init() {}
}
