import KafkaWire
import NIOCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A blocking TCP connection that sends KafkaWire-encoded frames and reads whole response frames.
/// Deliberately minimal (no NIO, no pipelining) so the smoke test exercises only the codec.
final class PlainKafkaSocket {
    private let fd: Int32
    private var inbound = ByteBuffer()
    private var nextCorrelationId: Int32 = 1
    let clientId = "tributary-smoke"

    init(host: String, port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw SocketError("socket() failed: errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, host, &address.sin_addr)
        var timeout = timeval(tv_sec: 15, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            // Not closed here: a class whose initializer throws once every property is set is
            // deinitialized, and deinit closes it. Closing twice can close a descriptor another
            // thread has opened since (NIO then fails a write with EBADF).
            throw SocketError("connect to \(host):\(port) failed: errno \(errno)")
        }
    }

    deinit { close(fd) }

    /// Sends `request` at `version` and returns the decoded response, checking the correlation id.
    func roundTrip<Request: KafkaRequestMessage, Response: KafkaResponseMessage>(
        _ request: Request, version: Int16, expecting: Response.Type
    ) throws -> Response {
        let (correlationId, payload) = try exchange(request, version: version)
        let (header, body) = try KafkaFrame.readResponse(Response.self, version: version, payload: payload)
        guard header.correlationId == correlationId else {
            throw SocketError("correlation id \(header.correlationId), expected \(correlationId)")
        }
        return body
    }

    /// ApiVersions at `version`, read with the negotiation rule (an UNSUPPORTED_VERSION answer is
    /// not trusted beyond its error code).
    func apiVersions(version: Int16) throws -> ApiVersionsResponse.NegotiationOutcome {
        let (correlationId, payload) = try exchange(
            ApiVersionsRequest(clientSoftwareName: "tributary", clientSoftwareVersion: "0.1.0"), version: version)
        var body = payload
        let header = try KafkaResponseHeader.read(from: &body, headerVersion: 0)
        guard header.correlationId == correlationId else {
            throw SocketError("correlation id \(header.correlationId), expected \(correlationId)")
        }
        return try ApiVersionsResponse.readNegotiating(from: &body, version: version)
    }

    /// Sends one request frame and returns its correlation id and the response payload.
    func exchange<Request: KafkaRequestMessage>(_ request: Request, version: Int16) throws -> (Int32, ByteBuffer) {
        let correlationId = nextCorrelationId
        nextCorrelationId += 1
        var frame = ByteBuffer()
        try KafkaFrame.writeRequest(
            request, version: version, correlationId: correlationId, clientId: clientId, into: &frame)
        try send(frame)
        return (correlationId, try receiveFrame())
    }

    func send(_ frame: ByteBuffer) throws {
        try frame.withUnsafeReadableBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let n = Glibc.send(fd, bytes.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
                guard n > 0 else { throw SocketError("send failed: errno \(errno)") }
                offset += n
            }
        }
    }

    func receiveFrame() throws -> ByteBuffer {
        while true {
            if let frame = try KafkaFrame.readFrame(from: &inbound) { return frame }
            var chunk = [UInt8](repeating: 0, count: 65_536)
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else {
                throw SocketError(n == 0 ? "connection closed by the broker" : "recv failed: errno \(errno)")
            }
            inbound.writeBytes(chunk[0..<n])
        }
    }
}

struct SocketError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
