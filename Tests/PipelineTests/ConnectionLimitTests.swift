import Testing

@testable import Pipeline

/// `max_connections`'s decisions, without sockets.
@Suite("stream socket connection limit")
struct ConnectionLimitTests {
    @Test func keepsUpToTheMaximumAndReportsEachBurstOnce() {
        var limit = ConnectionLimit(maximum: 2)
        #expect(limit.accepted() == .keep(endedBurst: nil))
        #expect(limit.accepted() == .keep(endedBurst: nil))
        #expect(limit.accepted() == .refuse(startsBurst: true))
        #expect(limit.accepted() == .refuse(startsBurst: false))
        #expect(limit.accepted() == .refuse(startsBurst: false))
        limit.closed()
        #expect(limit.accepted() == .keep(endedBurst: 3))
        #expect(limit.accepted() == .refuse(startsBurst: true))
        limit.closed()
        limit.closed()
        #expect(limit.open == 0)
        #expect(limit.accepted() == .keep(endedBurst: 1))
        #expect(limit.accepted() == .keep(endedBurst: nil))
    }

    @Test func aRefusedConnectionTakesNoPlace() {
        var limit = ConnectionLimit(maximum: 1)
        #expect(limit.accepted() == .keep(endedBurst: nil))
        for _ in 0..<100 { _ = limit.accepted() }
        #expect(limit.open == 1)
    }
}
