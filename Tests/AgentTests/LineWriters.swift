import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A writer on a thread of its own: writes block (a full socket buffer is the agent pushing
/// back), and a blocked write must not hold one of the few cooperative threads the test's
/// fault schedule runs on.
class LineWriterThread: @unchecked Sendable {
    // @unchecked: the counters and flags are guarded by `lock`; the thread does the writing.
    private let lock = NSLock()
    private var isStopping = false
    private var isFinished = false
    private var counts: [String: Int] = [:]
    private var failure: String?

    /// Lines written per stream (see ``LineAccounting``), complete once finished.
    var written: [String: Int] { lock.withLock { counts } }
    var error: String? { lock.withLock { failure } }

    var shouldStop: Bool { lock.withLock { isStopping } }

    func start() {
        Thread { [self] in
            body()
            lock.withLock { isFinished = true }
        }.start()
    }

    func stop() { lock.withLock { isStopping = true } }

    func waitUntilFinished() async {
        while !lock.withLock({ isFinished }) { try? await Task.sleep(for: .milliseconds(20)) }
    }

    func record(_ stream: String, lines: Int) { lock.withLock { counts[stream, default: 0] += lines } }
    func fail(_ message: String) { lock.withLock { failure = message } }

    func body() {}

    static let padding = String(repeating: "x", count: 80)

    static func lines(_ stream: String, _ range: Range<Int>) -> String {
        range.map { "\(stream) \($0) \(padding)\n" }.joined()
    }
}

/// Appends to `app.log` at a steady pace and renames it away (`app.log.N`, outside a `*.log`
/// glob) every `rotateEvery` lines, as logrotate's default does; each generation is a stream.
final class FileLineWriter: LineWriterThread, @unchecked Sendable {
    let directory: URL
    let linesPerChunk: Int
    let rotateEvery: Int

    init(directory: URL, linesPerChunk: Int, rotateEvery: Int) {
        self.directory = directory
        self.linesPerChunk = linesPerChunk
        self.rotateEvery = rotateEvery
    }

    override func body() {
        let live = directory.appendingPathComponent("app.log")
        var generation = 0
        var next = 0
        while !shouldStop {
            do {
                try appendToFile(live, Self.lines("f \(generation)", next..<next + linesPerChunk))
            } catch {
                fail("append: \(error)")
                return
            }
            record("f \(generation)", lines: linesPerChunk)
            next += linesPerChunk
            if next >= rotateEvery {
                let rotated = directory.appendingPathComponent("app.log.\(generation)")
                guard rename(live.path, rotated.path) == 0 else {
                    fail("rename: errno \(errno)")
                    return
                }
                generation += 1
                next = 0
            }
            Thread.sleep(forTimeInterval: 0.02)
        }
    }
}

/// Connects to a stream socket, writes `linesPerConnection` lines in small chunks, closes, and
/// connects again; each connection is a stream `s <writer>.<connection>`.
final class SocketLineWriter: LineWriterThread, @unchecked Sendable {
    let path: String
    let writer: Int
    let linesPerConnection: Int

    init(path: String, writer: Int, linesPerConnection: Int) {
        self.path = path
        self.writer = writer
        self.linesPerConnection = linesPerConnection
    }

    override func body() {
        var connection = 0
        while !shouldStop {
            let stream = "s \(writer).\(connection)"
            let descriptor: CInt
            do {
                descriptor = try SocketWriter.openStream(path)
            } catch {
                fail("connect: \(error)")
                return
            }
            var next = 0
            while next < linesPerConnection && !shouldStop {
                let count = min(10, linesPerConnection - next)
                do {
                    try SocketWriter.send(descriptor, Self.lines(stream, next..<next + count))
                } catch {
                    close(descriptor)
                    fail("send: \(error)")
                    return
                }
                record(stream, lines: count)
                next += count
                Thread.sleep(forTimeInterval: 0.02)
            }
            close(descriptor)
            connection += 1
        }
    }
}
