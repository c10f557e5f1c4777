import NIOCore
import NIOPosix

#if canImport(Glibc)
    import Glibc
#endif

/// Reads a descriptor (stdin, a regular file) on a thread of an `NIOThreadPool`, so blocking
/// reads never hold the cooperative pool. A read waits at most `pollInterval` for data, so a
/// stop is noticed without closing the descriptor under the reader.
struct BlockingReader: Sendable {
    enum Outcome: Sendable {
        case data(ByteBuffer)
        /// Nothing to read yet.
        case idle
        case endOfFile
    }

    let threadPool: NIOThreadPool
    let chunkSize: Int

    /// One read of up to `chunkSize` bytes. `waitForData` polls first (pipes, terminals,
    /// sockets); regular files are always readable and skip it.
    func read(_ descriptor: CInt, waitForData: Bool, pollInterval: Duration, maximum: Int? = nil) async throws
        -> Outcome
    {
        let chunkSize = maximum ?? self.chunkSize
        let timeout = Int32(
            pollInterval.components.seconds * 1000 + pollInterval.components.attoseconds / 1_000_000_000_000_000)
        return try await threadPool.runIfActive {
            if waitForData {
                var pollDescriptor = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
                let ready = poll(&pollDescriptor, 1, timeout)
                if ready == 0 { return .idle }
                if ready < 0 {
                    if errno == EINTR { return .idle }
                    throw IOError(errnoCode: errno, reason: "poll")
                }
            }
            var buffer = ByteBufferAllocator().buffer(capacity: chunkSize)
            while true {
                let count = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: chunkSize) { pointer in
                    Glibc.read(descriptor, pointer.baseAddress, chunkSize)
                }
                if count > 0 { return .data(buffer) }
                if count == 0 { return .endOfFile }
                if errno == EINTR { continue }
                if errno == EAGAIN { return .idle }
                throw IOError(errnoCode: errno, reason: "read")
            }
        }
    }

    /// One datagram of up to `capacity` bytes, and its full length; nil when none came within
    /// 100 ms.
    func receive(_ descriptor: CInt, capacity: Int) async throws -> (ByteBuffer, Int)? {
        try await threadPool.runIfActive { () throws -> (ByteBuffer, Int)? in
            var pollDescriptor = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            let ready = poll(&pollDescriptor, 1, 100)
            if ready == 0 || (ready < 0 && errno == EINTR) { return nil }
            if ready < 0 { throw IOError(errnoCode: errno, reason: "poll") }
            var buffer = ByteBufferAllocator().buffer(capacity: capacity)
            var length = 0
            while true {
                var received = 0
                _ = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: capacity) { pointer in
                    received = recv(descriptor, pointer.baseAddress, capacity, Int32(MSG_TRUNC))
                    return max(0, min(received, capacity))
                }
                if received >= 0 {
                    length = received
                    break
                }
                if errno == EINTR { continue }
                if errno == EAGAIN { return nil }
                throw IOError(errnoCode: errno, reason: "recv")
            }
            return (buffer, length)
        }
    }
}
