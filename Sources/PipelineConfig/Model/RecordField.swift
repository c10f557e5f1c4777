/// A value a template, key or header can take from a record: its metadata, or a field of the
/// JSON object the line holds.
public enum RecordField: Sendable, Hashable, CustomStringConvertible {
    /// The source's name.
    case source
    /// The machine's host name.
    case host
    /// The file the line was read from (file sources), or the socket's path (UNIX sockets).
    case path
    /// The byte offset of the line's start in its file or stream.
    case offset
    /// When the line was read, RFC 3339 in UTC with milliseconds.
    case timestamp
    /// The line itself.
    case message
    /// A field of the line parsed as a JSON object, by path (`json.user.id` is `["user", "id"]`).
    case json([String])
    /// The process ID the kernel recorded (SO_PEERCRED) for the writer of a stream UNIX socket
    /// connection, when it connected.
    case peerPID
    /// The user ID of a stream UNIX socket connection's writer (SO_PEERCRED).
    case peerUID
    /// The group ID of a stream UNIX socket connection's writer (SO_PEERCRED).
    case peerGID

    /// The names a template may use, for error messages.
    static let metadataNames = [
        "source", "host", "path", "offset", "timestamp", "message", "peer_pid", "peer_uid", "peer_gid", "json.<field>",
    ]

    /// Reads `source`, `json.user.id`, …; nil for an unknown name.
    init?(name: String) {
        switch name {
        case "source": self = .source
        case "host": self = .host
        case "path": self = .path
        case "offset": self = .offset
        case "timestamp": self = .timestamp
        case "message": self = .message
        case "peer_pid": self = .peerPID
        case "peer_uid": self = .peerUID
        case "peer_gid": self = .peerGID
        default:
            guard name.hasPrefix("json.") else { return nil }
            let parts = name.dropFirst(5).split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            guard !parts.contains(where: \.isEmpty) else { return nil }
            self = .json(parts)
        }
    }

    /// Whether every record of every source has this field. A `path` is missing on stdin, a JSON
    /// field on any line that lacks it. The peer fields are refused for sources that lack them,
    /// so every record that reaches a template using them has them.
    public var isAlwaysPresent: Bool {
        switch self {
        case .source, .host, .offset, .timestamp, .message, .peerPID, .peerUID, .peerGID: true
        case .path, .json: false
        }
    }

    /// Whether only records of `socket_type: stream` UNIX socket sources have the field.
    public var isPeerCredential: Bool {
        switch self {
        case .peerPID, .peerUID, .peerGID: true
        default: false
        }
    }

    /// Whether the field's values can be part of a topic name: a path has `/`, a timestamp `:`,
    /// an offset changes with every record, a message is anything, and a topic per writer
    /// process would grow without bound.
    public var fitsTopicNames: Bool {
        switch self {
        case .source, .host, .json: true
        case .path, .offset, .timestamp, .message, .peerPID, .peerUID, .peerGID: false
        }
    }

    public var description: String {
        switch self {
        case .source: "source"
        case .host: "host"
        case .path: "path"
        case .offset: "offset"
        case .timestamp: "timestamp"
        case .message: "message"
        case .json(let path): "json." + path.joined(separator: ".")
        case .peerPID: "peer_pid"
        case .peerUID: "peer_uid"
        case .peerGID: "peer_gid"
        }
    }
}
