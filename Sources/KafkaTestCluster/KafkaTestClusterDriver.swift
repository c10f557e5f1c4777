import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The driver process (`scripts/kafka_test_cluster.py serve`) and its line protocol.
///
/// Every pipe read and write runs on `queue`, a dedicated serial dispatch queue, so a blocking
/// read never occupies a thread of the Swift concurrency pool; callers await a continuation.
/// The queue also serializes commands: one line out, then exactly one line in.
final class KafkaTestClusterDriver: @unchecked Sendable {
    private let process: Process
    /// The driver's stdin; its write end carries commands.
    private let stdinPipe: Pipe
    /// The driver's stdout; its read end carries the ready event and the replies.
    private let stdoutPipe: Pipe
    private var commandFD: Int32 { stdinPipe.fileHandleForWriting.fileDescriptor }
    private var replyFD: Int32 { stdoutPipe.fileHandleForReading.fileDescriptor }
    private let queue = DispatchQueue(label: "tributary.KafkaTestCluster.driver")
    /// Bytes read past the last reply line. Owned by `queue`.
    private var readBuffer: [UInt8] = []
    private let lock = NSLock()
    /// Set once stdin is closed; afterwards no command is sent. Guarded by `lock`.
    private var isClosed = false

    private init(process: Process, stdinPipe: Pipe, stdoutPipe: Pipe) {
        self.process = process
        self.stdinPipe = stdinPipe
        self.stdoutPipe = stdoutPipe
    }

    /// A write to a driver that died must fail with EPIPE instead of killing the test process.
    private static let ignoreSIGPIPE: Void = {
        _ = signal(SIGPIPE, SIG_IGN)
    }()

    /// Launches the driver and returns it with its first stdout line (the ready event).
    static func launch(python: URL, arguments: [String]) async throws -> (KafkaTestClusterDriver, Data) {
        _ = ignoreSIGPIPE
        let launchQueue = DispatchQueue(label: "tributary.KafkaTestCluster.launch")
        return try await withCheckedThrowingContinuation { continuation in
            launchQueue.async {
                continuation.resume(with: Result { try launchBlocking(python: python, arguments: arguments) })
            }
        }
    }

    private static func launchBlocking(python: URL, arguments: [String]) throws -> (KafkaTestClusterDriver, Data) {
        let process = Process()
        process.executableURL = python
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["PYTHONUNBUFFERED"] = "1"
        environment["PYTHONDONTWRITEBYTECODE"] = "1"
        process.environment = environment
        let stdinPipe = Pipe()
        let stdoutPipe = Pipe()
        process.standardInput = stdinPipe
        process.standardOutput = stdoutPipe
        // The driver's diagnostics (and librdkafka's logs) land in the test's own stderr.
        process.standardError = FileHandle.standardError
        do {
            try process.run()
        } catch {
            throw KafkaTestClusterError(
                code: .driverFailedToStart, message: "could not launch \(python.path): \(error)",
                command: "start", cause: error)
        }
        let driver = KafkaTestClusterDriver(process: process, stdinPipe: stdinPipe, stdoutPipe: stdoutPipe)
        guard let ready = driver.readLineBlocking() else {
            driver.terminate()
            throw KafkaTestClusterError(
                code: .driverFailedToStart,
                message: "the driver exited before reporting a ready cluster (\(driver.exitDescription())); "
                    + "its stderr is above", command: "start")
        }
        return (driver, ready)
    }

    /// Sends one command line and returns the driver's reply line.
    func exchange(_ line: Data, command: String) async throws -> Data {
        try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(with: Result { try self.exchangeBlocking(line, command: command) })
            }
        }
    }

    private func exchangeBlocking(_ line: Data, command: String) throws -> Data {
        if lock.withLock({ isClosed }) {
            throw KafkaTestClusterError(
                code: .driverExited, message: "the cluster was stopped before '\(command)'", command: command)
        }
        var bytes = [UInt8](line)
        bytes.append(UInt8(ascii: "\n"))
        guard writeAllBlocking(bytes) else {
            throw KafkaTestClusterError(
                code: .driverExited,
                message: "could not send '\(command)': the driver is gone (\(exitDescription()))",
                command: command)
        }
        guard let reply = readLineBlocking() else {
            throw KafkaTestClusterError(
                code: .driverExited,
                message: "the driver exited while running '\(command)' (\(exitDescription())); its stderr is above",
                command: command)
        }
        return reply
    }

    /// Sends `stop`, closes stdin and waits up to five seconds for the driver to exit.
    func stop() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            queue.async {
                if !self.lock.withLock({ self.isClosed }) {
                    if self.writeAllBlocking(Array(#"{"cmd":"stop"}"#.utf8) + [UInt8(ascii: "\n")]) {
                        _ = self.readLineBlocking()
                    }
                }
                self.closeCommandPipe()
                let deadline = Date().addingTimeInterval(5)
                while self.process.isRunning, Date() < deadline {
                    usleep(10_000)
                }
                if self.process.isRunning { self.process.terminate() }
                continuation.resume()
            }
        }
    }

    /// Closes stdin and sends SIGTERM without waiting; safe from `deinit`.
    func terminate() {
        closeCommandPipe()
        if process.isRunning { process.terminate() }
    }

    private func closeCommandPipe() {
        let shouldClose = lock.withLock {
            defer { isClosed = true }
            return !isClosed
        }
        if shouldClose {
            try? stdinPipe.fileHandleForWriting.close()
        }
    }

    private func writeAllBlocking(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { buffer in
                write(commandFD, buffer.baseAddress, buffer.count)
            }
            if written < 0 {
                if errno == EINTR { continue }
                return false
            }
            offset += written
        }
        return true
    }

    /// Reads up to the next newline; `nil` at end of file (the driver exited).
    private func readLineBlocking() -> Data? {
        while true {
            if let newline = readBuffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = Data(readBuffer[..<newline])
                readBuffer.removeSubrange(...newline)
                return line
            }
            var chunk = [UInt8](repeating: 0, count: 64 * 1024)
            let count = chunk.withUnsafeMutableBytes { buffer in
                read(replyFD, buffer.baseAddress, buffer.count)
            }
            if count < 0, errno == EINTR { continue }
            if count <= 0 { return nil }
            readBuffer.append(contentsOf: chunk[..<count])
        }
    }

    private func exitDescription() -> String {
        let deadline = Date().addingTimeInterval(1)
        while process.isRunning, Date() < deadline { usleep(10_000) }
        if process.isRunning { return "still running" }
        switch process.terminationReason {
        case .exit: return "exit status \(process.terminationStatus)"
        case .uncaughtSignal: return "killed by signal \(process.terminationStatus)"
        @unknown default: return "status \(process.terminationStatus)"
        }
    }
}
