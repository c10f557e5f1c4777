import NIOCore

/// Reads RecordBatch v2 bytes, validating everything a broker would: lengths, magic, the CRC-32C,
/// the codec, record framing and the record count. Malformed input throws `KafkaWireError`;
/// nothing is allocated beyond what the input's own size justifies (decompression is capped by
/// `maximumDecompressedSize`).
public enum RecordBatchReader {
    /// The default cap on one batch's decompressed records section.
    public static let defaultMaximumDecompressedSize = 64 * 1024 * 1024

    /// Reads one batch from the front of `buffer`. Returns nil when the buffer does not yet hold
    /// the whole batch (the reader index is then unchanged).
    public static func read(
        from buffer: inout ByteBuffer, maximumDecompressedSize: Int = defaultMaximumDecompressedSize
    ) throws -> RecordBatch? {
        let start = buffer.readerIndex
        guard let batchLength = buffer.getInteger(at: start + RecordBatchLayout.batchLength, as: Int32.self) else {
            return nil
        }
        let minimumLength = RecordBatchLayout.records - RecordBatchLayout.logOverhead
        guard batchLength >= minimumLength else {
            throw KafkaWireError(
                .corruptRecordBatch, "batchLength \(batchLength) is below the header's \(minimumLength) bytes",
                location: "RecordBatch.batchLength")
        }
        let total = Int(batchLength) + RecordBatchLayout.logOverhead
        guard buffer.readableBytes >= total else { return nil }
        var batchBytes = buffer.getSlice(at: start, length: total)!
        let batch = try decode(&batchBytes, maximumDecompressedSize: maximumDecompressedSize)
        buffer.moveReaderIndex(forwardBy: total)
        return batch
    }

    /// Reads every batch in `bytes` (a Produce or Fetch `records` field). A trailing partial
    /// batch is an error here, since the field is complete.
    public static func readAll(
        _ bytes: ByteBuffer, maximumDecompressedSize: Int = defaultMaximumDecompressedSize
    ) throws -> [RecordBatch] {
        var bytes = bytes
        var batches: [RecordBatch] = []
        while bytes.readableBytes > 0 {
            guard let batch = try read(from: &bytes, maximumDecompressedSize: maximumDecompressedSize) else {
                throw KafkaWireError(
                    .truncated, "\(bytes.readableBytes) trailing bytes hold only part of a batch",
                    location: "RecordBatch[\(batches.count)]")
            }
            batches.append(batch)
        }
        return batches
    }

    private static func decode(_ bytes: inout ByteBuffer, maximumDecompressedSize: Int) throws -> RecordBatch {
        func field<T: FixedWidthInteger>(_ offset: Int, _: T.Type) -> T {
            bytes.getInteger(at: bytes.readerIndex + offset, as: T.self)!
        }
        let magic = field(RecordBatchLayout.magic, Int8.self)
        guard magic == RecordBatchLayout.currentMagic else {
            throw KafkaWireError(.corruptRecordBatch, "magic \(magic), expected 2", location: "RecordBatch.magic")
        }
        let storedCRC = field(RecordBatchLayout.crc, UInt32.self)
        let computedCRC = CRC32C.checksum(
            bytes, at: bytes.readerIndex + RecordBatchLayout.attributes,
            length: bytes.readableBytes - RecordBatchLayout.attributes)
        guard storedCRC == computedCRC else {
            throw KafkaWireError(
                .crcMismatch,
                "stored CRC 0x\(String(storedCRC, radix: 16)) but the bytes give 0x\(String(computedCRC, radix: 16))",
                location: "RecordBatch.crc")
        }
        var batch = RecordBatch(
            baseOffset: field(RecordBatchLayout.baseOffset, Int64.self),
            batchLength: field(RecordBatchLayout.batchLength, Int32.self),
            partitionLeaderEpoch: field(RecordBatchLayout.partitionLeaderEpoch, Int32.self),
            magic: magic,
            crc: storedCRC,
            attributes: field(RecordBatchLayout.attributes, Int16.self),
            lastOffsetDelta: field(RecordBatchLayout.lastOffsetDelta, Int32.self),
            baseTimestamp: field(RecordBatchLayout.baseTimestamp, Int64.self),
            maxTimestamp: field(RecordBatchLayout.maxTimestamp, Int64.self),
            producerId: field(RecordBatchLayout.producerId, Int64.self),
            producerEpoch: field(RecordBatchLayout.producerEpoch, Int16.self),
            baseSequence: field(RecordBatchLayout.baseSequence, Int32.self),
            recordsCount: field(RecordBatchLayout.recordsCount, Int32.self),
            records: [])
        guard batch.recordsCount >= 0 else {
            throw KafkaWireError(
                .corruptRecordBatch, "negative record count \(batch.recordsCount)", location: "RecordBatch.recordsCount"
            )
        }
        let rawCodec = batch.attributes & RecordBatchLayout.compressionMask
        guard let codec = KafkaCompression.Codec(rawValue: rawCodec) else {
            throw KafkaWireError(
                .unsupportedCompression, "compression id \(rawCodec) is unknown", location: "RecordBatch.attributes")
        }
        bytes.moveReaderIndex(forwardBy: RecordBatchLayout.records)
        var records: ByteBuffer
        if codec == .none {
            records = bytes
        } else {
            records = ByteBufferAllocator().buffer(capacity: 0)
            do {
                try bytes.withUnsafeReadableBytes { compressed in
                    try codec.decompress(compressed, maximumSize: maximumDecompressedSize, into: &records)
                }
            } catch var error as KafkaWireError {
                error.location = "RecordBatch records (\(codec))"
                throw error
            }
        }
        guard Int(batch.recordsCount) <= records.readableBytes / RecordBatchLayout.minimumRecordSize else {
            throw KafkaWireError(
                .corruptRecordBatch,
                "record count \(batch.recordsCount) cannot fit in \(records.readableBytes) bytes of records",
                location: "RecordBatch.recordsCount")
        }
        batch.records.reserveCapacity(Int(batch.recordsCount))
        for index in 0..<Int(batch.recordsCount) {
            batch.records.append(try readRecord(&records, batch: batch, index: index))
        }
        guard records.readableBytes == 0 else {
            throw KafkaWireError(
                .trailingBytes, "\(records.readableBytes) bytes after the last of \(batch.recordsCount) records",
                location: "RecordBatch records")
        }
        return batch
    }

    private static func readRecord(_ records: inout ByteBuffer, batch: RecordBatch, index: Int) throws -> KafkaRecord {
        let location = "RecordBatch record[\(index)]"
        func varint(_ what: String) throws -> Int32 {
            try records.readKafkaVarint(at: location + " " + what)
        }
        let length = try varint("length")
        guard length >= RecordBatchLayout.minimumRecordSize - 1, Int(length) <= records.readableBytes else {
            throw KafkaWireError(
                .corruptRecordBatch, "record length \(length) with \(records.readableBytes) bytes left",
                location: location)
        }
        var body = records.readSlice(length: Int(length))!
        return try readRecordBody(&body, length: length, batch: batch, location: location)
    }

    private static func readRecordBody(
        _ records: inout ByteBuffer, length: Int32, batch: RecordBatch, location: String
    ) throws -> KafkaRecord {
        func varint(_ what: String) throws -> Int32 {
            try records.readKafkaVarint(at: location + " " + what)
        }
        _ = try records.readKafkaInteger(as: Int8.self, at: location + " attributes")
        let timestampDelta = try records.readKafkaVarlong(at: location + " timestampDelta")
        let offsetDelta = try varint("offsetDelta")
        func bytesField(_ what: String) throws -> ByteBuffer? {
            let count = try varint(what + " length")
            if count == -1 { return nil }
            guard count >= 0, Int(count) <= records.readableBytes else {
                throw KafkaWireError(
                    .corruptRecordBatch, "\(what) length \(count) with \(records.readableBytes) bytes left",
                    location: location)
            }
            return records.readSlice(length: Int(count))!
        }
        let key = try bytesField("key")
        let value = try bytesField("value")
        let headerCount = try varint("headers count")
        guard headerCount >= 0, Int(headerCount) <= records.readableBytes / 2 else {
            throw KafkaWireError(.corruptRecordBatch, "header count \(headerCount)", location: location)
        }
        var headers: [KafkaRecordHeader] = []
        headers.reserveCapacity(Int(headerCount))
        for _ in 0..<Int(headerCount) {
            guard let keyBytes = try bytesField("header key") else {
                throw KafkaWireError(.corruptRecordBatch, "null header key", location: location)
            }
            guard let headerKey = keyBytes.getString(at: keyBytes.readerIndex, length: keyBytes.readableBytes),
                headerKey.utf8.elementsEqual(keyBytes.readableBytesView)
            else {
                throw KafkaWireError(.invalidValue, "header key is not UTF-8", location: location)
            }
            headers.append(KafkaRecordHeader(key: headerKey, value: try bytesField("header value")))
        }
        guard records.readableBytes == 0 else {
            throw KafkaWireError(
                .corruptRecordBatch, "record length \(length) leaves \(records.readableBytes) bytes unread",
                location: location)
        }
        let timestamp = batch.isLogAppendTime ? batch.maxTimestamp : batch.baseTimestamp &+ timestampDelta
        return KafkaRecord(
            offset: batch.baseOffset &+ Int64(offsetDelta), timestamp: timestamp, key: key, value: value,
            headers: headers)
    }
}
