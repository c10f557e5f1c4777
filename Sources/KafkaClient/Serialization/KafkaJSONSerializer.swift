import NIOCore

// FoundationEssentials has JSONEncoder without Foundation's ICU, whose tables cost the agent
// megabytes of resident memory.
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Encodes values as JSON with Foundation's `JSONEncoder`.
public struct KafkaJSONSerializer<Value: Encodable>: KafkaSerializer {
    /// Builds the encoder for each call, so one serializer can be shared across tasks
    /// (`JSONEncoder` is a mutable class).
    private let makeEncoder: @Sendable () -> JSONEncoder

    /// - Parameter makeEncoder: returns the encoder to use, configured as needed (key and date
    ///   strategies, output formatting). Default: a plain `JSONEncoder`.
    public init(makeEncoder: @escaping @Sendable () -> JSONEncoder = { JSONEncoder() }) {
        self.makeEncoder = makeEncoder
    }

    /// Appends the JSON encoding of `value`.
    ///
    /// - Throws: `KafkaProducerError(.serializationFailed)` with the `EncodingError` as cause.
    public func serialize(_ value: Value, into buffer: inout ByteBuffer) throws {
        let data: Data
        do {
            data = try makeEncoder().encode(value)
        } catch {
            throw KafkaProducerError(
                .serializationFailed, "JSON encoding of \(Value.self) failed: \(error)", cause: error)
        }
        buffer.writeBytes(data)
    }
}
