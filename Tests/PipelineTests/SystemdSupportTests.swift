import Logging
import Testing

@testable import Pipeline
@testable import SystemdSupport

@Suite("systemd support")
struct SystemdSupportTests {
    /// Line breaks of every kind are escaped, including "\r\n", which Swift sees as one
    /// Character equal to neither "\n" nor "\r".
    @Test func logLinesAndStatusStayOneLine() {
        #expect(JournalLogHandler.escaped("a\r\nb\nc\rd") == "a\\r\\nb\\nc\\rd")
        #expect(SystemdNotifier.oneLine("reload failed: x\r\nREADY=1") == "reload failed: x  READY=1")
        #expect(JournalLogHandler.quoted("two words") == "\"two words\"")
        #expect(JournalLogHandler.quoted("plain") == "plain")
    }

    @Test func syslogPriorities() {
        #expect(
            [Logger.Level.debug, .info, .notice, .warning, .error, .critical].map(JournalLogHandler.priority)
                == [7, 6, 5, 4, 3, 2])
    }
}

@Suite("sink gate")
struct SinkGateTests {
    /// A read inside holds a close past its deadline: the close gives up and the gate stays
    /// open. Once the read leaves, a close succeeds and holds the next read until `open()`.
    @Test func closeWaitsForTheReadInsideWithinItsDeadline() async {
        let gate = SinkGate()
        await gate.enter()
        #expect(await gate.close(until: .now + .milliseconds(50)) == false)
        gate.leave()
        #expect(await gate.close(until: .now + .seconds(5)) == true)
        let entered = Completion()
        let reader = Task {
            await gate.enter()
            entered.signal()
            gate.leave()
        }
        try? await Task.sleep(for: .milliseconds(50))
        #expect(!entered.isDone)
        gate.open()
        await reader.value
        #expect(entered.isDone)
    }
}
