import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A TCP listener on 127.0.0.1 that accepts every connection and reads what it is sent, but
/// never answers: a broker whose process hangs with its socket still open. Connects succeed, so
/// only a client's request timeout can get it past this address.
final class SilentBroker: @unchecked Sendable {
    // @unchecked: `accepted` and `isClosed` are guarded by `lock`; the thread owns the sockets.
    let port: Int
    private let listener: CInt
    private let lock = NSLock()
    private var connections: [CInt] = []
    private var acceptedCount = 0
    private var bytesRead = 0
    private var isClosed = false
    /// Signalled by the thread once it has closed every socket.
    private let finished = DispatchSemaphore(value: 0)

    init() throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw POSIXError(.EMFILE) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(descriptor, 16) == 0 else {
            Glibc.close(descriptor)
            throw POSIXError(.EADDRINUSE)
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        listener = descriptor
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread { [self] in serve() }.start()
    }

    deinit { close() }

    var address: String { "127.0.0.1:\(port)" }

    /// Connections accepted so far, and the bytes read from them: proof that a client came.
    var observed: (connections: Int, bytes: Int) { lock.withLock { (acceptedCount, bytesRead) } }

    /// Only this thread closes the sockets, on its way out: closed from another thread, a
    /// number could be reused (by a socket of the test process) before this poll or recv runs.
    private func serve() {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let open = lock.withLock { isClosed ? nil : connections }
            guard let open else {
                for descriptor in lock.withLock({ connections }) { Glibc.close(descriptor) }
                Glibc.close(listener)
                finished.signal()
                return
            }
            var descriptors = [pollfd(fd: listener, events: Int16(POLLIN), revents: 0)]
            descriptors += open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            guard poll(&descriptors, nfds_t(descriptors.count), 100) > 0 else { continue }
            if descriptors[0].revents != 0 {
                let connection = accept(listener, nil, nil)
                if connection >= 0 {
                    lock.withLock {
                        connections.append(connection)
                        acceptedCount += 1
                    }
                }
            }
            for entry in descriptors.dropFirst() where entry.revents != 0 {
                let count = recv(entry.fd, &buffer, buffer.count, 0)
                lock.withLock {
                    if count > 0 {
                        bytesRead += count
                    } else {
                        // The client gave up (its timeout): forget the connection.
                        connections.removeAll { $0 == entry.fd }
                        Glibc.close(entry.fd)
                    }
                }
            }
        }
    }

    /// Returns once the thread has closed the listener and every connection.
    func close() {
        let first = lock.withLock { () -> Bool in
            defer { isClosed = true }
            return !isClosed
        }
        if first { finished.wait() }
    }
}
