import NIOCore
import PipelineConfig
import Testing

@testable import Pipeline

@Suite("multiline records")
struct MultilineAggregatorTests {
    static let javaLog = """
        2026-12-02 10:00:01 INFO started
        2026-12-02 10:00:02 ERROR request failed
        java.lang.IllegalStateException: boom
            at com.example.Handler.handle(Handler.java:42)
            at com.example.Server.run(Server.java:7)
        Caused by: java.io.IOException: closed
            ... 2 more
        2026-12-02 10:00:03 INFO recovered

        """

    static func run(
        _ text: String, rule: MultilineSettings.Rule, negate: Bool = false, maxLines: Int = 500, cuts: [Int] = []
    ) throws -> (records: [String], offsets: [Int64], ends: [Int64], aggregator: MultilineAggregator) {
        var settings = MultilineSettings(rule: rule)
        settings.negate = negate
        settings.maxLines = maxLines
        var aggregator = try MultilineAggregator(settings: settings, maxRecordBytes: 1 << 20)
        var framer = LineFramer(settings: FramingSettings())
        var records: [String] = []
        var offsets: [Int64] = []
        var ends: [Int64] = []
        let bytes = Array(text.utf8)
        var start = 0
        for cut in cuts + [bytes.count] where cut >= start {
            let out = aggregator.feed(framer.feed(ByteBuffer(bytes: bytes[start..<cut])))
            records += out.lines.map { out.string($0) }
            offsets += out.lines.map(\.offset)
            ends.append(out.endOffset)
            start = cut
        }
        let rest = aggregator.flush(endOffset: framer.streamOffset)
        records += rest.lines.map { rest.string($0) }
        offsets += rest.lines.map(\.offset)
        return (records, offsets, ends, aggregator)
    }

    static let expectedJava = [
        "2026-12-02 10:00:01 INFO started",
        "2026-12-02 10:00:02 ERROR request failed\njava.lang.IllegalStateException: boom\n    at com.example.Handler.handle(Handler.java:42)\n    at com.example.Server.run(Server.java:7)\nCaused by: java.io.IOException: closed\n    ... 2 more",
        "2026-12-02 10:00:03 INFO recovered",
    ]

    /// A record starts at a time stamp; however the file is cut into reads, the records are the same.
    @Test func startPatternJoinsAJavaStackTrace() throws {
        let whole = try Self.run(Self.javaLog, rule: .start(#"^\d{4}-\d{2}-\d{2} "#))
        #expect(whole.records == Self.expectedJava)
        #expect(whole.offsets == [0, 33, Int64(Self.javaLog.utf8.count - 35)])
        for cut in stride(from: 0, to: Self.javaLog.utf8.count, by: 7) {
            #expect(
                try Self.run(Self.javaLog, rule: .start(#"^\d{4}-\d{2}-\d{2} "#), cuts: [cut]).records
                    == Self.expectedJava)
        }
    }

    /// The same with a continuation pattern (indented, "Caused by", a Java exception line) and
    /// with a negated start pattern.
    @Test func continuationAndNegatedPatterns() throws {
        let continuation = try Self.run(
            Self.javaLog, rule: .continuation(#"^(\s|Caused by:|java\.)"#))
        #expect(continuation.records == Self.expectedJava)
        let negated = try Self.run(Self.javaLog, rule: .continuation(#"^\d{4}-"#), negate: true)
        #expect(negated.records == Self.expectedJava)
    }

    /// The batch's end never passes an open record: a checkpoint there makes a restart read the
    /// record again from its first line.
    @Test func theEndOffsetStopsBeforeTheOpenRecord() throws {
        let first = "2026-12-02 10:00:02 ERROR request failed\n"
        let text = first + "    at a\n    at b\n2026-12-02 10:00:03 INFO next\n"
        let run = try Self.run(text, rule: .start(#"^\d{4}-"#), cuts: [first.utf8.count + 9])
        // After the first read the error record is open: the end stays at its start (0).
        #expect(run.ends.first == 0)
        // The second read closes it: the end is where the next (still open) record starts.
        #expect(run.ends.last == Int64(first.utf8.count + 18))
        #expect(run.records.count == 2)
    }

    @Test func maxLinesCutsLongRecords() throws {
        let text = "start\n" + (0..<7).map { " c\($0)\n" }.joined()
        let run = try Self.run(text, rule: .start("^start"), maxLines: 3)
        #expect(run.records == ["start\n c0\n c1", " c2\n c3\n c4", " c5\n c6"])
        #expect(run.aggregator.cutRecords == 2)
    }

    @Test func aRecordOpenTooLongIsDue() throws {
        var aggregator = try MultilineAggregator(
            settings: {
                var s = MultilineSettings(rule: .start("^S")); s.timeout = .milliseconds(100); return s
            }(),
            maxRecordBytes: 1024)
        var framer = LineFramer(settings: FramingSettings())
        let start = ContinuousClock.now
        _ = aggregator.feed(framer.feed(ByteBuffer(string: "S one\n more\n")), now: start)
        #expect(aggregator.hasPendingRecord && !aggregator.isDue(now: start + .milliseconds(50)))
        #expect(aggregator.isDue(now: start + .milliseconds(150)))
        let flushed = aggregator.flush(endOffset: framer.streamOffset)
        #expect(flushed.lines.map { flushed.string($0) } == ["S one\n more"] && flushed.endOffset == 12)
    }
}
