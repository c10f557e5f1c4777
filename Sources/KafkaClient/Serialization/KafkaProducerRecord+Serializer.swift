import KafkaWire
import NIOCore

extension KafkaProducerRecord {
    /// A record whose key and value are serialized from typed values.
    ///
    /// A nil key or value stays Kafka's null; the serializer is not called for it.
    ///
    /// - Parameters:
    ///   - allocator: allocates the key and value buffers.
    /// - Throws: `KafkaProducerError(.serializationFailed)` naming the topic and whether the key
    ///   or the value failed, with the serializer's error as cause (a serializer's own
    ///   `KafkaProducerError` is passed on unchanged).
    public init<KeySerializer: KafkaSerializer, ValueSerializer: KafkaSerializer>(
        topic: String, partition: Int32? = nil, key: KeySerializer.Value?, keySerializer: KeySerializer,
        value: ValueSerializer.Value?, valueSerializer: ValueSerializer, headers: [KafkaRecordHeader] = [],
        timestamp: Int64? = nil, allocator: ByteBufferAllocator = ByteBufferAllocator()
    ) throws {
        let keyBuffer = try key.map {
            try Self.serialize($0, with: keySerializer, allocator: allocator, what: "key", topic: topic)
        }
        let valueBuffer = try value.map {
            try Self.serialize($0, with: valueSerializer, allocator: allocator, what: "value", topic: topic)
        }
        self.init(
            topic: topic, partition: partition, key: keyBuffer, value: valueBuffer, headers: headers,
            timestamp: timestamp)
    }

    private static func serialize<S: KafkaSerializer>(
        _ value: S.Value, with serializer: S, allocator: ByteBufferAllocator, what: String, topic: String
    ) throws -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 0)
        do {
            try serializer.serialize(value, into: &buffer)
        } catch let error as KafkaProducerError {
            throw error
        } catch {
            throw KafkaProducerError(
                .serializationFailed, "The \(what) serializer \(S.self) failed for a record of topic \(topic)",
                cause: error)
        }
        return buffer
    }
}
