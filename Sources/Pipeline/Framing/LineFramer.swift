import NIOCore
import PipelineConfig

#if canImport(Glibc)
    import Glibc
#endif

/// Cuts a byte stream into newline-delimited records, bounded by `maxRecordBytes`.
///
/// A pure state machine: `feed` takes what a read returned and gives the complete records; the
/// partial last line is kept for the next read (`finish` gives it up at end of stream). An
/// over-long line is truncated or split as configured and counted; it never stops the stream,
/// and the bytes kept for a partial line never exceed `maxRecordBytes`. Empty lines are skipped.
public struct LineFramer: Sendable {
    public let settings: FramingSettings

    /// The start of an unfinished line, carried from earlier reads.
    private var pending: ByteBuffer
    /// The stream offset of `pending`'s first byte.
    private var pendingOffset: Int64
    /// The stream offset just past everything fed so far.
    private(set) public var streamOffset: Int64
    /// Dropping the rest of a truncated line, up to its newline.
    private var isDiscarding = false
    /// In the middle of a line already split (and counted) in an earlier read.
    private var isSplitting = false

    /// Lines cut short (truncate) or cut into pieces (split).
    public private(set) var oversizedLines = 0

    public init(settings: FramingSettings, startOffset: Int64 = 0) {
        self.settings = settings
        self.pending = ByteBuffer()
        self.pendingOffset = startOffset
        self.streamOffset = startOffset
    }

    /// The bytes of an unfinished line held back.
    public var pendingByteCount: Int { pending.readableBytes }

    /// Takes the next bytes of the stream and returns the records they complete.
    public mutating func feed(_ chunk: ByteBuffer) -> FramedLines {
        var chunk = chunk
        var bytes: ByteBuffer
        if pending.readableBytes == 0 {
            bytes = chunk
        } else {
            bytes = pending
            bytes.writeBuffer(&chunk)
        }
        let baseOffset = pendingOffset
        let oversizedBefore = oversizedLines
        var lines: [FramedLines.Line] = []
        // About one line per 100 bytes of log; growing past it costs a copy, not a failure.
        lines.reserveCapacity(bytes.readableBytes / 96 + 1)
        let maximum = settings.maxRecordBytes
        let total = bytes.readableBytes
        var consumed = 0
        bytes.withUnsafeReadableBytes { raw in
            var start = 0
            while start < total {
                // memchr scans a word at a time; a generic firstIndex(of:) goes byte by byte.
                let newline = memchr(raw.baseAddress! + start, 0x0A, total - start).map {
                    raw.baseAddress!.distance(to: UnsafeRawPointer($0))
                }
                let end = newline ?? total
                if isDiscarding {
                    guard newline != nil else {
                        start = total
                        consumed = total
                        break
                    }
                    isDiscarding = false
                    start = end + 1
                    consumed = start
                    continue
                }
                var lineEnd = end
                if newline != nil, lineEnd > start, raw[lineEnd - 1] == UInt8(ascii: "\r") { lineEnd -= 1 }
                let length = lineEnd - start
                if newline == nil && length <= maximum {
                    break  // a partial line: kept for the next read
                }
                if length > maximum {
                    if !isSplitting { oversizedLines += 1 }
                    switch settings.oversize {
                    case .truncate:
                        lines.append(.init(range: start..<(start + maximum), offset: baseOffset + Int64(start)))
                        if newline == nil {
                            isDiscarding = true
                            start = total
                        } else {
                            start = end + 1
                        }
                    case .split:
                        var piece = start
                        while lineEnd - piece > maximum {
                            lines.append(.init(range: piece..<(piece + maximum), offset: baseOffset + Int64(piece)))
                            piece += maximum
                        }
                        if newline == nil {
                            // The tail stays pending: more of the line may follow.
                            isSplitting = true
                            start = piece
                            consumed = piece
                            break
                        }
                        if lineEnd > piece {
                            lines.append(.init(range: piece..<lineEnd, offset: baseOffset + Int64(piece)))
                        }
                        isSplitting = false
                        start = end + 1
                    }
                    consumed = min(start, total)
                    if newline == nil && settings.oversize == .split { break }
                    continue
                }
                if length > 0 { lines.append(.init(range: start..<lineEnd, offset: baseOffset + Int64(start))) }
                isSplitting = false
                start = end + 1
                consumed = start
            }
        }
        streamOffset = baseOffset + Int64(total)
        let endOffset = baseOffset + Int64(consumed)
        pending = bytes.getSlice(at: bytes.readerIndex + consumed, length: total - consumed) ?? ByteBuffer()
        pendingOffset = endOffset
        return FramedLines(
            bytes: bytes, lines: lines, endOffset: endOffset, oversizedLines: oversizedLines - oversizedBefore)
    }

    /// Ends the stream: the unfinished line, if any, becomes a record.
    public mutating func finish() -> FramedLines {
        defer {
            pending = ByteBuffer()
            pendingOffset = streamOffset
            isDiscarding = false
            isSplitting = false
        }
        var lines: [FramedLines.Line] = []
        var length = pending.readableBytes
        if length > 0, pending.getInteger(at: pending.readerIndex + length - 1, as: UInt8.self) == UInt8(ascii: "\r") {
            length -= 1
        }
        if length > 0 { lines.append(.init(range: 0..<length, offset: pendingOffset)) }
        return FramedLines(bytes: pending, lines: lines, endOffset: streamOffset)
    }
}
