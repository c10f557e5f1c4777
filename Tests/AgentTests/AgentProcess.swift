import Foundation
import KafkaTestCluster

#if canImport(Glibc)
    import Glibc
#endif

/// The built `tributary` binary running a pipeline file, with its stdin, stderr and a
/// NOTIFY_SOCKET the test listens on.
final class AgentProcess: @unchecked Sendable {
    // @unchecked: the Process and pipes are used from the test's task only; `notifications`
    // guards itself.
    let directory: URL
    let configPath: URL
    let process = Process()
    /// stdin's pipe, made here rather than by Foundation so that the test keeps the read end:
    /// what the agent did not read can be read back after it exits. Both ends close on exec;
    /// the child gets the read end as its fd 0.
    let stdinRead: CInt
    let stdinWrite: CInt
    let stderrPath: URL
    let notifications: NotifyListener

    static var executable: URL {
        try! KafkaTestCluster.repositoryRoot().appendingPathComponent(".build/debug/tributary")
    }

    /// A fresh directory for one test's files (sockets, logs, the pipeline file).
    static func makeDirectory() throws -> URL {
        // Short: a UNIX socket path has at most 107 bytes.
        let directory = URL(fileURLWithPath: "/tmp/trib-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    init(
        pipeline: String, directory: URL, environment: [String: String] = [:], arguments: [String] = [],
        stderrIsJournal: Bool = false, launcher: [String] = []
    ) throws {
        self.directory = directory
        configPath = directory.appendingPathComponent("pipeline.yaml")
        try pipeline.write(to: configPath, atomically: true, encoding: .utf8)
        stderrPath = directory.appendingPathComponent("stderr.log")
        _ = FileManager.default.createFile(atPath: stderrPath.path, contents: nil)
        notifications = try NotifyListener(path: directory.appendingPathComponent("notify.sock").path)
        var ends: [CInt] = [0, 0]
        guard pipe(&ends) == 0 else { throw POSIXError(.EMFILE) }
        for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        stdinRead = ends[0]
        stdinWrite = ends[1]
        let command = [Self.executable.path, "run", "--config", configPath.path, "--log-level", "debug"] + arguments
        process.executableURL = URL(fileURLWithPath: (launcher + command)[0])
        process.arguments = Array((launcher + command).dropFirst())
        var variables = ProcessInfo.processInfo.environment
        variables["NOTIFY_SOCKET"] = notifications.path
        variables.removeValue(forKey: "JOURNAL_STREAM")
        if stderrIsJournal {
            var status = stat()
            stat(stderrPath.path, &status)
            variables["JOURNAL_STREAM"] = "\(status.st_dev):\(status.st_ino)"
        }
        for (key, value) in environment { variables[key] = value }
        process.environment = variables
        // A write to the stdin of an agent that exited must fail, not kill the test process.
        Glibc.signal(SIGPIPE, SIG_IGN)
        process.standardInput = FileHandle(fileDescriptor: stdinRead, closeOnDealloc: false)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: stderrPath)
        try process.run()
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        notifications.close()
        close(stdinRead)
        if !isStdinClosed { close(stdinWrite) }
    }

    var stderr: String { (try? String(contentsOf: stderrPath, encoding: .utf8)) ?? "" }

    /// Writes to the agent's stdin (blocking while the pipe is full).
    func write(_ text: String) {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let count = bytes.withUnsafeBytes { Glibc.write(stdinWrite, $0.baseAddress, $0.count) }
            guard count > 0 else { return }
            bytes = bytes.dropFirst(count)
        }
    }

    private var isStdinClosed = false

    /// Ends the agent's stdin (EOF).
    func closeStdin() {
        guard !isStdinClosed else { return }
        isStdinClosed = true
        close(stdinWrite)
    }

    func signal(_ number: Int32) {
        kill(process.processIdentifier, number)
    }

    /// Replaces the pipeline file (atomically, as an editor or config management would).
    func rewrite(_ pipeline: String) throws {
        try pipeline.write(to: configPath, atomically: true, encoding: .utf8)
    }

    /// Waits for the process to exit; returns its status, or nil after `timeout`.
    func waitForExit(timeout: Duration = .seconds(30)) async -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now >= deadline { return nil }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return process.terminationStatus
    }

    /// Waits until stderr contains `text`.
    func waitForLog(_ text: String, timeout: Duration = .seconds(20)) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while !stderr.contains(text) {
            if ContinuousClock.now >= deadline || !process.isRunning { return stderr.contains(text) }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return true
    }

    /// Waits until a notification satisfying `match` arrived.
    func waitForNotification(timeout: Duration = .seconds(20), _ match: (String) -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while !notifications.messages.contains(where: match) {
            if ContinuousClock.now >= deadline { return false }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return true
    }

    /// How many of the process's descriptors are files under `directory`.
    func openLogFiles(under directory: String) -> Int {
        let fdDirectory = "/proc/\(process.processIdentifier)/fd"
        return ((try? FileManager.default.contentsOfDirectory(atPath: fdDirectory)) ?? []).filter {
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "\(fdDirectory)/\($0)"))?.hasPrefix(
                directory + "/")
                == true
        }.count
    }

    /// The established TCP connections of the process, by remote port.
    func connectionsByRemotePort() -> [Int: Int] {
        let pid = process.processIdentifier
        var inodes: Set<String> = []
        let fdDirectory = "/proc/\(pid)/fd"
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: fdDirectory)) ?? [] {
            if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "\(fdDirectory)/\(entry)"),
                target.hasPrefix("socket:[")
            {
                inodes.insert(String(target.dropFirst(8).dropLast()))
            }
        }
        var result: [Int: Int] = [:]
        // Brokers advertised as "localhost" may be reached over IPv6: both tables count. Read to
        // EOF: /proc files report size 0, and a size-based read can stop early.
        let table = ["tcp", "tcp6"].map { name -> String in
            guard let handle = FileHandle(forReadingAtPath: "/proc/\(pid)/net/\(name)") else { return "" }
            defer { try? handle.close() }
            var data = Data()
            while let chunk = try? handle.read(upToCount: 65_536), !chunk.isEmpty { data.append(chunk) }
            return String(decoding: data, as: UTF8.self).split(separator: "\n").dropFirst().joined(separator: "\n")
        }.joined(separator: "\n")
        for line in table.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count > 9, fields[3] == "01", inodes.contains(String(fields[9])) else { continue }
            if let port = fields[2].split(separator: ":").last.flatMap({ Int($0, radix: 16) }) {
                result[port, default: 0] += 1
            }
        }
        return result
    }
}

/// A NOTIFY_SOCKET: a datagram socket collecting what the agent tells "systemd".
final class NotifyListener: @unchecked Sendable {
    // @unchecked: `received` is guarded by `lock`; the descriptor is closed once, by its thread.
    let path: String
    private let descriptor: CInt
    private let lock = NSLock()
    private var received: [String] = []
    private var thread: Thread?
    private var isClosed = false
    /// Signalled by the receiving thread once it has closed the descriptor.
    private let finished = DispatchSemaphore(value: 0)

    init(path: String) throws {
        self.path = path
        unlink(path)
        descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var address = SocketWriter.makeAddress(path)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard result == 0 else { throw POSIXError(.EADDRINUSE) }
        let thread = Thread { [self] in receive() }
        self.thread = thread
        thread.start()
    }

    /// The thread closes the descriptor itself on its way out: closed from another thread, its
    /// number could be reused (by a socket of the test process) before this poll or recv runs.
    private func receive() {
        defer {
            Glibc.close(descriptor)
            finished.signal()
        }
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            var pollDescriptor = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            let ready = poll(&pollDescriptor, 1, 100)
            if lock.withLock({ isClosed }) { return }
            guard ready > 0 else { continue }
            let count = recv(descriptor, &buffer, buffer.count, 0)
            guard count > 0 else { continue }
            let message = String(decoding: buffer[0..<count], as: UTF8.self)
            lock.withLock { received.append(message) }
        }
    }

    /// Every datagram received, in order.
    var messages: [String] { lock.withLock { received } }

    func close() {
        let first = lock.withLock { () -> Bool in
            defer { isClosed = true }
            return !isClosed
        }
        if first {
            finished.wait()
            unlink(path)
        }
    }
}

/// Writes to a UNIX socket the way applications do.
enum SocketWriter {
    static func stream(_ path: String, _ text: String) throws {
        let descriptor = try connect(path, type: Int32(SOCK_STREAM.rawValue))
        defer { close(descriptor) }
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let count = bytes.withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { throw POSIXError(.EPIPE) }
            bytes = bytes.dropFirst(count)
        }
    }

    static func datagrams(_ path: String, _ messages: [String]) throws {
        let descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(descriptor) }
        var address = makeAddress(path)
        for message in messages {
            let bytes = Array(message.utf8)
            let count = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(descriptor, bytes, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
            guard count == bytes.count else { throw POSIXError(.EIO) }
        }
    }

    /// A stream connection left open for the caller to write to and close.
    static func openStream(_ path: String) throws -> CInt {
        try connect(path, type: Int32(SOCK_STREAM.rawValue))
    }

    static func send(_ descriptor: CInt, _ text: String) throws {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let count = bytes.withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard count > 0 else { throw POSIXError(.EPIPE) }
            bytes = bytes.dropFirst(count)
        }
    }

    /// Whether the other end closed the connection (end of stream or a reset) within `timeout`.
    static func isClosedByPeer(_ descriptor: CInt, timeout: Duration) -> Bool {
        var pollDescriptor = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        let milliseconds = Int32(timeout / .milliseconds(1))
        guard poll(&pollDescriptor, 1, milliseconds) > 0 else { return false }
        var byte: UInt8 = 0
        return recv(descriptor, &byte, 1, Int32(MSG_DONTWAIT)) <= 0
    }

    private static func connect(_ path: String, type: Int32) throws -> CInt {
        let descriptor = socket(AF_UNIX, type, 0)
        var address = makeAddress(path)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard result == 0 else {
            close(descriptor)
            throw POSIXError(.ECONNREFUSED)
        }
        return descriptor
    }

    static func makeAddress(_ path: String) -> sockaddr_un {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            let bytes = Array(path.utf8)
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        return address
    }
}

/// Kafka's default partitioner for keyed records, written from the Java client's
/// `Utils.murmur2` and `toPositive(murmur2(key)) % partitions`; independent of the producer's.
/// Appends `text` to the file at `url`, creating it when missing (as a log writer would).
func appendToFile(_ url: URL, _ text: String) throws {
    if !FileManager.default.fileExists(atPath: url.path) {
        _ = FileManager.default.createFile(atPath: url.path, contents: nil)
    }
    let handle = try FileHandle(forWritingTo: url)
    handle.seekToEndOfFile()
    handle.write(Data(text.utf8))
    try handle.close()
}

func javaPartition(key: [UInt8], partitions: Int) -> Int32 {
    (javaMurmur2(key) & 0x7fff_ffff) % Int32(partitions)
}

func javaMurmur2(_ key: [UInt8]) -> Int32 {
    let seed: UInt32 = 0x9747_b28c
    let m: UInt32 = 0x5bd1_e995
    var h = seed ^ UInt32(truncatingIfNeeded: key.count)
    var index = 0
    while index + 4 <= key.count {
        var k =
            UInt32(key[index]) | UInt32(key[index + 1]) << 8 | UInt32(key[index + 2]) << 16
            | UInt32(key[index + 3]) << 24
        k = k &* m
        k ^= k >> 24
        k = k &* m
        h = h &* m
        h ^= k
        index += 4
    }
    let rest = key.count - index
    if rest >= 3 { h ^= UInt32(key[index + 2]) << 16 }
    if rest >= 2 { h ^= UInt32(key[index + 1]) << 8 }
    if rest >= 1 {
        h ^= UInt32(key[index])
        h = h &* m
    }
    h ^= h >> 13
    h = h &* m
    h ^= h >> 15
    return Int32(bitPattern: h)
}
