import Foundation

/// A Kafka cluster for tests: librdkafka's mock cluster (librdkafka 2.16, bundled with the
/// `confluent-kafka` Python package) run by `scripts/kafka_test_cluster.py` in a child process.
///
/// The cluster listens on 127.0.0.1, one ephemeral port per broker, broker ids `1...N`. Besides
/// the brokers, the driver holds the independent verifiers tests compare against: a librdkafka
/// consumer (``consume(topic:partitions:timeout:)``) and a raw Fetch decoded by kafka-python
/// (``storedBatches(topic:partition:)``). Fault injection lives in `KafkaTestCluster+Faults.swift`.
///
/// ```swift
/// let cluster = try await KafkaTestCluster.start(brokers: 3, topics: ["logs": 4])
/// try await cluster.setBrokerDown(2)
/// // … run the client against cluster.bootstrapServers …
/// await cluster.stop()   // or let it go: deinit ends the driver too
/// ```
///
/// Commands are serialized: each one waits for the previous reply. Pipe I/O runs on a dedicated
/// dispatch queue, never on the Swift concurrency pool. The driver also exits on its own when
/// the test process dies (its stdin closes and Linux sends it SIGTERM), so no broker outlives a
/// crashed test.
public final class KafkaTestCluster: Sendable {
    /// One broker of the mock cluster.
    public struct Broker: Sendable, Hashable, CustomStringConvertible {
        /// The broker id (`1...N`).
        public var id: Int32
        /// The advertised host, always `127.0.0.1`.
        public var host: String
        /// The listening TCP port.
        public var port: Int

        /// Creates a broker description.
        public init(id: Int32, host: String, port: Int) {
            self.id = id
            self.host = host
            self.port = port
        }

        /// `1@127.0.0.1:port`.
        public var description: String { "\(id)@\(host):\(port)" }
    }

    /// The bootstrap list, `127.0.0.1:port,127.0.0.1:port,…`, in broker id order.
    public let bootstrapServers: String
    /// The brokers, in id order.
    public let brokers: [Broker]

    let driver: KafkaTestClusterDriver

    private init(bootstrapServers: String, brokers: [Broker], driver: KafkaTestClusterDriver) {
        self.bootstrapServers = bootstrapServers
        self.brokers = brokers
        self.driver = driver
    }

    deinit {
        driver.terminate()
    }

    /// Starts a mock cluster and returns once its brokers listen.
    ///
    /// - Parameters:
    ///   - brokers: The number of brokers, ids `1...brokers`. Default: 1.
    ///   - topics: Topics to create up front, name to partition count (replication factor 1).
    ///     Default: none. The mock also auto-creates topics (4 partitions) on Metadata requests.
    /// - Throws: ``KafkaTestClusterError`` with ``KafkaTestClusterError/Code/driverMissing`` when
    ///   `.venv` has not been built (run `scripts/bootstrap.sh`), or
    ///   ``KafkaTestClusterError/Code/driverFailedToStart``.
    public static func start(brokers: Int = 1, topics: [String: Int] = [:]) async throws -> KafkaTestCluster {
        let root = try repositoryRoot()
        let python = root.appendingPathComponent(".venv/bin/python")
        let script = root.appendingPathComponent("scripts/kafka_test_cluster.py")
        guard FileManager.default.isExecutableFile(atPath: python.path) else {
            throw KafkaTestClusterError(
                code: .driverMissing,
                message: "\(python.path) is missing: run scripts/bootstrap.sh (make test does this)",
                command: "start")
        }
        guard FileManager.default.fileExists(atPath: script.path) else {
            throw KafkaTestClusterError(
                code: .driverMissing, message: "\(script.path) is missing", command: "start")
        }
        var arguments = [script.path, "serve", "--brokers", String(brokers)]
        for (name, partitions) in topics.sorted(by: { $0.key < $1.key }) {
            arguments += ["--topic", "\(name):\(partitions)"]
        }
        let (driver, readyLine) = try await KafkaTestClusterDriver.launch(python: python, arguments: arguments)
        let ready: ReadyEvent
        do {
            ready = try JSONDecoder().decode(ReadyEvent.self, from: readyLine)
        } catch {
            driver.terminate()
            throw KafkaTestClusterError(
                code: .driverFailedToStart,
                message: "unexpected first line from the driver: \(String(decoding: readyLine, as: UTF8.self))",
                command: "start", cause: error)
        }
        guard ready.event == "ready", let bootstrap = ready.bootstrap, let readyBrokers = ready.brokers else {
            driver.terminate()
            throw KafkaTestClusterError(
                code: .driverFailedToStart, message: ready.error ?? "the driver reported '\(ready.event)'",
                command: "start")
        }
        return KafkaTestCluster(
            bootstrapServers: bootstrap,
            brokers: readyBrokers.map { Broker(id: $0.id, host: $0.host, port: $0.port) },
            driver: driver)
    }

    /// Destroys the cluster and waits (up to 5 s) for the driver to exit. Later commands throw
    /// ``KafkaTestClusterError/Code/driverExited``. Calling it twice is harmless.
    public func stop() async {
        await driver.stop()
    }

    /// The broker with id `id`, if the cluster has one.
    public func broker(_ id: Int32) -> Broker? {
        brokers.first { $0.id == id }
    }

    // MARK: Command plumbing

    /// Sends `{"cmd": command, fields…}` and returns the reply once it says `"ok": true`.
    func send(_ command: String, _ fields: [String: Any] = [:]) async throws -> Data {
        var object = fields
        object["cmd"] = command
        let line: Data
        do {
            line = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        } catch {
            throw KafkaTestClusterError(
                code: .malformedReply, message: "could not encode '\(command)': \(error)", command: command)
        }
        let reply = try await driver.exchange(line, command: command)
        let envelope: Envelope
        do {
            envelope = try JSONDecoder().decode(Envelope.self, from: reply)
        } catch {
            throw malformed(command, reply, error)
        }
        guard envelope.ok else {
            throw KafkaTestClusterError(
                code: .commandFailed, message: envelope.error ?? "\(command) failed without a message",
                command: command)
        }
        return reply
    }

    /// Sends a command and decodes its successful reply as `Reply`.
    func send<Reply: Decodable>(
        _ command: String, _ fields: [String: Any] = [:], decoding _: Reply.Type
    ) async throws -> Reply {
        let reply = try await send(command, fields)
        do {
            return try JSONDecoder().decode(Reply.self, from: reply)
        } catch {
            throw malformed(command, reply, error)
        }
    }

    private func malformed(_ command: String, _ reply: Data, _ error: any Error) -> KafkaTestClusterError {
        KafkaTestClusterError(
            code: .malformedReply,
            message: "unexpected reply to '\(command)': \(String(decoding: reply.prefix(500), as: UTF8.self))",
            command: command, cause: error)
    }

    private struct Envelope: Decodable {
        var ok: Bool
        var error: String?
    }

    private struct ReadyEvent: Decodable {
        struct ReadyBroker: Decodable {
            var id: Int32
            var host: String
            var port: Int
        }
        var event: String
        var bootstrap: String?
        var brokers: [ReadyBroker]?
        var error: String?
    }

    /// The repository root: `$TRIBUTARY_ROOT`, else the nearest directory above this source file
    /// that holds `Package.swift`. Test targets use it to find fixtures, scripts and binaries.
    public static func repositoryRoot(filePath: String = #filePath) throws -> URL {
        if let root = ProcessInfo.processInfo.environment["TRIBUTARY_ROOT"], !root.isEmpty {
            return URL(fileURLWithPath: root, isDirectory: true)
        }
        var directory = URL(fileURLWithPath: filePath).deletingLastPathComponent()
        while directory.path != "/" {
            if FileManager.default.fileExists(atPath: directory.appendingPathComponent("Package.swift").path) {
                return directory
            }
            directory.deleteLastPathComponent()
        }
        throw KafkaTestClusterError(
            code: .driverMissing,
            message: "no Package.swift above \(filePath); set TRIBUTARY_ROOT to the repository root",
            command: "start")
    }
}
