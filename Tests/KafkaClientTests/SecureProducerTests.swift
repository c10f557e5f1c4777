import Foundation
import KafkaClient
import KafkaTestCluster
import NIOCore
import Testing

/// The producer over TLS and SASL, through `SecurityFront` (a TLS/SASL front before the mock
/// broker, itself checked with librdkafka and kafka-python by scripts/check_security_front.py).
/// What the front relayed is read back from the broker by the cluster's own consumer.
@Suite("TLS and SASL to the brokers", .serialized)
struct SecureProducerTests {
    static let topic = "secured"

    static func certificate(_ name: String) throws -> String {
        try SecurityFront.certificates().appendingPathComponent(name).path
    }

    static func passphrase() throws -> String {
        try String(contentsOfFile: certificate("client.pass"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func producer(_ front: SecurityFront, _ settings: [String: String]) throws -> KafkaProducer {
        var properties = [
            "bootstrap.servers": front.bootstrapServers, "linger.ms": "5", "reconnect.backoff.ms": "50",
            "reconnect.backoff.max.ms": "1000", "request.timeout.ms": "10000", "delivery.timeout.ms": "30000",
            "max.block.ms": "10000",
        ]
        for (key, value) in settings { properties[key] = value }
        return try KafkaProducer(configuration: KafkaProducerConfiguration(properties: properties))
    }

    /// Sends `count` records through `front`, then reads the topic back from the broker itself.
    static func deliver(
        _ count: Int, cluster: KafkaTestCluster, front: SecurityFront, settings: [String: String]
    ) async throws -> [String] {
        let producer = try producer(front, settings)
        let reports = try await ProducerTestSupport.enqueueAll(producer, topic: topic, count: count)
        await producer.close()
        #expect(reports.allSatisfy { $0.error == nil }, "\(reports.compactMap(\.error).first.map { "\($0)" } ?? "")")
        try await front.stop()
        return try await cluster.consume(topic: topic, timeout: .seconds(20)).map {
            String(decoding: $0.value ?? [], as: UTF8.self)
        }
    }

    /// The error of one `send` that cannot get through.
    static func refusal(_ front: SecurityFront, _ settings: [String: String]) async throws -> KafkaProducerError {
        let producer = try producer(front, settings)
        let refusal: KafkaProducerError
        do {
            _ = try await producer.send(KafkaProducerRecord(topic: topic, value: ByteBuffer(string: "refused")))
            Issue.record("the record was delivered")
            refusal = KafkaProducerError(.brokerError, "delivered")
        } catch let error as KafkaProducerError {
            refusal = error
        }
        // Closed before returning, not in a detached task: one still running when the test
        // process exits leaves the producer to LeakSanitizer (make test-asan failed on it).
        await producer.close()
        return refusal
    }

    static func withCluster<T>(_ body: (KafkaTestCluster) async throws -> T) async throws -> T {
        let cluster = try await KafkaTestCluster.start(brokers: 1, topics: [topic: 1])
        do {
            let result = try await body(cluster)
            await cluster.stop()
            return result
        } catch {
            await cluster.stop()
            throw error
        }
    }

    static let expected = (0..<300).map { "record-\($0)" }

    @Test func tlsWithATruststore() async throws {
        let stored = try await Self.withCluster { cluster in
            let front = try await SecurityFront.start(before: cluster, arguments: try SecurityFront.tlsArguments())
            return try await Self.deliver(
                300, cluster: cluster, front: front,
                settings: ["security.protocol": "SSL", "ssl.truststore.location": try Self.certificate("ca.pem")])
        }
        #expect(stored == Self.expected)
    }

    @Test func mutualTLSWithAnEncryptedKey() async throws {
        let stored = try await Self.withCluster { cluster in
            let front = try await SecurityFront.start(
                before: cluster,
                arguments: try SecurityFront.tlsArguments() + ["--tls-client-ca", try Self.certificate("ca.pem")])
            // Without a client certificate the front refuses the handshake.
            let refused = try await Self.refusal(
                front,
                [
                    "security.protocol": "SSL", "ssl.truststore.location": try Self.certificate("ca.pem"),
                    "max.block.ms": "5000",
                ])
            #expect(refused.code == .authenticationFailed, "\(refused)")
            return try await Self.deliver(
                300, cluster: cluster, front: front,
                settings: [
                    "security.protocol": "SSL", "ssl.truststore.location": try Self.certificate("ca.pem"),
                    "ssl.keystore.type": "PEM", "ssl.keystore.location": try Self.certificate("client.pem"),
                    "ssl.key.password": try Self.passphrase(),
                ])
        }
        #expect(stored == Self.expected)
    }

    /// A CA that did not sign the broker's certificate: refused at once with a clear error, and
    /// the reconnects keep to reconnect.backoff.ms (50 ms doubling to 1 s: about 7 in 3 s).
    @Test func aWrongCAIsRefusedWithoutARetryStorm() async throws {
        try await Self.withCluster { cluster in
            let front = try await SecurityFront.start(before: cluster, arguments: try SecurityFront.tlsArguments())
            let producer = try Self.producer(
                front,
                [
                    "security.protocol": "SSL", "ssl.truststore.location": try Self.certificate("other-ca.pem"),
                    // Far beyond the bound below, so a slow machine cannot pass a timeout off as a refusal.
                    "max.block.ms": "180000",
                ])
            let started = ContinuousClock.now
            await #expect(throws: KafkaProducerError.self) {
                _ = try await producer.send(KafkaProducerRecord(topic: Self.topic, value: ByteBuffer(string: "x")))
            }
            do {
                _ = try await producer.send(KafkaProducerRecord(topic: Self.topic, value: ByteBuffer(string: "x")))
            } catch let error as KafkaProducerError {
                #expect(error.code == .authenticationFailed, "\(error)")
                #expect(error.message.contains("not signed by a CA"), "\(error.message)")
            }
            let waited = ContinuousClock.now - started
            try await Task.sleep(for: .seconds(3))
            let stats = try await front.stats()
            await producer.close()
            let seconds = Double((ContinuousClock.now - started).components.seconds) + 1
            // A storm would be hundreds (kafka-python makes ~150 a second here).
            #expect(stats.connections <= Int(seconds * 4) + 4, "\(stats.connections) connections in \(seconds) s")
            #expect(stats.tls_failures == stats.connections)
            // Refused long before max.block.ms (180 s): the handshake's failure is final.
            #expect(waited < .seconds(60), "\(waited)")
            try await front.stop()
            #expect(try await cluster.consume(topic: Self.topic, timeout: .seconds(3)).isEmpty)
        }
    }

    @Test func aWrongHostNameIsRefusedUnlessTheCheckIsOff() async throws {
        let stored = try await Self.withCluster { cluster in
            let front = try await SecurityFront.start(
                before: cluster, arguments: try SecurityFront.tlsArguments(certificate: "wrong-host"))
            let settings = ["security.protocol": "SSL", "ssl.truststore.location": try Self.certificate("ca.pem")]
            let refused = try await Self.refusal(front, settings)
            #expect(refused.code == .authenticationFailed, "\(refused)")
            #expect(refused.message.contains("does not name localhost"), "\(refused.message)")
            return try await Self.deliver(
                300, cluster: cluster, front: front,
                settings: settings.merging(["ssl.endpoint.identification.algorithm": ""]) { $1 })
        }
        #expect(stored == Self.expected)
    }

    @Test(arguments: ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
    func saslLogsInAndAWrongPasswordIsRefused(mechanism: String) async throws {
        let stored = try await Self.withCluster { cluster in
            let front = try await SecurityFront.start(
                before: cluster, arguments: ["--sasl", mechanism, "--user", "alice:alice-secret"])
            let settings = [
                "security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": mechanism, "sasl.username": "alice",
            ]
            let refused = try await Self.refusal(front, settings.merging(["sasl.password": "not-her-password"]) { $1 })
            #expect(refused.code == .authenticationFailed, "\(refused)")
            #expect(refused.brokerErrorCode?.rawValue == 58, "\(refused)")
            #expect(!"\(refused)".contains("not-her-password"))
            let stats = try await front.stats()
            #expect(stats.login_failures >= 1 && stats.unauthenticated_requests == 0, "\(stats)")
            return try await Self.deliver(
                300, cluster: cluster, front: front,
                settings: settings.merging(["sasl.password": "alice-secret"]) { $1 })
        }
        #expect(stored == Self.expected)
    }

    @Test func saslSSLWithJAASConfig() async throws {
        let stored = try await Self.withCluster { cluster in
            let front = try await SecurityFront.start(
                before: cluster,
                arguments: try SecurityFront.tlsArguments() + ["--sasl", "SCRAM-SHA-512", "--user", "bob:b0b=,\"pw"])
            return try await Self.deliver(
                300, cluster: cluster, front: front,
                settings: [
                    "security.protocol": "SASL_SSL", "ssl.truststore.location": try Self.certificate("ca.pem"),
                    "sasl.mechanism": "SCRAM-SHA-512",
                    "sasl.jaas.config":
                        #"org.apache.kafka.common.security.scram.ScramLoginModule required username="bob" password="b0b=,\"pw";"#,
                ])
        }
        #expect(stored == Self.expected)
    }

    /// KIP-368: the front gives sessions 1.5 s; the producer logs in again on the same
    /// connections while it keeps sending, so no connection is closed for an expired session.
    @Test func logsInAgainBeforeTheSessionEnds() async throws {
        let (stored, stats) = try await Self.withCluster { cluster in
            let front = try await SecurityFront.start(
                before: cluster,
                arguments: ["--sasl", "SCRAM-SHA-256", "--user", "alice:alice-secret", "--session-lifetime-ms", "1500"])
            let producer = try Self.producer(
                front,
                [
                    "security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "SCRAM-SHA-256", "sasl.username": "alice",
                    "sasl.password": "alice-secret",
                ])
            let clock = ContinuousClock()
            let end = clock.now + .seconds(5)
            var sent = 0
            while clock.now < end {
                for _ in 0..<20 {
                    _ = try await producer.send(
                        KafkaProducerRecord(topic: Self.topic, value: ByteBuffer(string: "record-\(sent)")))
                    sent += 1
                }
                try await Task.sleep(for: .milliseconds(50))
            }
            await producer.close()
            let stats = try await front.stats()
            try await front.stop()
            let stored = try await cluster.consume(topic: Self.topic, timeout: .seconds(20)).map {
                String(decoding: $0.value ?? [], as: UTF8.self)
            }
            #expect(stored == (0..<sent).map { "record-\($0)" })
            return (stored, stats)
        }
        #expect(!stored.isEmpty)
        #expect(stats.reauthentications >= 2, "\(stats)")
        #expect(stats.expired_closes == 0, "\(stats)")
        // The bootstrap connection and the leader's: none replaced.
        #expect(stats.connections <= 3, "\(stats)")
    }
}
