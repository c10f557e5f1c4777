import NIOCore

/// Builds one RecordBatch v2, appending records straight into the batch buffer.
///
/// The 61-byte header is written as a placeholder first; `finish` compresses the records section
/// once (if asked), then back-patches lengths, counts and timestamps and computes the CRC-32C over
/// the final bytes — so a record is encoded exactly once and never copied on the uncompressed
/// path. Each record's length prefix is computed up front from the field sizes rather than
/// back-patched, which keeps appends to a single reservation.
///
/// The producer fields (id, epoch, base sequence) are given to `finish`, not to the initializer:
/// a producer assigns sequences when it drains a batch for sending, not when it opens it.
public struct RecordBatchWriter: Sendable {
    /// The buffer holding the batch under construction (after any bytes it already held).
    public private(set) var buffer: ByteBuffer
    /// Where this batch starts in `buffer`.
    public let batchStart: Int
    /// Records appended so far.
    public private(set) var recordCount: Int32 = 0
    /// The first record's timestamp: every record stores its timestamp as a delta from it.
    public private(set) var baseTimestamp: Int64 = 0
    /// The largest timestamp appended so far (−1 before the first record, as in Java).
    public private(set) var maxTimestamp: Int64 = -1

    /// Starts a batch at the writer index of `buffer`.
    public init(buffer: ByteBuffer) {
        self.buffer = buffer
        self.batchStart = buffer.writerIndex
        self.buffer.writeRepeatingByte(0, count: RecordBatchLayout.records)
    }

    /// Starts a batch in a new buffer with room for `capacity` bytes.
    public init(allocator: ByteBufferAllocator = ByteBufferAllocator(), capacity: Int = 16_384) {
        self.init(buffer: allocator.buffer(capacity: max(capacity, RecordBatchLayout.records)))
    }

    /// The batch's size so far, uncompressed and with its header.
    @inlinable
    public var sizeInBytes: Int { buffer.writerIndex - batchStart }

    /// Whether no record has been appended yet.
    @inlinable
    public var isEmpty: Bool { recordCount == 0 }

    /// The encoded size of a record, its length prefix included.
    @inlinable
    public static func recordSize(
        timestampDelta: Int64, offsetDelta: Int32, keyLength: Int?, valueLength: Int?,
        headers: [KafkaRecordHeader] = []
    ) -> Int {
        let body = bodySize(
            timestampDelta: timestampDelta, offsetDelta: offsetDelta, keyLength: keyLength, valueLength: valueLength,
            headersSize: headersSize(headers), headerCount: headers.count)
        return Varint.size(Int32(truncatingIfNeeded: body)) + body
    }

    /// An upper bound for the size a record adds to a batch (`DefaultRecord`'s estimate), for
    /// deciding whether it fits before encoding it.
    @inlinable
    public static func estimatedRecordSize(keyLength: Int?, valueLength: Int?, headers: [KafkaRecordHeader] = [])
        -> Int
    {
        RecordBatchLayout.maximumRecordOverhead + (keyLength ?? 0) + (valueLength ?? 0) + headersSize(headers)
    }

    /// Appends a record and returns the bytes it took. `nil` key or value is Kafka's null
    /// (length −1); an empty buffer is an empty, non-null value.
    @discardableResult
    public mutating func append(
        timestamp: Int64, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?,
        headers: [KafkaRecordHeader] = []
    ) -> Int {
        if recordCount == 0 {
            baseTimestamp = timestamp
        }
        if timestamp > maxTimestamp {
            maxTimestamp = timestamp
        }
        let timestampDelta = timestamp &- baseTimestamp
        let offsetDelta = recordCount
        let headersSize = Self.headersSize(headers)
        let body = Self.bodySize(
            timestampDelta: timestampDelta, offsetDelta: offsetDelta, keyLength: key?.count,
            valueLength: value?.count, headersSize: headersSize, headerCount: headers.count)
        let total = Varint.size(Int32(truncatingIfNeeded: body)) + body
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: total) { out in
            var p = out.baseAddress!
            Self.put(unsigned: Varint.zigzag(Int32(truncatingIfNeeded: body)), &p)
            p.storeBytes(of: 0, as: UInt8.self)  // record attributes: none are defined
            p += 1
            Self.put(unsigned: Varint.zigzag(timestampDelta), &p)
            Self.put(unsigned: Varint.zigzag(offsetDelta), &p)
            Self.put(bytes: key, &p)
            Self.put(bytes: value, &p)
            Self.put(unsigned: Varint.zigzag(Int32(truncatingIfNeeded: headers.count)), &p)
            for header in headers {
                let keyCount = header.key.utf8.count
                Self.put(unsigned: Varint.zigzag(Int32(truncatingIfNeeded: keyCount)), &p)
                var key = header.key
                key.withUTF8 { utf8 in
                    if let base = utf8.baseAddress { p.copyMemory(from: base, byteCount: keyCount) }
                }
                p += keyCount
                if let value = header.value {
                    value.withUnsafeReadableBytes { Self.put(bytes: $0, &p) }
                } else {
                    Self.put(bytes: nil, &p)
                }
            }
            precondition(p - out.baseAddress! == total, "record size computation disagrees with encoding")
            return total
        }
        recordCount += 1
        return total
    }

    /// Appends a record whose key and value are ByteBuffers (or nil).
    @discardableResult
    public mutating func append(
        timestamp: Int64, key: ByteBuffer?, value: ByteBuffer?, headers: [KafkaRecordHeader] = []
    ) -> Int {
        Self.withOptionalBytes(key) { key in
            Self.withOptionalBytes(value) { value in
                append(timestamp: timestamp, key: key, value: value, headers: headers)
            }
        }
    }

    /// Appends a record whose key and value are byte arrays (or nil).
    @discardableResult
    public mutating func append(
        timestamp: Int64, key: [UInt8]?, value: [UInt8]?, headers: [KafkaRecordHeader] = []
    ) -> Int {
        Self.withOptionalBytes(key) { key in
            Self.withOptionalBytes(value) { value in
                append(timestamp: timestamp, key: key, value: value, headers: headers)
            }
        }
    }

    /// Completes the batch and returns its bytes: compresses the records section with
    /// `compression`, fills in the header, and computes the CRC. Throws for an empty batch
    /// (brokers reject a batch without records) and when compression fails.
    ///
    /// `context` keeps compression state between batches; pass one per thread that finishes
    /// many batches.
    public consuming func finish(
        compression: KafkaCompression = .none, producerState: KafkaProducerState = .none,
        partitionLeaderEpoch: Int32 = -1, context: KafkaCompressionContext? = nil
    ) throws -> ByteBuffer {
        guard recordCount > 0 else {
            throw KafkaWireError(.invalidValue, "a record batch needs at least one record", location: "RecordBatch")
        }
        var batch: ByteBuffer
        if compression.codec == .none {
            batch = buffer.getSlice(at: batchStart, length: buffer.writerIndex - batchStart)!
        } else {
            let recordsStart = batchStart + RecordBatchLayout.records
            let recordsLength = buffer.writerIndex - recordsStart
            batch = ByteBufferAllocator().buffer(capacity: RecordBatchLayout.records + recordsLength / 2 + 64)
            batch.writeRepeatingByte(0, count: RecordBatchLayout.records)
            let source = buffer
            try source.withUnsafeReadableBytes { all in
                let offset = recordsStart - source.readerIndex
                try compression.compress(
                    UnsafeRawBufferPointer(rebasing: all[offset..<(offset + recordsLength)]), into: &batch,
                    context: context)
            }
            // The codec reserved its worst-case bound; a batch may be kept for a while (until it is
            // acknowledged, for retries), so keep only the bytes it needs.
            if batch.capacity - batch.readableBytes > 4096 {
                var exact = ByteBufferAllocator().buffer(capacity: batch.readableBytes)
                exact.writeBuffer(&batch)
                batch = exact
            }
        }
        let start = batch.readerIndex
        let attributes =
            compression.codec.rawValue | (producerState.isTransactional ? RecordBatchLayout.transactionalBit : 0)
        batch.setInteger(Int64(0), at: start + RecordBatchLayout.baseOffset)
        batch.setInteger(
            Int32(batch.readableBytes - RecordBatchLayout.logOverhead), at: start + RecordBatchLayout.batchLength)
        batch.setInteger(partitionLeaderEpoch, at: start + RecordBatchLayout.partitionLeaderEpoch)
        batch.setInteger(RecordBatchLayout.currentMagic, at: start + RecordBatchLayout.magic)
        batch.setInteger(attributes, at: start + RecordBatchLayout.attributes)
        batch.setInteger(recordCount - 1, at: start + RecordBatchLayout.lastOffsetDelta)
        batch.setInteger(baseTimestamp, at: start + RecordBatchLayout.baseTimestamp)
        batch.setInteger(maxTimestamp, at: start + RecordBatchLayout.maxTimestamp)
        batch.setInteger(recordCount, at: start + RecordBatchLayout.recordsCount)
        RecordBatchWriter.writeProducerState(producerState, into: &batch)
        return batch
    }

    /// Rewrites the producer id, epoch, base sequence and transactional bit of a finished batch
    /// and recomputes its CRC. An idempotent producer needs this when it restarts a partition's
    /// sequences under a new epoch: the records stay as they are.
    public static func writeProducerState(_ state: KafkaProducerState, into batch: inout ByteBuffer) {
        let start = batch.readerIndex
        batch.setInteger(state.producerId, at: start + RecordBatchLayout.producerId)
        batch.setInteger(state.producerEpoch, at: start + RecordBatchLayout.producerEpoch)
        batch.setInteger(state.baseSequence, at: start + RecordBatchLayout.baseSequence)
        var attributes = batch.getInteger(at: start + RecordBatchLayout.attributes, as: Int16.self)!
        attributes &= ~RecordBatchLayout.transactionalBit
        if state.isTransactional { attributes |= RecordBatchLayout.transactionalBit }
        batch.setInteger(attributes, at: start + RecordBatchLayout.attributes)
        let crc = CRC32C.checksum(
            batch, at: start + RecordBatchLayout.attributes,
            length: batch.readableBytes - RecordBatchLayout.attributes)
        batch.setInteger(crc, at: start + RecordBatchLayout.crc)
    }

    // MARK: - Encoding helpers

    @inlinable
    static func headersSize(_ headers: [KafkaRecordHeader]) -> Int {
        var size = 0
        for header in headers {
            let keyCount = header.key.utf8.count
            size += Varint.size(Int32(truncatingIfNeeded: keyCount)) + keyCount
            if let value = header.value {
                size += Varint.size(Int32(truncatingIfNeeded: value.readableBytes)) + value.readableBytes
            } else {
                size += 1
            }
        }
        return size
    }

    @inlinable
    static func bodySize(
        timestampDelta: Int64, offsetDelta: Int32, keyLength: Int?, valueLength: Int?, headersSize: Int,
        headerCount: Int
    ) -> Int {
        var size = 1 + Varint.size(timestampDelta) + Varint.size(offsetDelta)
        size += keyLength.map { Varint.size(Int32(truncatingIfNeeded: $0)) + $0 } ?? 1
        size += valueLength.map { Varint.size(Int32(truncatingIfNeeded: $0)) + $0 } ?? 1
        size += Varint.size(Int32(truncatingIfNeeded: headerCount)) + headersSize
        return size
    }

    @inlinable
    static func put<T: FixedWidthInteger & UnsignedInteger>(unsigned value: T, _ p: inout UnsafeMutableRawPointer) {
        var v = value
        while v >= 0x80 {
            p.storeBytes(of: UInt8(truncatingIfNeeded: v) | 0x80, as: UInt8.self)
            p += 1
            v >>= 7
        }
        p.storeBytes(of: UInt8(truncatingIfNeeded: v), as: UInt8.self)
        p += 1
    }

    /// Writes a zigzag length (−1 for nil) and the bytes.
    @inlinable
    static func put(bytes: UnsafeRawBufferPointer?, _ p: inout UnsafeMutableRawPointer) {
        guard let bytes else {
            put(unsigned: Varint.zigzag(Int32(-1)), &p)
            return
        }
        put(unsigned: Varint.zigzag(Int32(truncatingIfNeeded: bytes.count)), &p)
        if let base = bytes.baseAddress, bytes.count > 0 {
            p.copyMemory(from: base, byteCount: bytes.count)
            p += bytes.count
        }
    }

    @inlinable
    static func withOptionalBytes<R>(_ buffer: ByteBuffer?, _ body: (UnsafeRawBufferPointer?) -> R) -> R {
        guard let buffer else { return body(nil) }
        return buffer.withUnsafeReadableBytes { body($0) }
    }

    @inlinable
    static func withOptionalBytes<R>(_ bytes: [UInt8]?, _ body: (UnsafeRawBufferPointer?) -> R) -> R {
        guard let bytes else { return body(nil) }
        return bytes.withUnsafeBytes { body($0) }
    }
}
