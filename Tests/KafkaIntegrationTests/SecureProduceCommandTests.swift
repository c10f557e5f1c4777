import Foundation
import KafkaTestCluster
import Testing

/// `tributary produce` over TLS and SASL through `SecurityFront`, and the front itself checked
/// with two clients that are not ours.
@Suite("tributary produce: TLS and SASL", .serialized)
struct SecureProduceCommandTests {
    static let password = "pr0duce-\(UUID().uuidString.prefix(8))"

    /// librdkafka and kafka-python log in through the front with the right credentials and are
    /// refused with a wrong password, CA or host name, or without a client certificate
    /// (scripts/check_security_front.py): the front is a fair stand-in for a secured broker.
    @Test func independentClientsAgreeWithTheFront() throws {
        let root = try KafkaTestCluster.repositoryRoot()
        let process = Process()
        process.executableURL = root.appendingPathComponent(".venv/bin/python")
        process.arguments = [
            root.appendingPathComponent("scripts/check_security_front.py").path, try SecurityFront.certificates().path,
        ]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let output = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(output)")
        #expect(!output.contains("FAILED"), "\(output)")
        // Seven cases, each with deliveries and refusals by both clients.
        #expect(output.split(separator: "\n").filter { $0.hasPrefix("ok") }.count >= 30, "\(output)")
    }

    static func propertiesFile(_ lines: [String]) throws -> URL {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent(
            "client-\(UUID().uuidString).properties")
        try (["# SASL settings, as kafka-console-producer reads them"] + lines).joined(separator: "\n")
            .write(to: file, atomically: true, encoding: .utf8)
        return file
    }

    @Test func saslLogsInWithAPropertiesFileAndAWrongPasswordExitsNonZero() async throws {
        let cluster = try await KafkaTestCluster.start(brokers: 1, topics: ["t": 1])
        defer { Task { await cluster.stop() } }
        let front = try await SecurityFront.start(
            before: cluster, arguments: ["--sasl", "SCRAM-SHA-256", "--user", "alice:\(Self.password)"])
        let common = [
            "security.protocol=SASL_PLAINTEXT", "sasl.mechanism=SCRAM-SHA-256", "sasl.username=alice",
        ]
        let wrong = try Self.propertiesFile(common + ["sasl.password=not-\(Self.password)"])
        defer { try? FileManager.default.removeItem(at: wrong) }
        let refused = try ProduceCommandTests.run(
            ["--brokers", front.bootstrapServers, "--topic", "t", "--producer.config", wrong.path],
            input: Data("a\nb\n".utf8))
        #expect(refused.status == 1, "\(refused.stderr)")
        #expect(refused.stderr.contains("SASL_AUTHENTICATION_FAILED"), "\(refused.stderr)")
        #expect(!(refused.stdout + refused.stderr).contains(Self.password))

        let right = try Self.propertiesFile(common + ["sasl.password = \(Self.password)"])
        defer { try? FileManager.default.removeItem(at: right) }
        let run = try ProduceCommandTests.run(
            ["--brokers", front.bootstrapServers, "--topic", "t", "--producer.config", right.path, "--report"],
            input: Data((0..<500).map { "\($0)\n" }.joined().utf8))
        #expect(run.status == 0, "\(run.stderr)")
        #expect(!(run.stdout + run.stderr).contains(Self.password))
        try await front.stop()
        let stored = try await cluster.consume(topic: "t", timeout: .seconds(20)).map {
            String(decoding: $0.value ?? [], as: UTF8.self)
        }
        #expect(stored == (0..<500).map(String.init))
    }

    @Test func aWrongCAExitsNonZeroNamingTheProblem() async throws {
        let cluster = try await KafkaTestCluster.start(brokers: 1, topics: ["t": 1])
        defer { Task { await cluster.stop() } }
        let front = try await SecurityFront.start(before: cluster, arguments: try SecurityFront.tlsArguments())
        let other = try SecurityFront.certificates().appendingPathComponent("other-ca.pem").path
        let run = try ProduceCommandTests.run(
            [
                "--brokers", front.bootstrapServers, "--topic", "t", "-X", "security.protocol=SSL", "-X",
                "ssl.truststore.location=\(other)",
            ], input: Data("a\n".utf8))
        #expect(run.status == 1, "\(run.stderr)")
        #expect(run.stderr.contains("not signed by a CA of ssl.truststore.location"), "\(run.stderr)")
        let missing = try ProduceCommandTests.run(
            [
                "--brokers", front.bootstrapServers, "--topic", "t", "-X", "security.protocol=SSL", "-X",
                "ssl.truststore.location=/nonexistent/ca.pem",
            ], input: Data("a\n".utf8))
        #expect(missing.status != 0)
        #expect(
            missing.stderr.contains("ssl.truststore.location=/nonexistent/ca.pem cannot be read"), "\(missing.stderr)")
        try await front.stop()
    }

    @Test func aWrongHostNameExitsNonZeroNamingTheProblem() async throws {
        let cluster = try await KafkaTestCluster.start(brokers: 1, topics: ["t": 1])
        defer { Task { await cluster.stop() } }
        let front = try await SecurityFront.start(
            before: cluster, arguments: try SecurityFront.tlsArguments(certificate: "wrong-host"))
        let ca = try SecurityFront.certificates().appendingPathComponent("ca.pem").path
        let run = try ProduceCommandTests.run(
            [
                "--brokers", front.bootstrapServers, "--topic", "t", "-X", "security.protocol=SSL", "-X",
                "ssl.truststore.location=\(ca)",
            ], input: Data("a\n".utf8))
        #expect(run.status == 1, "\(run.stderr)")
        #expect(run.stderr.contains("its certificate does not name localhost"), "\(run.stderr)")
        try await front.stop()
    }
}
