import Foundation

/// A TLS and/or SASL front (scripts/kafka_security_front.py) before one broker of a test
/// cluster, whose advertised address is moved to the front while it runs: clients bootstrap from
/// `bootstrapServers` and every connection they make goes through it.
///
/// The front is shown to behave as a secured broker with librdkafka and kafka-python
/// (scripts/check_security_front.py, run by the integration tests).
public final class SecurityFront: Sendable {
    /// What the front counted.
    public struct Stats: Decodable, Sendable {
        /// TCP connections accepted.
        public var connections: Int
        /// TLS handshakes that failed.
        public var tls_failures: Int
        /// Successful first logins, and later ones on the same connection (KIP-368).
        public var logins: Int
        public var reauthentications: Int
        public var login_failures: Int
        /// Connections closed because a request came after the session's lifetime.
        public var expired_closes: Int
        /// Requests other than ApiVersions and SASL before the login completed.
        public var unauthenticated_requests: Int
        public var relayed_requests: Int
    }

    public let port: Int
    /// `localhost:port`: the name the test certificates carry.
    public var bootstrapServers: String { "localhost:\(port)" }

    private let driver: KafkaTestClusterDriver
    private let cluster: KafkaTestCluster
    private let broker: KafkaTestCluster.Broker

    private init(port: Int, driver: KafkaTestClusterDriver, cluster: KafkaTestCluster, broker: KafkaTestCluster.Broker)
    {
        self.port = port
        self.driver = driver
        self.cluster = cluster
        self.broker = broker
    }

    /// Starts a front before `broker` of `cluster` and moves the broker's advertised address to
    /// it (host `localhost`).
    ///
    /// - Parameter arguments: the front's options: `--tls-cert`, `--tls-key`, `--tls-client-ca`,
    ///   `--sasl MECHANISMS`, `--user NAME:PASSWORD`, `--session-lifetime-ms N`.
    public static func start(before cluster: KafkaTestCluster, broker id: Int32 = 1, arguments: [String]) async throws
        -> SecurityFront
    {
        guard let broker = cluster.broker(id) else {
            throw KafkaTestClusterError(code: .driverFailedToStart, message: "no broker \(id)", command: "front")
        }
        let root = try KafkaTestCluster.repositoryRoot()
        let (driver, readyLine) = try await KafkaTestClusterDriver.launch(
            python: root.appendingPathComponent(".venv/bin/python"),
            arguments: [
                root.appendingPathComponent("scripts/kafka_security_front.py").path, "--upstream",
                "\(broker.host):\(broker.port)",
            ] + arguments)
        struct Ready: Decodable { var port: Int }
        let ready: Ready
        do {
            ready = try JSONDecoder().decode(Ready.self, from: readyLine)
        } catch {
            driver.terminate()
            throw KafkaTestClusterError(
                code: .driverFailedToStart,
                message: "unexpected first line from the front: \(String(decoding: readyLine, as: UTF8.self))",
                command: "front", cause: error)
        }
        try await cluster.setAdvertisedAddress(broker: id, host: "localhost", port: ready.port)
        return SecurityFront(port: ready.port, driver: driver, cluster: cluster, broker: broker)
    }

    public func stats() async throws -> Stats {
        let reply = try await driver.exchange(Data("stats".utf8), command: "stats")
        return try JSONDecoder().decode(Stats.self, from: reply)
    }

    /// Stops the front and gives the broker its own address back, so that the cluster's
    /// verifiers reach it.
    public func stop() async throws {
        await driver.stop()
        try await cluster.setAdvertisedAddress(broker: broker.id, host: broker.host, port: broker.port)
    }

    // MARK: Certificates

    /// The directory of test certificates (scripts/make_test_certs.sh), made once per process:
    /// `ca.pem`, `other-ca.pem`, `server.pem`/`server.key` (localhost, 127.0.0.1),
    /// `wrong-host.pem`/`.key` (kafka.invalid), `client.pem` (key encrypted with the passphrase
    /// in `client.pass`, then the certificate), `client-plain.pem`.
    public static func certificates() throws -> URL {
        try certificateDirectory.get()
    }

    /// The front's TLS options with the test server certificate.
    public static func tlsArguments(certificate: String = "server") throws -> [String] {
        let directory = try certificates()
        return [
            "--tls-cert", directory.appendingPathComponent("\(certificate).pem").path, "--tls-key",
            directory.appendingPathComponent("\(certificate).key").path,
        ]
    }

    private static let certificateDirectory = Result<URL, any Error>(catching: {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "tributary-certs-\(ProcessInfo.processInfo.processIdentifier)")
        let script = try KafkaTestCluster.repositoryRoot().appendingPathComponent("scripts/make_test_certs.sh").path
        guard runToCompletion(["/bin/bash", script, directory.path]) == 0 else {
            throw KafkaTestClusterError(
                code: .driverFailedToStart, message: "scripts/make_test_certs.sh failed", command: "certificates")
        }
        return directory
    })

    /// posix_spawn and a blocking waitpid rather than Foundation's `Process`: this runs inside a
    /// `static let` initializer on a cooperative thread, where `waitUntilExit` once missed the
    /// child's exit (a zombie left, every test waiting on the initializer hung).
    private static func runToCompletion(_ arguments: [String]) -> CInt {
        var argv = arguments.map { strdup($0) }
        argv.append(nil)
        defer { argv.forEach { free($0) } }
        var pid = pid_t()
        guard posix_spawn(&pid, arguments[0], nil, nil, argv, environ) == 0 else { return -1 }
        var status: CInt = 0
        while waitpid(pid, &status, 0) == -1 {
            guard errno == EINTR else { return -1 }
        }
        // WIFEXITED / WEXITSTATUS, which Swift does not import as macros.
        return status & 0x7f == 0 ? (status >> 8) & 0xff : -1
    }
}
