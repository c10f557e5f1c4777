import Pipeline
import Testing

/// `/health`'s decisions, driven with made-up observations and times.
@Suite("health monitor")
struct HealthMonitorTests {
    let start = ContinuousClock.now

    func observe(
        _ monitor: inout HealthMonitor, backlog: Int, acknowledged: Int, reachable: Bool = true, at seconds: Int,
        error: String? = nil
    ) -> PipelineHealth {
        monitor.observe(
            backlog: backlog, recordsAcknowledged: acknowledged, brokersReachable: reachable,
            connectionsOpen: reachable ? 1 : 0, connectionError: error, now: start + .seconds(seconds))
    }

    @Test func startingUntilReadyThenOkWhileDeliveringOrIdle() {
        var monitor = HealthMonitor(stallTimeout: .seconds(30), now: start)
        #expect(observe(&monitor, backlog: 10, acknowledged: 0, at: 1).state == .starting)
        #expect(observe(&monitor, backlog: 10, acknowledged: 0, at: 1).httpStatus == 503)
        monitor.markReady()
        let delivering = observe(&monitor, backlog: 10, acknowledged: 5, at: 2)
        #expect(delivering.state == .ok && delivering.httpStatus == 200)
        // Idle for an hour is not stuck.
        let idle = observe(&monitor, backlog: 0, acknowledged: 15, at: 3600)
        #expect(idle.state == .ok)
        #expect(idle.reason.contains("idle"))
    }

    @Test func stalledOnlyAfterTheTimeoutWithoutAcknowledgements() {
        var monitor = HealthMonitor(stallTimeout: .seconds(30), now: start)
        monitor.markReady()
        #expect(observe(&monitor, backlog: 5, acknowledged: 100, at: 10).state == .ok)
        #expect(observe(&monitor, backlog: 5, acknowledged: 100, at: 39).state == .ok)
        let stalled = observe(&monitor, backlog: 5, acknowledged: 100, at: 40)
        #expect(stalled.state == .stalled && stalled.httpStatus == 503)
        #expect(stalled.reason.contains("5 records wait"))
        #expect(stalled.secondsSinceProgress == 30)
        // One acknowledgement is progress again.
        #expect(observe(&monitor, backlog: 4, acknowledged: 101, at: 41).state == .ok)
    }

    @Test func unreachableBrokersSayWhyAndWinOverStarting() {
        var monitor = HealthMonitor(stallTimeout: .seconds(30), now: start)
        let down = observe(
            &monitor, backlog: 3, acknowledged: 0, reachable: false, at: 1,
            error: "127.0.0.1:9092: connection refused")
        #expect(down.state == .brokersUnreachable && down.httpStatus == 503)
        #expect(down.reason.contains("connection refused") && down.reason.contains("3 records wait"))
        #expect(down.json.contains(#""connection_error":"127.0.0.1:9092: connection refused""#))
    }

    @Test func drainingIsUnhealthyWhateverElseHolds() {
        var monitor = HealthMonitor(stallTimeout: .seconds(30), now: start)
        monitor.markReady()
        monitor.markDraining()
        let draining = observe(&monitor, backlog: 0, acknowledged: 7, at: 1)
        #expect(draining.state == .draining && draining.httpStatus == 503)
    }

    @Test func theBodyIsJSONWithEscapedText() {
        var monitor = HealthMonitor(stallTimeout: .seconds(30), now: start)
        let health = observe(&monitor, backlog: 1, acknowledged: 0, reachable: false, at: 2, error: "a \"b\"\n\u{1}")
        #expect(health.json.hasPrefix(#"{"status":"brokers_unreachable","healthy":false,"reason":"#))
        #expect(health.json.contains(#""connection_error":"a \"b\"\n\u0001""#))
        #expect(health.json.contains(#""backlog":1,"records_acknowledged":0,"seconds_since_progress":2.0"#))
    }
}
