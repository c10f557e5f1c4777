import NIOCore
import PipelineConfig

/// Joins a file's lines into multi-line records (stack traces, tracebacks) by a start or a
/// continuation pattern.
///
/// A pure state machine over `FramedLines`: `feed` returns the records completed by these lines,
/// keeping the last, still open record; `flush` gives it up (its timeout passed, or the file
/// ended). A record's lines are joined with "\n". The batch's `endOffset` is where the first
/// line not yet given out starts, so a checkpoint never falls inside a record: after a restart,
/// an open record is read again from its first line.
public struct MultilineAggregator: @unchecked Sendable {
    // @unchecked: the regex is immutable after construction; it is only read.
    public let settings: MultilineSettings
    private let regex: Regex<AnyRegexOutput>
    private let maxBytes: Int

    /// The open record's bytes (its lines joined), first line's offset, line count, and when
    /// its last line came.
    private var pending = ByteBuffer()
    private var pendingOffset: Int64?
    private var pendingLines = 0
    private var pendingSince: ContinuousClock.Instant = .now
    /// Records cut at max_lines or max_bytes.
    public private(set) var cutRecords = 0

    public init(settings: MultilineSettings, maxRecordBytes: Int) throws {
        self.settings = settings
        switch settings.rule {
        case .start(let pattern), .continuation(let pattern): regex = try Regex(pattern)
        }
        maxBytes = settings.maxBytes ?? maxRecordBytes
    }

    public var hasPendingRecord: Bool { pendingOffset != nil }

    /// Whether the open record waited `timeout` for another line.
    public func isDue(now: ContinuousClock.Instant) -> Bool {
        pendingOffset != nil && now - pendingSince >= settings.timeout
    }

    /// Whether `line` starts a new record.
    private func startsRecord(_ line: String) -> Bool {
        let matches = (try? regex.firstMatch(in: line)) != nil
        let hit = matches != settings.negate
        switch settings.rule {
        case .start: return hit
        case .continuation: return !hit
        }
    }

    /// The records these lines complete.
    public mutating func feed(_ input: FramedLines, now: ContinuousClock.Instant = .now) -> FramedLines {
        var output = ByteBuffer()
        var lines: [FramedLines.Line] = []
        var cut = 0
        for line in input.lines {
            let text = input.string(line)
            let joins =
                pendingOffset != nil && !startsRecord(text) && pendingLines < settings.maxLines
                && pending.readableBytes + 1 + line.range.count <= maxBytes
            if pendingOffset != nil && !joins {
                if !startsRecord(text) { cut += 1 }
                emit(into: &output, &lines)
            }
            if pendingOffset == nil {
                pendingOffset = line.offset
                pendingLines = 0
            } else {
                pending.writeInteger(UInt8(ascii: "\n"))
            }
            input.withBytes(of: line) { _ = pending.writeBytes($0) }
            pendingLines += 1
            pendingSince = now
        }
        cutRecords += cut
        return FramedLines(
            bytes: output, lines: lines, endOffset: pendingOffset ?? input.endOffset,
            oversizedLines: input.oversizedLines)
    }

    /// Gives up the open record; `endOffset` is where reading stands (the framer's end).
    public mutating func flush(endOffset: Int64) -> FramedLines {
        var output = ByteBuffer()
        var lines: [FramedLines.Line] = []
        if pendingOffset != nil { emit(into: &output, &lines) }
        return FramedLines(bytes: output, lines: lines, endOffset: endOffset)
    }

    private mutating func emit(into output: inout ByteBuffer, _ lines: inout [FramedLines.Line]) {
        guard let offset = pendingOffset else { return }
        let start = output.readableBytes
        output.writeBuffer(&pending)
        lines.append(.init(range: start..<output.readableBytes, offset: offset))
        pending.clear()
        pendingOffset = nil
        pendingLines = 0
    }
}
