import NIOCore

/// The header in front of every request body.
///
/// Version 1 carries the client id; version 2 adds a tagged-field section and is used whenever
/// the request body is flexible. The client id keeps its int16 length in both, so a broker can
/// read the header of a request version it does not know. (Version 0, without client id, was
/// only used by ControlledShutdown v0 and is gone from Kafka 4.0.)
public struct KafkaRequestHeader: Hashable, Sendable {
    public var requestApiKey: KafkaApiKey
    public var requestApiVersion: Int16
    public var correlationId: Int32
    public var clientId: String?

    public init(requestApiKey: KafkaApiKey, requestApiVersion: Int16, correlationId: Int32, clientId: String?) {
        self.requestApiKey = requestApiKey
        self.requestApiVersion = requestApiVersion
        self.correlationId = correlationId
        self.clientId = clientId
    }

    /// Appends the header in `headerVersion` (0, 1 or 2).
    @discardableResult
    public func write(into buffer: inout ByteBuffer, headerVersion: Int16) throws -> Int {
        guard (0...2).contains(headerVersion) else {
            throw KafkaWireError(.unsupportedVersion, "request header v\(headerVersion)", location: "RequestHeader")
        }
        var n = buffer.writeInteger(requestApiKey.rawValue)
        n += buffer.writeInteger(requestApiVersion)
        n += buffer.writeInteger(correlationId)
        if headerVersion >= 1 {
            n += buffer.writeKafkaNullableString(clientId, flexible: false)
        }
        if headerVersion >= 2 {
            n += buffer.writeEmptyTaggedFields()
        }
        return n
    }

    /// Reads a header (brokers do this; tests use it to inspect encoded frames).
    public static func read(from buffer: inout ByteBuffer, headerVersion: Int16) throws -> KafkaRequestHeader {
        let location = "RequestHeader v\(headerVersion)"
        let key = try buffer.readKafkaInteger(as: Int16.self, at: location + " .RequestApiKey")
        let version = try buffer.readKafkaInteger(as: Int16.self, at: location + " .RequestApiVersion")
        let correlationId = try buffer.readKafkaInteger(as: Int32.self, at: location + " .CorrelationId")
        var clientId: String? = nil
        if headerVersion >= 1 {
            clientId = try buffer.readKafkaNullableString(flexible: false, at: location + " .ClientId")
        }
        if headerVersion >= 2 {
            try buffer.readKafkaTaggedFields(at: location)
        }
        return KafkaRequestHeader(
            requestApiKey: KafkaApiKey(rawValue: key), requestApiVersion: version, correlationId: correlationId,
            clientId: clientId)
    }
}

/// The header in front of every response body: the correlation id, plus a tagged-field section
/// (version 1) when the response is flexible. ApiVersions responses always use version 0 so that
/// a client can read the header before it knows what the broker supports (KIP-511).
public struct KafkaResponseHeader: Hashable, Sendable {
    public var correlationId: Int32

    public init(correlationId: Int32) {
        self.correlationId = correlationId
    }

    /// The header version of the response to `apiKey` at a version whose flexibility is given.
    public static func headerVersion(apiKey: KafkaApiKey, isFlexible: Bool) -> Int16 {
        if apiKey == .apiVersions { return 0 }
        return isFlexible ? 1 : 0
    }

    public static func read(from buffer: inout ByteBuffer, headerVersion: Int16) throws -> KafkaResponseHeader {
        let location = "ResponseHeader v\(headerVersion)"
        let correlationId = try buffer.readKafkaInteger(as: Int32.self, at: location + " .CorrelationId")
        if headerVersion >= 1 {
            try buffer.readKafkaTaggedFields(at: location)
        }
        return KafkaResponseHeader(correlationId: correlationId)
    }

    @discardableResult
    public func write(into buffer: inout ByteBuffer, headerVersion: Int16) -> Int {
        var n = buffer.writeInteger(correlationId)
        if headerVersion >= 1 { n += buffer.writeEmptyTaggedFields() }
        return n
    }
}
