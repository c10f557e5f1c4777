import NIOCore

// Readers for Kafka's primitive types.
//
// Two layers, after the codec convention "read… returns nil when more bytes are needed; only
// malformed input throws":
// - `readUnsignedVarint()`, `readVarint()`, `readVarlong()` return nil when the input stops
//   mid-value and throw when a varint is longer than its type allows.
// - The `readKafka…(at:)` family is for message bodies, which are decoded from complete frames:
//   there a missing byte is malformed input, so they throw `.truncated` naming the field.
// On a throw or nil the reader index is left where it was.

extension ByteBuffer {
    /// Reads an unsigned LEB128 varint of at most 5 bytes. Nil when the input stops mid-value.
    @inlinable
    public mutating func readUnsignedVarint() throws -> UInt32? {
        var result: UInt32 = 0
        var shift: UInt32 = 0
        var index = readerIndex
        let end = writerIndex
        while index < end {
            let byte = getInteger(at: index, as: UInt8.self)!
            index += 1
            if shift == 28 && byte > 0x0F {
                throw KafkaWireError(.malformedVarint, "unsigned varint longer than 5 bytes")
            }
            result |= UInt32(byte & 0x7F) << shift
            if byte & 0x80 == 0 {
                moveReaderIndex(to: index)
                return result
            }
            shift += 7
        }
        return nil
    }

    /// Reads a zigzag varint (int32). Nil when the input stops mid-value.
    @inlinable
    public mutating func readVarint() throws -> Int32? {
        try readUnsignedVarint().map(Varint.unzigzag)
    }

    /// Reads a zigzag varlong (int64) of at most 10 bytes. Nil when the input stops mid-value.
    @inlinable
    public mutating func readVarlong() throws -> Int64? {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        var index = readerIndex
        let end = writerIndex
        while index < end {
            let byte = getInteger(at: index, as: UInt8.self)!
            index += 1
            if shift == 63 && byte > 0x01 {
                throw KafkaWireError(.malformedVarint, "varlong longer than 10 bytes")
            }
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 {
                moveReaderIndex(to: index)
                return Varint.unzigzag(result)
            }
            shift += 7
        }
        return nil
    }

    // MARK: - Throwing readers for complete message bodies

    /// Reads a big-endian fixed-width integer or throws `.truncated`.
    @inlinable
    public mutating func readKafkaInteger<T: FixedWidthInteger>(
        as: T.Type = T.self, at location: @autoclosure () -> String
    ) throws -> T {
        guard let value = readInteger(as: T.self) else {
            throw KafkaWireError(.truncated, "needed \(MemoryLayout<T>.size) bytes", location: location())
        }
        return value
    }

    /// Reads a one-byte boolean (any non-zero byte is true, as in Kafka's reader).
    public mutating func readKafkaBool(at location: @autoclosure () -> String) throws -> Bool {
        try readKafkaInteger(as: UInt8.self, at: location()) != 0
    }

    /// Reads a 16-byte UUID.
    public mutating func readKafkaUUID(at location: @autoclosure () -> String) throws -> KafkaUUID {
        let msb = try readKafkaInteger(as: UInt64.self, at: location())
        let lsb = try readKafkaInteger(as: UInt64.self, at: location())
        return KafkaUUID(mostSignificantBits: msb, leastSignificantBits: lsb)
    }

    /// Reads an unsigned varint that must be complete.
    public mutating func readKafkaUnsignedVarint(at location: @autoclosure () -> String) throws -> UInt32 {
        try requireComplete(at: location()) { try $0.readUnsignedVarint() }
    }

    /// Reads a zigzag varint that must be complete.
    public mutating func readKafkaVarint(at location: @autoclosure () -> String) throws -> Int32 {
        try requireComplete(at: location()) { try $0.readVarint() }
    }

    /// Reads a zigzag varlong that must be complete.
    public mutating func readKafkaVarlong(at location: @autoclosure () -> String) throws -> Int64 {
        try requireComplete(at: location()) { try $0.readVarlong() }
    }

    /// Runs a nil-when-incomplete reader on complete input: nil becomes `.truncated`, and errors
    /// without a location get this one.
    private mutating func requireComplete<T>(
        at location: @autoclosure () -> String, _ read: (inout ByteBuffer) throws -> T?
    ) throws -> T {
        do {
            guard let value = try read(&self) else {
                throw KafkaWireError(.truncated, "varint cut short", location: location())
            }
            return value
        } catch var error as KafkaWireError {
            if error.location.isEmpty { error.location = location() }
            throw error
        }
    }

    /// Reads the length prefix of a string or bytes field. Returns nil for null, else a length
    /// that has been checked against the bytes that remain.
    @usableFromInline
    mutating func readKafkaLength(
        flexible: Bool, wide: Bool, at location: @autoclosure () -> String
    ) throws -> Int? {
        let length: Int
        if flexible {
            let raw = try readKafkaUnsignedVarint(at: location())
            if raw == 0 { return nil }
            length = Int(raw) - 1
        } else if wide {
            let raw = try readKafkaInteger(as: Int32.self, at: location())
            if raw == -1 { return nil }
            guard raw >= 0 else {
                throw KafkaWireError(.invalidLength, "negative length \(raw)", location: location())
            }
            length = Int(raw)
        } else {
            let raw = try readKafkaInteger(as: Int16.self, at: location())
            if raw == -1 { return nil }
            guard raw >= 0 else {
                throw KafkaWireError(.invalidLength, "negative length \(raw)", location: location())
            }
            length = Int(raw)
        }
        guard length <= readableBytes else {
            throw KafkaWireError(
                .truncated, "length \(length) exceeds the \(readableBytes) bytes left", location: location())
        }
        return length
    }

    /// Reads a nullable string (int16 length, or compact when flexible).
    public mutating func readKafkaNullableString(
        flexible: Bool, at location: @autoclosure () -> String
    ) throws -> String? {
        guard let length = try readKafkaLength(flexible: flexible, wide: false, at: location()) else {
            return nil
        }
        guard let view = readSlice(length: length),
            let string = view.getString(at: view.readerIndex, length: length)
        else {
            throw KafkaWireError(.truncated, "string cut short", location: location())
        }
        guard string.utf8.elementsEqual(view.readableBytesView) else {
            throw KafkaWireError(.invalidValue, "string is not valid UTF-8", location: location())
        }
        return string
    }

    /// Reads a string that must not be null.
    public mutating func readKafkaString(flexible: Bool, at location: @autoclosure () -> String) throws -> String {
        guard let value = try readKafkaNullableString(flexible: flexible, at: location()) else {
            throw KafkaWireError(.invalidValue, "null where a string is required", location: location())
        }
        return value
    }

    /// Reads nullable bytes (int32 length, or compact when flexible) as a slice of this buffer.
    public mutating func readKafkaNullableBytes(
        flexible: Bool, at location: @autoclosure () -> String
    ) throws -> ByteBuffer? {
        guard let length = try readKafkaLength(flexible: flexible, wide: true, at: location()) else {
            return nil
        }
        return readSlice(length: length)!
    }

    /// Reads bytes that must not be null.
    public mutating func readKafkaBytes(flexible: Bool, at location: @autoclosure () -> String) throws -> ByteBuffer {
        guard let value = try readKafkaNullableBytes(flexible: flexible, at: location()) else {
            throw KafkaWireError(.invalidValue, "null where bytes are required", location: location())
        }
        return value
    }

    /// Reads an array count: nil for a null array. The count is checked against the bytes left,
    /// assuming each element takes at least `minimumElementSize` bytes, so a corrupt count can
    /// never make the caller reserve more than the input justifies.
    public mutating func readKafkaArrayCount(
        flexible: Bool, minimumElementSize: Int = 1, at location: @autoclosure () -> String
    ) throws -> Int? {
        let count: Int
        if flexible {
            let raw = try readKafkaUnsignedVarint(at: location())
            if raw == 0 { return nil }
            count = Int(raw) - 1
        } else {
            let raw = try readKafkaInteger(as: Int32.self, at: location())
            if raw == -1 { return nil }
            guard raw >= 0 else {
                throw KafkaWireError(.invalidLength, "negative array count \(raw)", location: location())
            }
            count = Int(raw)
        }
        guard count <= readableBytes / max(minimumElementSize, 1) else {
            throw KafkaWireError(
                .invalidLength, "array count \(count) exceeds what \(readableBytes) bytes can hold",
                location: location())
        }
        return count
    }

    /// Reads an array count where null is not allowed.
    public mutating func readKafkaRequiredArrayCount(
        flexible: Bool, minimumElementSize: Int = 1, at location: @autoclosure () -> String
    ) throws -> Int {
        guard
            let count = try readKafkaArrayCount(
                flexible: flexible, minimumElementSize: minimumElementSize, at: location())
        else {
            throw KafkaWireError(.invalidValue, "null where an array is required", location: location())
        }
        return count
    }

    /// Reads a tagged-field section, handing each known tag's payload to `handle` and skipping
    /// the rest. `handle` returns false for tags it does not know.
    public mutating func readKafkaTaggedFields(
        at location: @autoclosure () -> String,
        _ handle: (_ tag: UInt32, _ payload: inout ByteBuffer) throws -> Bool = { _, _ in false }
    ) throws {
        let count = try readKafkaUnsignedVarint(at: location() + " tagged fields")
        guard count <= readableBytes / 2 else {
            throw KafkaWireError(
                .invalidLength, "tagged field count \(count) exceeds the input", location: location())
        }
        var previous: UInt32? = nil
        for _ in 0..<count {
            let tag = try readKafkaUnsignedVarint(at: location() + " tag")
            if let previous, tag <= previous {
                throw KafkaWireError(
                    .invalidValue, "tags out of order (\(tag) after \(previous))", location: location())
            }
            previous = tag
            let size = Int(try readKafkaUnsignedVarint(at: location() + " tag \(tag) size"))
            guard var payload = readSlice(length: size) else {
                throw KafkaWireError(.truncated, "tag \(tag) payload of \(size) bytes cut short", location: location())
            }
            _ = try handle(tag, &payload)
        }
    }
}
