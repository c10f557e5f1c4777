import KafkaWire

/// The `security.protocol`, `ssl.*` and `sasl.*` keys: their table rows and the checks across them.
///
/// Where this client differs from Java's:
/// * `ssl.truststore.type` and `ssl.keystore.type` take `PEM` only, and default to it (Java's
///   default is JKS).
/// * `sasl.username` and `sasl.password` (librdkafka's names) may stand in for `sasl.jaas.config`.
/// * `ssl.protocol` is checked (`TLSv1.2`, `TLSv1.3`, `TLS`) and not honoured:
///   `ssl.enabled.protocols` decides which versions are offered.
/// * `sasl.*` settings without a SASL `security.protocol`, and `ssl.*` store settings without a
///   TLS one, are errors: Java ignores them, which leaves a forgotten `security.protocol`
///   sending credentials nowhere and connecting in plain text.
extension KafkaProducerConfiguration {
    static let securityProperties: [Property] = [
        Property(
            name: "security.protocol",
            apply: { config, value in
                guard let parsed = KafkaSecurityProtocol(rawValue: trimmed(value).uppercased()) else {
                    throw invalidValue(
                        "security.protocol", value,
                        expected: "one of " + KafkaSecurityProtocol.allCases.map(\.rawValue).joined(separator: ", "))
                }
                config.securityProtocol = parsed
            },
            read: { $0.securityProtocol.rawValue }),
        storeType("ssl.truststore.type"),
        Property(
            name: "ssl.truststore.location", apply: { $0.tls.truststoreLocation = nonEmpty($1) },
            read: { $0.tls.truststoreLocation }),
        Property(
            name: "ssl.truststore.certificates", apply: { $0.tls.truststoreCertificates = nonEmpty($1) },
            read: { $0.tls.truststoreCertificates }),
        storeType("ssl.keystore.type"),
        Property(
            name: "ssl.keystore.location", apply: { $0.tls.keystoreLocation = nonEmpty($1) },
            read: { $0.tls.keystoreLocation }),
        Property(
            name: "ssl.keystore.certificate.chain", apply: { $0.tls.keystoreCertificateChain = nonEmpty($1) },
            read: { $0.tls.keystoreCertificateChain }),
        Property(
            name: "ssl.keystore.key", apply: { $0.tls.keystoreKey = nonEmpty($1).map(KafkaSecret.init) },
            read: { _ in nil }),
        Property(
            name: "ssl.key.password", apply: { $0.tls.keyPassword = nonEmpty($1).map(KafkaSecret.init) },
            read: { _ in nil }),
        Property(
            name: "ssl.keystore.password",
            apply: { _, _ in
                throw KafkaProducerError(
                    .invalidConfiguration,
                    "ssl.keystore.password does not apply to PEM keystores; give the private key's passphrase as "
                        + "ssl.key.password")
            }, read: { _ in nil }),
        Property(
            name: "ssl.endpoint.identification.algorithm",
            apply: { config, value in
                switch trimmed(value).lowercased() {
                case "https": config.tls.endpointIdentification = true
                case "": config.tls.endpointIdentification = false
                default:
                    throw invalidValue(
                        "ssl.endpoint.identification.algorithm", value,
                        expected: "https (check the broker's host name) or empty (do not)")
                }
            },
            read: { $0.tls.endpointIdentification ? "https" : "" }),
        Property(
            name: "ssl.enabled.protocols",
            apply: { config, value in
                var versions: [KafkaTLSVersion] = []
                for name in value.split(separator: ",").map({ trimmed(String($0)) }) where !name.isEmpty {
                    guard let version = KafkaTLSVersion(rawValue: name) else {
                        throw invalidValue(
                            "ssl.enabled.protocols", value,
                            expected: "a comma list of TLSv1.2, TLSv1.3 (TLS 1.2 and up)")
                    }
                    if !versions.contains(version) { versions.append(version) }
                }
                guard !versions.isEmpty else {
                    throw invalidValue("ssl.enabled.protocols", value, expected: "at least one of TLSv1.2, TLSv1.3")
                }
                config.tls.enabledProtocols = versions.sorted()
            },
            read: { $0.tls.enabledProtocols.map(\.rawValue).joined(separator: ",") }),
        Property(
            name: "ssl.protocol",
            apply: { _, value in
                guard ["TLSv1.2", "TLSv1.3", "TLS"].contains(trimmed(value)) else {
                    throw invalidValue("ssl.protocol", value, expected: "TLSv1.3, TLSv1.2 or TLS")
                }
            }, read: { _ in nil }),
        Property(
            name: "sasl.mechanism",
            apply: { config, value in
                let name = trimmed(value).uppercased()
                guard let mechanism = KafkaSASLMechanism(rawValue: name) else {
                    let supported = KafkaSASLMechanism.allCases.map(\.rawValue).joined(separator: ", ")
                    if ["GSSAPI", "OAUTHBEARER"].contains(name) {
                        throw KafkaProducerError(
                            .invalidConfiguration, "sasl.mechanism=\(name) is not supported; use one of \(supported)")
                    }
                    throw invalidValue("sasl.mechanism", value, expected: "one of \(supported)")
                }
                config.saslMechanism = mechanism
            },
            read: { $0.saslMechanism?.rawValue }),
        Property(name: "sasl.username", apply: { $0.saslUsername = $1 }, read: { $0.saslUsername }),
        Property(name: "sasl.password", apply: { $0.saslPassword = KafkaSecret($1) }, read: { _ in nil }),
        Property(
            name: "sasl.jaas.config",
            apply: { config, value in
                let jaas = try JAASConfiguration.parse(value)
                guard let username = jaas.options["username"], let password = jaas.options["password"] else {
                    throw KafkaProducerError(
                        .invalidConfiguration, "sasl.jaas.config needs both the username and the password option")
                }
                if let other = jaas.options.keys.sorted().first(where: { !["username", "password"].contains($0) }) {
                    throw KafkaProducerError(
                        .invalidConfiguration,
                        "sasl.jaas.config: option \(other) is not supported (only username and password are)")
                }
                config.saslLoginModule = jaas.loginModule
                config.saslUsername = username
                config.saslPassword = KafkaSecret(password)
            },
            read: { _ in nil }),
    ]

    static func storeType(_ name: String) -> Property {
        Property(
            name: name,
            apply: { _, value in
                guard trimmed(value).uppercased() == "PEM" else {
                    throw KafkaProducerError(
                        .invalidConfiguration,
                        "\(name)=\(trimmed(value)) is not supported; only PEM is (convert JKS or PKCS12 stores with "
                            + "keytool -importkeystore and openssl pkcs12)")
                }
            },
            read: { _ in "PEM" })
    }

    static func nonEmpty(_ value: String) -> String? {
        let text = trimmed(value)
        return text.isEmpty ? nil : text
    }

    /// The checks of `validate()` across the security settings.
    func validateSecurity() throws {
        let name = "security.protocol=\(securityProtocol)"
        if securityProtocol.usesSASL {
            guard let mechanism = saslMechanism else {
                throw KafkaProducerError(
                    .invalidConfiguration,
                    "\(name) needs sasl.mechanism (\(KafkaSASLMechanism.allCases.map(\.rawValue).joined(separator: ", ")))"
                )
            }
            guard saslUsername != nil, saslPassword != nil else {
                throw KafkaProducerError(
                    .invalidConfiguration, "\(name) needs sasl.jaas.config, or sasl.username and sasl.password")
            }
            if let module = saslLoginModule, module != mechanism.loginModule {
                throw KafkaProducerError(
                    .invalidConfiguration,
                    "sasl.jaas.config names \(module), but sasl.mechanism=\(mechanism) logs in with \(mechanism.loginModule)"
                )
            }
        } else if saslMechanism != nil || saslUsername != nil || saslPassword != nil {
            throw KafkaProducerError(
                .invalidConfiguration,
                "sasl settings are given but \(name) does not authenticate; set security.protocol=SASL_SSL "
                    + "(or SASL_PLAINTEXT)")
        }
        let storeKeys = [
            ("ssl.truststore.location", tls.truststoreLocation != nil),
            ("ssl.truststore.certificates", tls.truststoreCertificates != nil),
            ("ssl.keystore.location", tls.keystoreLocation != nil),
            ("ssl.keystore.certificate.chain", tls.keystoreCertificateChain != nil),
            ("ssl.keystore.key", tls.keystoreKey != nil), ("ssl.key.password", tls.keyPassword != nil),
        ]
        if !securityProtocol.usesTLS, let (key, _) = storeKeys.first(where: \.1) {
            throw KafkaProducerError(
                .invalidConfiguration,
                "\(key) is given but \(name) does not use TLS; set security.protocol=SSL (or SASL_SSL)")
        }
        if tls.truststoreLocation != nil && tls.truststoreCertificates != nil {
            throw KafkaProducerError(
                .invalidConfiguration, "give either ssl.truststore.location or ssl.truststore.certificates, not both")
        }
        if tls.keystoreLocation != nil && (tls.keystoreCertificateChain != nil || tls.keystoreKey != nil) {
            throw KafkaProducerError(
                .invalidConfiguration,
                "give either ssl.keystore.location or ssl.keystore.certificate.chain with ssl.keystore.key, not both")
        }
        if (tls.keystoreCertificateChain != nil) != (tls.keystoreKey != nil) {
            throw KafkaProducerError(
                .invalidConfiguration, "ssl.keystore.certificate.chain and ssl.keystore.key go together")
        }
        if tls.keyPassword != nil && !tls.hasClientCertificate {
            throw KafkaProducerError(
                .invalidConfiguration, "ssl.key.password is given without a keystore (ssl.keystore.location)")
        }
    }
}
