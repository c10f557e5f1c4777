/// One entry of `sources`: where records come from and how they are cut and filtered.
public struct SourceConfiguration: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        case file(FileSourceSettings)
        case unixSocket(UnixSocketSourceSettings)
        case stdin
    }

    /// The source's name: its key under `sources`. Records carry it as `source`.
    public var name: String
    /// `type`: `file`, `unix_socket` or `stdin`, with that kind's settings.
    public var kind: Kind
    /// `max_record_bytes` and `oversize`.
    public var framing = FramingSettings()
    /// `include_lines`: regular expressions; when given, only lines matching one of them are
    /// kept. Applied before `exclude_lines`, as Filebeat does. Default: keep every line.
    public var includeLines: [String] = []
    /// `exclude_lines`: regular expressions; lines matching one of them are dropped. Default: none.
    public var excludeLines: [String] = []
    /// `key`: how the records of this source get their key, unless a route says otherwise.
    /// Default: none (null key).
    public var key: KeyExtraction?

    public init(name: String, kind: Kind) {
        self.name = name
        self.kind = kind
    }

    /// The kind's name as the file writes it.
    public var typeName: String {
        switch kind {
        case .file: "file"
        case .unixSocket: "unix_socket"
        case .stdin: "stdin"
        }
    }
}
