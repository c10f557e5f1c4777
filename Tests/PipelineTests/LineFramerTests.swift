import NIOCore
import PipelineConfig
import Testing

@testable import Pipeline

@Suite("line framing")
struct LineFramerTests {
    static func settings(_ maximum: Int = 1024, _ oversize: FramingSettings.Oversize = .truncate) -> FramingSettings {
        var settings = FramingSettings()
        settings.maxRecordBytes = maximum
        settings.oversize = oversize
        return settings
    }

    /// Feeds `input` cut at `cuts`, then finishes; returns (record text, offset) pairs.
    static func frame(_ input: String, cuts: [Int], settings: FramingSettings) -> ([(String, Int64)], Int) {
        var framer = LineFramer(settings: settings)
        let bytes = Array(input.utf8)
        var records: [(String, Int64)] = []
        var start = 0
        for cut in cuts + [bytes.count] where cut >= start {
            let lines = framer.feed(ByteBuffer(bytes: bytes[start..<cut]))
            records += lines.lines.map { (lines.string($0), $0.offset) }
            start = cut
        }
        let rest = framer.finish()
        records += rest.lines.map { (rest.string($0), $0.offset) }
        return (records, framer.oversizedLines)
    }

    static let sample = "GET /a 200\r\nPOST /b 201\n\n{\"k\":1}\nlast without newline"

    /// Every way of cutting the stream into two reads gives the same records and offsets.
    @Test func everySplitGivesTheSameRecords() {
        let (whole, _) = Self.frame(Self.sample, cuts: [], settings: Self.settings())
        #expect(whole.map(\.0) == ["GET /a 200", "POST /b 201", "{\"k\":1}", "last without newline"])
        #expect(whole.map(\.1) == [0, 12, 25, 33])
        for cut in 0...Self.sample.utf8.count {
            let (split, _) = Self.frame(Self.sample, cuts: [cut], settings: Self.settings())
            #expect(split.map(\.0) == whole.map(\.0), "cut at \(cut)")
            #expect(split.map(\.1) == whole.map(\.1), "cut at \(cut)")
        }
        let byteByByte = Self.frame(Self.sample, cuts: Array(0...Self.sample.utf8.count), settings: Self.settings()).0
        #expect(byteByByte.map(\.0) == whole.map(\.0))
    }

    @Test func endOffsetCoversCompleteLinesOnly() {
        var framer = LineFramer(settings: Self.settings(), startOffset: 100)
        let lines = framer.feed(ByteBuffer(string: "ab\ncd"))
        #expect(lines.lines.map { lines.string($0) } == ["ab"])
        #expect(lines.endOffset == 103)
        #expect(framer.pendingByteCount == 2)
        let more = framer.feed(ByteBuffer(string: "e\n"))
        #expect(more.lines.map { more.string($0) } == ["cde"] && more.lines[0].offset == 103 && more.endOffset == 107)
    }

    @Test func truncatesLongLinesAndCountsThem() {
        let input = "short\n" + String(repeating: "x", count: 25) + "\nnext\n"
        for cut in [0, 3, 8, 12, 20, 31, 33] {
            let (records, oversized) = Self.frame(input, cuts: [cut], settings: Self.settings(10, .truncate))
            #expect(records.map(\.0) == ["short", String(repeating: "x", count: 10), "next"], "cut at \(cut)")
            #expect(records.map(\.1) == [0, 6, 32], "cut at \(cut)")
            #expect(oversized == 1)
        }
    }

    @Test func splitsLongLinesAndCountsThem() {
        let long = (0..<25).map { String($0 % 10) }.joined()
        let input = long + "\nnext\n"
        for cut in [0, 5, 10, 11, 24, 26] {
            let (records, oversized) = Self.frame(input, cuts: [cut], settings: Self.settings(10, .split))
            #expect(records.map(\.0) == ["0123456789", "0123456789", "01234", "next"], "cut at \(cut)")
            #expect(records.map(\.1) == [0, 10, 20, 26], "cut at \(cut)")
            #expect(oversized == 1)
        }
    }

    /// A writer that never sends a newline cannot make the framer hold more than the limit.
    @Test func pendingBytesStayBounded() {
        var framer = LineFramer(settings: Self.settings(64, .truncate))
        var records = 0
        for _ in 0..<100 {
            let lines = framer.feed(ByteBuffer(repeating: UInt8(ascii: "a"), count: 1000))
            records += lines.lines.count
            #expect(framer.pendingByteCount <= 64)
        }
        #expect(records == 1 && framer.oversizedLines == 1)
    }
}
