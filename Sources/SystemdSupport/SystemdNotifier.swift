import CSystemd

#if canImport(Glibc)
    import Glibc
#endif

/// Tells systemd how the service is doing, through libsystemd's `sd_notify` (which reads
/// `NOTIFY_SOCKET`; without it every call is a no-op, so the agent runs the same outside systemd).
public struct SystemdNotifier: Sendable {
    public init() {}

    /// Whether a service manager listens (`NOTIFY_SOCKET` is set).
    public var isEnabled: Bool { getenv("NOTIFY_SOCKET") != nil }

    /// Sends newline-separated `KEY=value` assignments.
    public func notify(_ state: String) {
        _ = sd_notify(0, state)
    }

    /// READY=1, with the status line.
    public func ready(status: String) {
        notify("READY=1\nSTATUS=\(Self.oneLine(status))")
    }

    /// RELOADING=1 with the monotonic time systemd's `Type=notify-reload` wants.
    public func reloading() {
        notify("RELOADING=1\nMONOTONIC_USEC=\(Self.monotonicMicroseconds())")
    }

    public func stopping(status: String) {
        notify("STOPPING=1\nSTATUS=\(Self.oneLine(status))")
    }

    public func status(_ text: String) {
        notify("STATUS=\(Self.oneLine(text))")
    }

    public func watchdog() {
        notify("WATCHDOG=1")
    }

    /// The watchdog interval systemd expects pings within (`WatchdogSec=`), if it set one.
    public var watchdogInterval: Duration? {
        var microseconds: UInt64 = 0
        guard sd_watchdog_enabled(0, &microseconds) > 0, microseconds > 0 else { return nil }
        return .microseconds(Int64(microseconds))
    }

    /// STATUS= is one line; newlines would end the assignment.
    static func oneLine(_ text: String) -> String {
        var scalars = String.UnicodeScalarView()
        for scalar in text.unicodeScalars { scalars.append(scalar == "\n" || scalar == "\r" ? " " : scalar) }
        return String(scalars)
    }

    static func monotonicMicroseconds() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return UInt64(spec.tv_sec) * 1_000_000 + UInt64(spec.tv_nsec) / 1000
    }
}
