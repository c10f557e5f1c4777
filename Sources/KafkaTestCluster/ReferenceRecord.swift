/// A record for ``KafkaTestCluster/produceWithReferenceClient(topic:records:)``: the harness's own
/// librdkafka producer, used to test the harness, never the code under test.
public struct ReferenceRecord: Sendable, Equatable {
    /// The partition, or `nil` for librdkafka's partitioner.
    public var partition: Int32?
    /// The key; `nil` for a null key.
    public var key: [UInt8]?
    /// The value; `nil` for a null value.
    public var value: [UInt8]?
    /// The headers in order.
    public var headers: [ReferenceHeader]

    /// Creates a record.
    public init(partition: Int32? = nil, key: [UInt8]?, value: [UInt8]?, headers: [ReferenceHeader] = []) {
        self.partition = partition
        self.key = key
        self.value = value
        self.headers = headers
    }
}

/// One header of a ``ReferenceRecord``.
public struct ReferenceHeader: Sendable, Hashable {
    /// The header name.
    public var name: String
    /// The header value; `nil` for a null value.
    public var value: [UInt8]?

    /// Creates a header.
    public init(name: String, value: [UInt8]?) {
        self.name = name
        self.value = value
    }
}
