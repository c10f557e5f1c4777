import NIOSSL

/// What every connection of a producer needs to secure itself: the TLS context (built once, from
/// the PEM files) and the SASL credentials.
struct BrokerSecurity: Sendable {
    /// Nil for PLAINTEXT and SASL_PLAINTEXT.
    var tlsContext: NIOSSLContext?
    /// Nil for PLAINTEXT and SSL.
    var sasl: KafkaSASLConfiguration?

    static let plaintext = BrokerSecurity(tlsContext: nil, sasl: nil)

    init(tlsContext: NIOSSLContext?, sasl: KafkaSASLConfiguration?) {
        self.tlsContext = tlsContext
        self.sasl = sasl
    }

    /// Reads the TLS material of `configuration`.
    ///
    /// - Throws: `KafkaProducerError(.invalidConfiguration)` naming the setting and file.
    init(configuration: KafkaProducerConfiguration) throws {
        self.tlsContext = configuration.securityProtocol.usesTLS ? try configuration.tls.makeContext() : nil
        self.sasl = configuration.securityProtocol.usesSASL ? configuration.sasl : nil
    }
}
