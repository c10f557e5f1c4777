import NIOCore

/// ApiVersions request (key 18), v0–v4: the first request on every connection.
///
/// v3+ (flexible) carries the client's software name and version, which a broker checks against
/// `[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?`. Both fields are *ignorable* in the schema: at
/// v0–v2 they are silently left out, so one value can be re-sent at a lower version after the
/// broker answered UNSUPPORTED_VERSION.
public struct ApiVersionsRequest: KafkaRequestMessage, Hashable {
    public static let apiKey = KafkaApiKey.apiVersions
    public static let supportedVersions: ClosedRange<Int16> = 0...4
    public static let firstFlexibleVersion: Int16? = 3

    /// `ClientSoftwareName` (v3+): the name of the client. Ignored at v0–v2.
    public var clientSoftwareName: String
    /// `ClientSoftwareVersion` (v3+): the version of the client. Ignored at v0–v2.
    public var clientSoftwareVersion: String

    /// Creates a request; the defaults are the schema's (empty strings).
    public init(clientSoftwareName: String = "", clientSoftwareVersion: String = "") {
        self.clientSoftwareName = clientSoftwareName
        self.clientSoftwareVersion = clientSoftwareVersion
    }

    public func write(into buffer: inout ByteBuffer, version: Int16) throws {
        try Self.checkVersion(version)
        guard version >= 3 else { return }
        let location = "ApiVersionsRequest v\(version) "
        try buffer.writeKafkaString(
            clientSoftwareName, flexible: true, nullable: false, at: location + ".ClientSoftwareName")
        try buffer.writeKafkaString(
            clientSoftwareVersion, flexible: true, nullable: false, at: location + ".ClientSoftwareVersion")
        buffer.writeEmptyTaggedFields()
    }
}
