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
    /// `metrics_listen`: where Prometheus metrics (`/metrics`) and the health check (`/health`)
    /// are served: `host:port` or `unix:/path`. Default: none (off): a shipper on a shared host
    /// opens no port it was not asked for. Read at start; a reload does not move it.
    public var metricsListen: ListenAddress?
    /// `stall_timeout`: how long records may wait with none of them acknowledged before
    /// `/health` says delivery is stalled. Default: 30 s.
    public var stallTimeout: Duration = .seconds(30)

    public init() {}
}
