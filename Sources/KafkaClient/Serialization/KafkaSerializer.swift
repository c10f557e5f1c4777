import NIOCore

/// Turns a typed key or value into the bytes of a record.
///
/// Serializers append to a buffer the caller owns, so a record costs no extra allocation for
/// an intermediate array. They must not touch the buffer's bytes before its writer index.
/// Failures throw; `KafkaProducerRecord`'s serializing initializer reports them as
/// `KafkaProducerError` with code `.serializationFailed`.
public protocol KafkaSerializer: Sendable {
    /// The type this serializer accepts.
    associatedtype Value

    /// Appends the serialized form of `value` to `buffer`.
    func serialize(_ value: Value, into buffer: inout ByteBuffer) throws
}

/// Passes byte arrays through unchanged (Java's `ByteArraySerializer`).
public struct KafkaBytesSerializer: KafkaSerializer {
    public init() {}

    /// Appends `value`.
    public func serialize(_ value: [UInt8], into buffer: inout ByteBuffer) {
        buffer.writeBytes(value)
    }
}

/// Passes a buffer's readable bytes through unchanged (Java's `ByteBufferSerializer`).
public struct KafkaByteBufferSerializer: KafkaSerializer {
    public init() {}

    /// Appends the readable bytes of `value`.
    public func serialize(_ value: ByteBuffer, into buffer: inout ByteBuffer) {
        buffer.writeImmutableBuffer(value)
    }
}

/// Writes strings as UTF-8 (Java's `StringSerializer` with its default encoding).
public struct KafkaStringSerializer: KafkaSerializer {
    public init() {}

    /// Appends the UTF-8 bytes of `value`.
    public func serialize(_ value: String, into buffer: inout ByteBuffer) {
        buffer.writeString(value)
    }
}

/// Serializes with a closure, for formats without a dedicated serializer.
public struct KafkaClosureSerializer<Value>: KafkaSerializer {
    private let body: @Sendable (Value, inout ByteBuffer) throws -> Void

    /// - Parameter body: appends the bytes of a value to the buffer, or throws.
    public init(_ body: @escaping @Sendable (Value, inout ByteBuffer) throws -> Void) {
        self.body = body
    }

    /// Runs the closure.
    public func serialize(_ value: Value, into buffer: inout ByteBuffer) throws {
        try body(value, &buffer)
    }
}
