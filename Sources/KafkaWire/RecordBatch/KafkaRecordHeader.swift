import NIOCore

/// A record header: a non-null UTF-8 key and a nullable value.
public struct KafkaRecordHeader: Hashable, Sendable {
    public var key: String
    public var value: ByteBuffer?

    public init(key: String, value: ByteBuffer?) {
        self.key = key
        self.value = value
    }

    public init(key: String, value: some Collection<UInt8>) {
        self.key = key
        self.value = ByteBuffer(bytes: value)
    }
}
