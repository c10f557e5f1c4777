import NIOSSL

#if canImport(Glibc)
    import Glibc
#endif

extension KafkaTLSConfiguration {
    /// Reads the PEM files and builds the TLS context every connection of a producer shares.
    /// Errors name the setting and the file, never a key or a passphrase.
    ///
    /// - Throws: `KafkaProducerError(.invalidConfiguration)`.
    func makeContext() throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = enabledProtocols.min() == .tls12 ? .tlsv12 : .tlsv13
        configuration.maximumTLSVersion = enabledProtocols.max() == .tls13 ? .tlsv13 : .tlsv12
        configuration.certificateVerification = endpointIdentification ? .fullVerification : .noHostnameVerification
        if let path = truststoreLocation {
            try Self.requireReadable(path, key: "ssl.truststore.location")
            let certificates = try Self.loading("ssl.truststore.location=\(path)") {
                try NIOSSLCertificate.fromPEMFile(path)
            }
            configuration.trustRoots = .certificates(try Self.nonEmpty(certificates, "ssl.truststore.location=\(path)"))
        } else if let pem = truststoreCertificates {
            let certificates = try Self.loading("ssl.truststore.certificates") {
                try NIOSSLCertificate.fromPEMBytes(Array(pem.utf8))
            }
            configuration.trustRoots = .certificates(try Self.nonEmpty(certificates, "ssl.truststore.certificates"))
        }
        if let path = keystoreLocation {
            try Self.requireReadable(path, key: "ssl.keystore.location")
            let chain = try Self.loading("ssl.keystore.location=\(path)") { try NIOSSLCertificate.fromPEMFile(path) }
            configuration.certificateChain = try Self.nonEmpty(chain, "ssl.keystore.location=\(path)").map {
                .certificate($0)
            }
            configuration.privateKey = .privateKey(
                try privateKey(from: "ssl.keystore.location=\(path)") { callback in
                    try NIOSSLPrivateKey(file: path, format: .pem, passphraseCallback: callback)
                })
        } else if let chainText = keystoreCertificateChain, let key = keystoreKey {
            let chain = try Self.loading("ssl.keystore.certificate.chain") {
                try NIOSSLCertificate.fromPEMBytes(Array(chainText.utf8))
            }
            configuration.certificateChain = try Self.nonEmpty(chain, "ssl.keystore.certificate.chain").map {
                .certificate($0)
            }
            configuration.privateKey = .privateKey(
                try privateKey(from: "ssl.keystore.key") { callback in
                    try NIOSSLPrivateKey(bytes: Array(key.value.utf8), format: .pem, passphraseCallback: callback)
                })
        }
        return try Self.loading("the TLS settings") { try NIOSSLContext(configuration: configuration) }
    }

    /// Reads the key, answering a passphrase request with `ssl.key.password` (or an empty one,
    /// which fails, rather than BoringSSL asking on a terminal).
    private func privateKey(
        from place: String, _ read: (@escaping NIOSSLPassphraseCallback<[UInt8]>) throws -> NIOSSLPrivateKey
    ) throws -> NIOSSLPrivateKey {
        let passphrase = Array((keyPassword?.value ?? "").utf8)
        do {
            return try read { setter in setter(passphrase) }
        } catch {
            let hint =
                keyPassword == nil
                ? " (an encrypted key needs ssl.key.password)" : " (is ssl.key.password the key's passphrase?)"
            throw KafkaProducerError(
                .invalidConfiguration, "\(place): no private key could be read\(hint)", cause: error)
        }
    }

    private static func requireReadable(_ path: String, key: String) throws {
        guard access(path, R_OK) == 0 else {
            let reason = String(cString: strerror(errno))
            throw KafkaProducerError(.invalidConfiguration, "\(key)=\(path) cannot be read: \(reason)")
        }
    }

    private static func loading<T>(_ place: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch {
            throw KafkaProducerError(.invalidConfiguration, "\(place) could not be loaded: \(error)", cause: error)
        }
    }

    private static func nonEmpty(_ certificates: [NIOSSLCertificate], _ place: String) throws -> [NIOSSLCertificate] {
        guard !certificates.isEmpty else {
            throw KafkaProducerError(.invalidConfiguration, "\(place) holds no PEM certificate")
        }
        return certificates
    }
}

extension KafkaProducerConfiguration {
    /// Reads what the security settings point at (the PEM files and keys), so that a missing file
    /// or a wrong key passphrase is found before the first connection. `KafkaProducer` does it
    /// when it starts; `tributary validate` calls it to check a pipeline file.
    ///
    /// - Throws: `KafkaProducerError(.invalidConfiguration)` naming the setting and the file.
    public func checkSecurityMaterial() throws {
        _ = try BrokerSecurity(configuration: self)
    }
}
