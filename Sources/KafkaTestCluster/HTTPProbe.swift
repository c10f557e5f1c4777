import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A blocking HTTP/1.1 GET over TCP (IPv4) or a UNIX socket, written against the sockets API
/// so that the server under test is read by code that shares nothing with it.
public enum HTTPProbe {
    public struct Response: Sendable {
        public var status: Int
        public var headers: [String: String]
        public var body: String
    }

    public struct ProbeError: Error, CustomStringConvertible {
        public var description: String
    }

    /// A connected socket to `address`: `host:port` (IPv4) or `unix:/path`, as the agent logs it.
    public static func connect(_ address: String) throws -> CInt {
        let fd: CInt
        if address.hasPrefix("unix:") {
            fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            var remote = sockaddr_un()
            remote.sun_family = sa_family_t(AF_UNIX)
            let socketPath = Array(address.dropFirst(5).utf8)
            withUnsafeMutableBytes(of: &remote.sun_path) { raw in
                for (index, byte) in socketPath.enumerated() where index < raw.count - 1 { raw[index] = byte }
            }
            try connectOrThrow(fd, &remote, MemoryLayout<sockaddr_un>.size, address)
        } else {
            guard let colon = address.lastIndex(of: ":"), let port = UInt16(address[address.index(after: colon)...])
            else { throw ProbeError(description: "not host:port: \(address)") }
            fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var remote = sockaddr_in()
            remote.sin_family = sa_family_t(AF_INET)
            remote.sin_port = port.bigEndian
            inet_pton(AF_INET, String(address[..<colon]), &remote.sin_addr)
            try connectOrThrow(fd, &remote, MemoryLayout<sockaddr_in>.size, address)
        }
        return fd
    }

    /// A GET of `path` on `address` (see `connect`).
    public static func get(_ address: String, path: String, timeoutSeconds: Int = 10) throws -> Response {
        let fd = try connect(address)
        defer { close(fd) }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let request = Array("GET \(path) HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".utf8)
        guard request.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == request.count else {
            throw ProbeError(description: "write to \(address) failed: errno \(errno)")
        }
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 { throw ProbeError(description: "read from \(address) failed: errno \(errno)") }
            if count == 0 { break }
            received.append(contentsOf: chunk[0..<count])
        }
        return try parse(received, from: address)
    }

    private static func connectOrThrow<Address>(
        _ fd: CInt, _ address: inout Address, _ size: Int, _ name: String
    ) throws {
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(size)) }
        }
        guard result == 0 else {
            let code = errno
            close(fd)
            throw ProbeError(description: "connect to \(name) failed: errno \(code)")
        }
    }

    /// Status line, headers, and a body of exactly Content-Length bytes.
    static func parse(_ bytes: [UInt8], from address: String) throws -> Response {
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        guard
            let end = (0...(max(0, bytes.count - 4))).first(where: {
                Array(bytes[$0..<min($0 + 4, bytes.count)]) == separator
            })
        else { throw ProbeError(description: "no complete response head from \(address)") }
        let head = String(decoding: bytes[0..<end], as: UTF8.self).components(separatedBy: "\r\n")
        let statusParts = head[0].split(separator: " ")
        guard statusParts.count >= 2, statusParts[0].hasPrefix("HTTP/1."), let status = Int(statusParts[1]) else {
            throw ProbeError(description: "bad status line from \(address): \(head[0])")
        }
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(
                in: .whitespaces)
        }
        let body = Array(bytes[(end + 4)...])
        if let length = headers["content-length"].flatMap(Int.init), length != body.count {
            throw ProbeError(description: "Content-Length \(length) but \(body.count) body bytes from \(address)")
        }
        return Response(status: status, headers: headers, body: String(decoding: body, as: UTF8.self))
    }
}
