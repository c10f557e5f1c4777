import NIOCore

// Helpers shared by the message codecs in this folder.
//
// Locations: a message decoder reads its fields with paths relative to the struct being read
// (".BaseOffset"). Arrays prefix their element index (".PartitionResponses[1]") and the message
// prefixes its name and version ("ProduceResponse v9 "), but only when an error passes through,
// so the happy path builds no strings. The result is a schema path such as
// "ProduceResponse v9 .Responses[0].PartitionResponses[1].BaseOffset".

/// Runs `body`, prefixing the location of any `KafkaWireError` it throws with `prefix`.
func withKafkaLocation<T>(_ prefix: @autoclosure () -> String, _ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch var error as KafkaWireError {
        error.location = prefix() + error.location
        throw error
    }
}

extension ByteBuffer {
    /// Reads a nullable array whose elements `readElement` decodes. The count is bounded by the
    /// bytes left divided by `minimumElementSize`, so a corrupt count cannot cause a large
    /// allocation. Errors inside an element are located at `location[index]`.
    mutating func readKafkaNullableArray<Element>(
        flexible: Bool, minimumElementSize: Int, at location: @autoclosure () -> String,
        _ readElement: (inout ByteBuffer) throws -> Element
    ) throws -> [Element]? {
        guard
            let count = try readKafkaArrayCount(
                flexible: flexible, minimumElementSize: minimumElementSize, at: location())
        else { return nil }
        var elements: [Element] = []
        elements.reserveCapacity(count)
        for index in 0..<count {
            do {
                elements.append(try readElement(&self))
            } catch var error as KafkaWireError {
                error.location = "\(location())[\(index)]" + error.location
                throw error
            }
        }
        return elements
    }

    /// Reads an array that must not be null (see `readKafkaNullableArray`).
    mutating func readKafkaArray<Element>(
        flexible: Bool, minimumElementSize: Int, at location: @autoclosure () -> String,
        _ readElement: (inout ByteBuffer) throws -> Element
    ) throws -> [Element] {
        guard
            let elements = try readKafkaNullableArray(
                flexible: flexible, minimumElementSize: minimumElementSize, at: location(), readElement)
        else {
            throw KafkaWireError(.invalidValue, "null where an array is required", location: location())
        }
        return elements
    }

    /// Reads an array of int32 values (broker ids).
    mutating func readKafkaInt32Array(flexible: Bool, at location: @autoclosure () -> String) throws -> [Int32] {
        try readKafkaArray(flexible: flexible, minimumElementSize: 4, at: location()) {
            try $0.readKafkaInteger(as: Int32.self, at: "")
        }
    }

    /// Reads a string; null is accepted only when `nullable` (the field's nullableVersions).
    mutating func readKafkaString(
        flexible: Bool, nullable: Bool, at location: @autoclosure () -> String
    ) throws -> String? {
        nullable
            ? try readKafkaNullableString(flexible: flexible, at: location())
            : try readKafkaString(flexible: flexible, at: location())
    }

    /// Fails unless a known tagged field's payload was read to its end.
    func requireKafkaTaggedPayloadConsumed(at location: @autoclosure () -> String) throws {
        guard readableBytes == 0 else {
            throw KafkaWireError(
                .invalidLength, "\(readableBytes) bytes left inside the tagged field", location: location())
        }
    }

    /// Writes a string field of a request, rejecting what the wire cannot carry: null where the
    /// version does not allow it, and strings longer than 32767 UTF-8 bytes (Kafka's limit for
    /// every string, compact or not).
    @discardableResult
    mutating func writeKafkaString(
        _ value: String?, flexible: Bool, nullable: Bool, at location: @autoclosure () -> String
    ) throws -> Int {
        guard let value else {
            guard nullable else {
                throw KafkaWireError(.invalidValue, "null is not allowed in this version", location: location())
            }
            return writeKafkaNullableString(nil, flexible: flexible)
        }
        guard value.utf8.count <= Int(Int16.max) else {
            throw KafkaWireError(
                .invalidValue, "string of \(value.utf8.count) bytes exceeds 32767", location: location())
        }
        return writeKafkaNullableString(value, flexible: flexible)
    }

    /// Writes the end-of-struct tagged-field section (empty) when the version is flexible.
    @discardableResult
    mutating func writeKafkaTaggedFieldsIfFlexible(_ flexible: Bool) -> Int {
        flexible ? writeEmptyTaggedFields() : 0
    }
}

/// The smallest encodings of a version's variable-length types, used to bound array counts by
/// the bytes left: a string takes at least 1 (compact) or 2 bytes, an array 1 or 4, a tagged
/// section 1 (flexible) or 0.
struct MinimumEncodedSize {
    let string: Int
    let array: Int
    let tags: Int

    init(flexible: Bool) {
        string = flexible ? 1 : 2
        array = flexible ? 1 : 4
        tags = flexible ? 1 : 0
    }
}
