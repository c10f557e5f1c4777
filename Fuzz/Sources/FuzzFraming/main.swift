import FuzzSupport
import NIOCore
import Pipeline
import PipelineConfig

// Input layout: byte 0 picks the framing (max_record_bytes 1…64, truncate or split, multiline
// on or off), byte 1 the read size (1…32 bytes, or 0 for one read of everything); the rest is the
// stream. Records must not depend on how reads cut the stream, so the same bytes are framed in one
// read and in chunks and the two must agree — the property socket and file sources rely on.

/// One record as the sources see it: its stream offset and bytes.
struct Record: Equatable {
    var offset: Int64
    var bytes: [UInt8]
}

func records(_ framed: FramedLines, maxRecordBytes: Int) -> [Record] {
    framed.lines.map { line in
        fuzzCheck(line.range.lowerBound >= 0, "a record starts before its buffer")
        fuzzCheck(line.range.upperBound <= framed.bytes.readableBytes, "a record ends beyond its buffer")
        fuzzCheck(line.range.count <= maxRecordBytes, "a record of \(line.range.count) bytes is over the limit")
        fuzzCheck(!line.range.isEmpty, "an empty record")
        let bytes = framed.withBytes(of: line) { Array($0) }
        fuzzCheck(!bytes.contains(UInt8(ascii: "\n")), "a record holds a newline")
        return Record(offset: line.offset, bytes: bytes)
    }
}

/// Frames `stream` in reads of `readSize` bytes, checking what every read promises.
func frame(_ stream: [UInt8], settings: FramingSettings, readSize: Int) -> (records: [Record], end: Int64) {
    var framer = LineFramer(settings: settings)
    var out: [Record] = []
    var lastEnd: Int64 = 0
    var position = 0
    while position < stream.count {
        let end = min(stream.count, position + readSize)
        let framed = framer.feed(ByteBuffer(bytes: stream[position..<end]))
        position = end
        out += records(framed, maxRecordBytes: settings.maxRecordBytes)
        fuzzCheck(framed.endOffset >= lastEnd, "endOffset went back from \(lastEnd) to \(framed.endOffset)")
        fuzzCheck(framed.endOffset <= Int64(position), "endOffset \(framed.endOffset) beyond the bytes fed")
        fuzzCheck(
            framer.pendingByteCount <= settings.maxRecordBytes + 1,
            "\(framer.pendingByteCount) bytes held back over max_record_bytes \(settings.maxRecordBytes)")
        lastEnd = framed.endOffset
    }
    let last = framer.finish()
    out += records(last, maxRecordBytes: settings.maxRecordBytes)
    fuzzCheck(last.endOffset == Int64(stream.count), "finish ends at \(last.endOffset), not \(stream.count)")
    for (earlier, later) in zip(out, out.dropFirst()) {
        fuzzCheck(earlier.offset < later.offset, "record offsets \(earlier.offset), \(later.offset) not increasing")
    }
    return (out, last.endOffset)
}

/// Joins lines into multi-line records (a Java stack trace's `at …` continuation lines).
func aggregate(_ stream: [UInt8], settings: FramingSettings, maxLines: Int) {
    var multiline = MultilineSettings(rule: .start(#"^\S"#))
    multiline.maxLines = maxLines
    guard var aggregator = try? MultilineAggregator(settings: multiline, maxRecordBytes: settings.maxRecordBytes)
    else {
        fatalError("a fixed pattern did not compile")
    }
    var framer = LineFramer(settings: settings)
    var lastOffset: Int64 = -1
    func check(_ framed: FramedLines) {
        for line in framed.lines {
            fuzzCheck(line.range.upperBound <= framed.bytes.readableBytes, "a joined record ends beyond its buffer")
            fuzzCheck(line.offset > lastOffset, "joined record offsets not increasing")
            lastOffset = line.offset
        }
    }
    check(aggregator.feed(framer.feed(ByteBuffer(bytes: stream))))
    check(aggregator.feed(framer.finish()))
    check(aggregator.flush(endOffset: Int64(stream.count)))
    fuzzCheck(!aggregator.hasPendingRecord, "a record left open after flush")
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFraming(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let input = fuzzInput(data, count)
    guard input.count >= 2 else { return 0 }
    var settings = FramingSettings()
    settings.maxRecordBytes = 1 + Int(input[0] & 0x3F)
    settings.oversize = input[0] & 0x40 == 0 ? .truncate : .split
    let readSize = Int(input[1] & 0x1F)
    let stream = Array(input[2...])

    let whole = frame(stream, settings: settings, readSize: max(1, stream.count))
    if readSize > 0 {
        let chunked = frame(stream, settings: settings, readSize: readSize)
        fuzzCheck(whole.records == chunked.records, "reads of \(readSize) bytes frame differently from one read")
    }
    if input[0] & 0x80 != 0 {
        aggregate(stream, settings: settings, maxLines: 1 + Int(input[1] >> 5))
    }
    return 0
}

runFuzzer(fuzzFraming)
