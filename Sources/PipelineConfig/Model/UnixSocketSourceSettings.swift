/// A `type: unix_socket` source: a listening UNIX socket that applications write lines to.
public struct UnixSocketSourceSettings: Sendable, Hashable {
    public enum SocketType: String, Sendable, Hashable {
        /// SOCK_STREAM: connections, newline-delimited records.
        case stream
        /// SOCK_DGRAM: each datagram holds one record (or several, newline-delimited).
        case datagram
    }

    /// `path`: where the socket is created. Required unless `systemd_socket` is given; with it,
    /// the path is only used in record metadata.
    public var path: String?
    /// `systemd_socket`: take the socket systemd's socket activation hands over under this
    /// `FileDescriptorName=` instead of creating one. Default: none.
    public var systemdSocket: String?
    /// `socket_type`: `stream` or `datagram`. Default: `stream`.
    public var socketType: SocketType = .stream
    /// `mode`: the socket file's permissions, octal. Default: `0660`, so only the owner and the
    /// group may write records.
    public var mode: UInt32 = 0o660
    /// `owner`: the socket file's owner, a user name or number. Default: the agent's user.
    public var owner: String?
    /// `group`: the socket file's group, a group name or number. Default: the agent's group.
    public var group: String?
    /// `max_connections`: how many stream connections may be open at once; one more is closed
    /// as soon as it is accepted, so a flood of writers cannot exhaust the agent's descriptors.
    /// Stream sockets only. Default: 64.
    public var maxConnections = 64

    public init(path: String?) {
        self.path = path
    }
}
