import NIOCore
import PipelineConfig

#if canImport(Glibc)
    import Glibc
#endif

/// What a record knows besides its bytes: the fields templates, keys, headers and the JSON
/// envelope read. (SPI for the micro-benchmarks.)
@_spi(Benchmarking)
public struct LineContext {
    let source: String
    let host: String
    /// The file or socket path; nil for stdin.
    let path: String?
    /// When the batch was read, milliseconds since the epoch (also the record's timestamp).
    let timestamp: Int64
    /// `timestamp` as RFC 3339, formatted once per batch.
    let timestampText: String
    /// The writer of the connection the lines came from; nil for every other source.
    let peer: PeerCredentials?
    let lines: FramedLines
    public var line: FramedLines.Line

    public init(
        source: String, host: String, path: String?, timestamp: Int64, timestampText: String,
        peer: PeerCredentials? = nil, lines: FramedLines, line: FramedLines.Line
    ) {
        self.source = source
        self.host = host
        self.path = path
        self.timestamp = timestamp
        self.timestampText = timestampText
        self.peer = peer
        self.lines = lines
        self.line = line
    }

    /// A field's text, or nil when the record does not have it.
    func value(of field: RecordField) -> String? {
        switch field {
        case .source: source
        case .host: host
        case .path: path
        case .offset: String(line.offset)
        case .timestamp: timestampText
        case .message: lines.string(line)
        case .json(let path): lines.withBytes(of: line) { JSONFieldScanner.value(at: path, in: $0) }
        case .peerPID: peer?.pidText
        case .peerUID: peer?.uidText
        case .peerGID: peer?.gidText
        }
    }

    /// A template rendered for this record; nil when a field it uses is missing.
    func render(_ template: RecordTemplate) -> String? {
        if let constant = template.constant { return constant }
        var text = ""
        for part in template.parts {
            switch part {
            case .literal(let literal): text += literal
            case .field(let field):
                guard let value = value(of: field) else { return nil }
                text += value
            }
        }
        return text
    }

    /// RFC 3339 with milliseconds, UTC: `2026-12-02T14:46:50.123Z`.
    public static func rfc3339(milliseconds: Int64) -> String {
        var seconds = time_t(milliseconds / 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(Int32(milliseconds % 1000), 3))Z"
    }

    static func nowMilliseconds() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000
    }
}
