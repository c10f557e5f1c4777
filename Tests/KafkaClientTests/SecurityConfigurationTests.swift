import Foundation
import KafkaTestCluster
import Testing

@testable import KafkaClient

/// `security.protocol`, `ssl.*` and `sasl.*` under the Java client's names, and secrets kept out
/// of every description and error.
@Suite("Security settings")
struct SecurityConfigurationTests {
    static let password = "Tr0ub4dor&3-never-printed"

    static func configuration(_ settings: [String: String]) throws -> KafkaProducerConfiguration {
        try KafkaProducerConfiguration(properties: ["bootstrap.servers": "k1:9093"].merging(settings) { $1 })
    }

    static func error(_ settings: [String: String]) -> KafkaProducerError? {
        do {
            _ = try configuration(settings)
            return nil
        } catch {
            return error as? KafkaProducerError
        }
    }

    @Test func jaasConfigGivesTheCredentialsAndHidesThePassword() throws {
        let configuration = try Self.configuration([
            "security.protocol": "sasl_ssl", "sasl.mechanism": "SCRAM-SHA-512",
            "sasl.jaas.config":
                "org.apache.kafka.common.security.scram.ScramLoginModule required\n  username=\"svc-logs\" password=\"\(Self.password)\";",
        ])
        #expect(configuration.securityProtocol == .saslSSL)
        #expect(configuration.sasl?.mechanism == .scramSHA512)
        #expect(configuration.sasl?.username == "svc-logs")
        #expect(configuration.sasl?.password.value == Self.password)
        #expect(configuration.tls.endpointIdentification)
        // Neither the properties read back, nor any rendering of the configuration, holds it.
        #expect(configuration.properties["sasl.jaas.config"] == nil)
        #expect(configuration.properties["sasl.password"] == nil)
        #expect(configuration.properties["sasl.username"] == "svc-logs")
        var dumped = ""
        dump(configuration, to: &dumped)
        for text in ["\(configuration)", String(reflecting: configuration), dumped, "\(configuration.properties)"] {
            #expect(!text.contains(Self.password))
        }
    }

    @Test func usernameAndPasswordStandInForJAAS() throws {
        let configuration = try Self.configuration([
            "security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "PLAIN", "sasl.username": "a",
            "sasl.password": Self.password,
        ])
        #expect(
            configuration.sasl
                == KafkaSASLConfiguration(mechanism: .plain, username: "a", password: KafkaSecret(Self.password)))
    }

    @Test(
        "contradictions name the keys",
        arguments: [
            (["security.protocol": "SASL_SSL"], "needs sasl.mechanism"),
            (["security.protocol": "SASL_SSL", "sasl.mechanism": "PLAIN"], "needs sasl.jaas.config"),
            (["sasl.mechanism": "PLAIN", "sasl.username": "a", "sasl.password": password], "does not authenticate"),
            (["ssl.truststore.location": "/ca.pem"], "does not use TLS"),
            (["security.protocol": "SSL", "ssl.truststore.type": "JKS"], "only PEM"),
            (["security.protocol": "SSL", "ssl.keystore.password": password], "ssl.key.password"),
            (["security.protocol": "SSL", "ssl.key.password": password], "without a keystore"),
            (["security.protocol": "SSL", "ssl.enabled.protocols": "TLSv1.1"], "TLS 1.2 and up"),
            (["security.protocol": "SSL", "ssl.endpoint.identification.algorithm": "http"], "https"),
            (["security.protocol": "SASL_SSL", "sasl.mechanism": "GSSAPI"], "not supported"),
            (
                [
                    "security.protocol": "SASL_SSL", "sasl.mechanism": "SCRAM-SHA-256",
                    "sasl.jaas.config":
                        "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"a\" password=\"\(password)\";",
                ], "logs in with org.apache.kafka.common.security.scram.ScramLoginModule"
            ),
            (
                [
                    "security.protocol": "SASL_SSL", "sasl.mechanism": "PLAIN",
                    "sasl.jaas.config":
                        "org.apache.kafka.common.security.plain.PlainLoginModule required password=\"\(password)",
                ], "not closed"
            ),
            (["security.protocol": "TLS"], "one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL"),
            (["sasl.pasword": password], "sasl.pasword"),
        ])
    func contradictions(settings: [String: String], expected: String) {
        let error = Self.error(settings)
        #expect(error?.code == .invalidConfiguration)
        #expect(error?.message.contains(expected) == true, "\(error.map { "\($0)" } ?? "no error")")
        #expect(error.map { "\($0)" }?.contains(Self.password) == false)
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var settings: [String: String]
        var check: @Sendable (KafkaProducerConfiguration) -> Bool
        var testDescription: String { settings.keys.sorted().joined(separator: ",") }
    }

    static let tls = ["security.protocol": "SSL"]
    static let cases: [Case] = [
        Case(settings: ["security.protocol": "ssl"]) { $0.securityProtocol == .ssl && $0.sasl == nil },
        Case(settings: tls.merging(["ssl.truststore.type": "pem", "ssl.keystore.type": "PEM"]) { $1 }) {
            $0.properties["ssl.truststore.type"] == "PEM"
        },
        Case(settings: tls.merging(["ssl.truststore.location": " /etc/ca.pem "]) { $1 }) {
            $0.tls.truststoreLocation == "/etc/ca.pem"
        },
        Case(settings: tls.merging(["ssl.truststore.certificates": "-----BEGIN CERTIFICATE-----"]) { $1 }) {
            $0.tls.truststoreCertificates == "-----BEGIN CERTIFICATE-----"
        },
        Case(settings: tls.merging(["ssl.keystore.location": "/k.pem", "ssl.key.password": "pw"]) { $1 }) {
            $0.tls.keystoreLocation == "/k.pem" && $0.tls.keyPassword?.value == "pw"
                && $0.properties["ssl.key.password"] == nil
        },
        Case(settings: tls.merging(["ssl.keystore.certificate.chain": "chain", "ssl.keystore.key": "key"]) { $1 }) {
            $0.tls.keystoreCertificateChain == "chain" && $0.tls.keystoreKey?.value == "key"
                && $0.properties["ssl.keystore.key"] == nil
        },
        Case(settings: tls.merging(["ssl.endpoint.identification.algorithm": ""]) { $1 }) {
            !$0.tls.endpointIdentification && $0.properties["ssl.endpoint.identification.algorithm"] == ""
        },
        Case(settings: tls.merging(["ssl.enabled.protocols": "TLSv1.3"]) { $1 }) {
            $0.tls.enabledProtocols == [.tls13]
        },
        Case(settings: tls.merging(["ssl.protocol": "TLSv1.2"]) { $1 }) {
            $0.tls.enabledProtocols == [.tls12, .tls13]
        },
        Case(
            settings: [
                "security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "scram-sha-256", "sasl.username": "u",
                "sasl.password": "p",
            ]
        ) { $0.sasl == KafkaSASLConfiguration(mechanism: .scramSHA256, username: "u", password: KafkaSecret("p")) },
        Case(
            settings: [
                "security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "PLAIN",
                "sasl.jaas.config":
                    "org.apache.kafka.common.security.plain.PlainLoginModule required username=u password=\"p;\\\"q\";",
            ]
        ) { $0.sasl == KafkaSASLConfiguration(mechanism: .plain, username: "u", password: KafkaSecret(#"p;"q"#)) },
    ]

    @Test("every security key is parsed", arguments: cases)
    func parses(_ testCase: Case) throws {
        #expect(testCase.check(try Self.configuration(testCase.settings)))
    }

    @Test func casesCoverTheTable() {
        let tested = Set(Self.cases.flatMap(\.settings.keys)).union(["ssl.keystore.password"])
        #expect(tested == Set(KafkaProducerConfiguration.securityProperties.map(\.name)))
    }

    /// The PEM files are read when the producer starts (and by `checkSecurityMaterial`): a
    /// missing file or a wrong passphrase fails there, naming the setting, never the passphrase.
    @Test func securityMaterialIsCheckedUpFront() throws {
        let certificates = try SecurityFront.certificates()
        let ca = certificates.appendingPathComponent("ca.pem").path
        let keystore = certificates.appendingPathComponent("client.pem").path
        let good = try Self.configuration([
            "security.protocol": "SSL", "ssl.truststore.location": ca, "ssl.keystore.location": keystore,
            "ssl.key.password": try String(
                contentsOf: certificates.appendingPathComponent("client.pass"), encoding: .utf8
            )
            .trimmingCharacters(in: .whitespacesAndNewlines),
        ])
        try good.checkSecurityMaterial()

        var missing = good
        missing.tls.truststoreLocation = "/nonexistent/ca.pem"
        let missingError = #expect(throws: KafkaProducerError.self) { try missing.checkSecurityMaterial() }
        #expect(missingError?.message.contains("ssl.truststore.location=/nonexistent/ca.pem") == true)

        var wrongPassphrase = good
        wrongPassphrase.tls.keyPassword = KafkaSecret(Self.password)
        let keyError = #expect(throws: KafkaProducerError.self) { try wrongPassphrase.checkSecurityMaterial() }
        #expect(keyError?.message.contains("ssl.keystore.location=\(keystore)") == true, "\(keyError!)")
        #expect(keyError.map { "\($0)" }?.contains(Self.password) == false)
        #expect(throws: KafkaProducerError.self) { _ = try KafkaProducer(configuration: wrongPassphrase) }

        var notPEM = good
        notPEM.tls.keystoreLocation = nil
        notPEM.tls.keyPassword = nil
        notPEM.tls.truststoreLocation = certificates.appendingPathComponent("client.pass").path
        let pemError = #expect(throws: KafkaProducerError.self) { try notPEM.checkSecurityMaterial() }
        #expect(pemError?.message.contains("ssl.truststore.location") == true, "\(pemError!)")
    }
}
