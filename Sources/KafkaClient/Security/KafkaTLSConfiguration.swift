/// The `ssl.*` settings: what the brokers' certificates are checked against and, for mutual TLS,
/// which certificate this client presents. Only PEM is read (`ssl.truststore.type` and
/// `ssl.keystore.type` must be `PEM`); Java's JKS and PKCS12 stores convert with `keytool` and
/// `openssl`.
public struct KafkaTLSConfiguration: Sendable, Hashable {
    /// `ssl.truststore.location`: a PEM file of CA certificates the brokers' certificates must
    /// chain to. Default: none, so the system's trust store is used (unless
    /// `truststoreCertificates` is given).
    public var truststoreLocation: String?

    /// `ssl.truststore.certificates`: the same as PEM text. Default: none.
    public var truststoreCertificates: String?

    /// `ssl.keystore.location`: a PEM file holding this client's private key and its certificate
    /// chain, for brokers that ask for a client certificate (`ssl.client.auth=required`).
    /// Default: none.
    public var keystoreLocation: String?

    /// `ssl.keystore.certificate.chain`: the client's certificate chain as PEM text. Default: none.
    public var keystoreCertificateChain: String?

    /// `ssl.keystore.key`: the client's private key as PEM text. Default: none.
    public var keystoreKey: KafkaSecret?

    /// `ssl.key.password`: the passphrase of an encrypted private key. Default: none.
    public var keyPassword: KafkaSecret?

    /// `ssl.endpoint.identification.algorithm`: `https` checks that a broker's certificate names
    /// the host connected to (its DNS name, or for an IP address its IP); empty turns that off,
    /// leaving only the chain check. Default: true (`https`).
    public var endpointIdentification: Bool = true

    /// `ssl.enabled.protocols`: the TLS versions offered. Default: TLSv1.2 and TLSv1.3.
    public var enabledProtocols: [KafkaTLSVersion] = [.tls12, .tls13]

    public init() {}

    /// Whether this client presents a certificate.
    public var hasClientCertificate: Bool {
        keystoreLocation != nil || keystoreCertificateChain != nil
    }
}

/// A TLS version under the Java client's name (`TLSv1.2`, `TLSv1.3`).
public enum KafkaTLSVersion: String, Sendable, Hashable, CaseIterable, Comparable {
    case tls12 = "TLSv1.2"
    case tls13 = "TLSv1.3"

    public static func < (lhs: KafkaTLSVersion, rhs: KafkaTLSVersion) -> Bool {
        lhs == .tls12 && rhs == .tls13
    }
}
