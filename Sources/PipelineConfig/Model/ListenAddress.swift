/// Where a server of the agent listens: `host:port` (`127.0.0.1:9464`, `[::1]:9464`,
/// `localhost:9464`) or `unix:/path` (a UNIX stream socket).
public enum ListenAddress: Sendable, Hashable, CustomStringConvertible {
    /// Port 0 takes any free port (the agent logs the one it got).
    case tcp(host: String, port: Int)
    case unix(path: String)

    /// Parses the text of `agent.metrics_listen`; the error says what is wrong with it.
    public static func parse(_ text: String) -> Result<ListenAddress, ListenAddressError> {
        if text.hasPrefix("unix:") {
            let path = String(text.dropFirst("unix:".count))
            guard path.hasPrefix("/") else { return .failure(.init("a UNIX socket path must be absolute: unix:/path")) }
            // sun_path holds 108 bytes with the terminating NUL.
            guard path.utf8.count < 108 else { return .failure(.init("the socket path is longer than 107 bytes")) }
            return .success(.unix(path: path))
        }
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                return .failure(.init("an IPv6 address is written [address]:port"))
            }
            host = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":") else {
                return .failure(.init("expected host:port (e.g. 127.0.0.1:9464) or unix:/path"))
            }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        guard !host.isEmpty else {
            return .failure(.init("the host is missing (listen on all addresses with 0.0.0.0:port)"))
        }
        guard let port = Int(portText), (0...65535).contains(port) else {
            return .failure(.init("the port must be a number from 0 to 65535"))
        }
        return .success(.tcp(host: String(host), port: port))
    }

    public var description: String {
        switch self {
        case .tcp(let host, let port): host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        case .unix(let path): "unix:\(path)"
        }
    }
}

/// Why a listen address was refused.
public struct ListenAddressError: Error, Sendable, Equatable {
    public var message: String
    init(_ message: String) { self.message = message }
}
