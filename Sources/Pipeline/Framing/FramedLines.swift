import NIOCore

/// Records cut from one read: the bytes, and where each record lies in them and in its stream.
///
/// Batch-oriented: one buffer and one array per read, however many lines it holds; a record's
/// key and value are slices of `bytes`, never copies.
public struct FramedLines: Sendable {
    /// One record.
    public struct Line: Sendable, Hashable {
        /// Where the record's bytes are in `bytes` (without the newline or a trailing `\r`).
        public var range: Range<Int>
        /// The stream offset of the record's first byte.
        public var offset: Int64
    }

    /// The bytes the lines point into.
    public var bytes: ByteBuffer
    public var lines: [Line]
    /// The stream offset just past the last byte consumed: where a reader resumes once every
    /// record up to here is acknowledged. It includes the last newline, and the bytes of a
    /// truncated line that were dropped.
    public var endOffset: Int64
    /// Lines of this read that were over `max_record_bytes` (truncated or split).
    public var oversizedLines: Int

    public init(bytes: ByteBuffer, lines: [Line], endOffset: Int64, oversizedLines: Int = 0) {
        self.bytes = bytes
        self.lines = lines
        self.endOffset = endOffset
        self.oversizedLines = oversizedLines
    }

    public var isEmpty: Bool { lines.isEmpty }

    /// The record's bytes as a slice of `bytes`.
    public func slice(_ line: Line) -> ByteBuffer {
        bytes.getSlice(at: bytes.readerIndex + line.range.lowerBound, length: line.range.count)!
    }

    /// Calls `body` with the record's bytes.
    public func withBytes<R>(of line: Line, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try bytes.withUnsafeReadableBytes { all in
            try body(UnsafeRawBufferPointer(rebasing: all[line.range]))
        }
    }

    /// The record as text (invalid UTF-8 repaired), for regex filters and templates.
    public func string(_ line: Line) -> String {
        withBytes(of: line) { String(decoding: $0, as: UTF8.self) }
    }
}
