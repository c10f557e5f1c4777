import Foundation
import KafkaWire
import NIOCore
import Testing

/// Golden batches from kafka-python's independent builder (scripts/generate_batch_vectors.py)
/// and from Tests/Vectors/test-vectors.json, matched by our writer and read by our
/// reader; our batches read by kafka-python's reader.
@Suite("RecordBatch v2")
struct RecordBatchTests {
    struct InputRecord: Sendable {
        var timestamp: Int64
        var key: [UInt8]?
        var value: [UInt8]?
        var headers: [(String, [UInt8]?)]
        var kafkaHeaders: [KafkaRecordHeader] {
            headers.map { KafkaRecordHeader(key: $0.0, value: $0.1.map { ByteBuffer(bytes: $0) }) }
        }
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var producerState: KafkaProducerState
        var partitionLeaderEpoch: Int32
        var records: [InputRecord]
        /// kafka-python's bytes per codec name.
        var batches: [String: [UInt8]]
        var testDescription: String { name }
    }

    static let cases: [Case] = {
        let root = try! TestSupport.vectors("record-batches.json") as! [String: Any]
        return (root["cases"] as! [[String: Any]]).map { c in
            Case(
                name: c["name"] as! String,
                producerState: KafkaProducerState(
                    producerId: (c["producer_id"] as! NSNumber).int64Value,
                    producerEpoch: (c["producer_epoch"] as! NSNumber).int16Value,
                    baseSequence: (c["base_sequence"] as! NSNumber).int32Value,
                    isTransactional: c["is_transactional"] as! Bool),
                partitionLeaderEpoch: (c["partition_leader_epoch"] as! NSNumber).int32Value,
                records: (c["records"] as! [[String: Any]]).map { r in
                    InputRecord(
                        timestamp: (r["timestamp"] as! NSNumber).int64Value, key: base64Bytes(r["key"]),
                        value: base64Bytes(r["value"]),
                        headers: (r["headers"] as! [[Any]]).map { ($0[0] as! String, base64Bytes($0[1])) })
                },
                batches: (c["batches"] as! [String: String]).mapValues { Array(Data(base64Encoded: $0)!) })
        }
    }()

    static func write(_ c: Case, compression: KafkaCompression = .none, partitionLeaderEpoch: Int32? = nil) throws
        -> ByteBuffer
    {
        var writer = RecordBatchWriter()
        for record in c.records {
            writer.append(
                timestamp: record.timestamp, key: record.key, value: record.value, headers: record.kafkaHeaders)
        }
        return try writer.finish(
            compression: compression, producerState: c.producerState,
            partitionLeaderEpoch: partitionLeaderEpoch ?? c.partitionLeaderEpoch)
    }

    static func expectRecords(_ batch: RecordBatch, equal c: Case, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(batch.records.count == c.records.count, sourceLocation: sourceLocation)
        #expect(batch.recordsCount == Int32(c.records.count), sourceLocation: sourceLocation)
        #expect(batch.producerState == c.producerState, sourceLocation: sourceLocation)
        #expect(batch.baseTimestamp == c.records[0].timestamp, sourceLocation: sourceLocation)
        #expect(batch.maxTimestamp == c.records.map(\.timestamp).max(), sourceLocation: sourceLocation)
        for (index, (read, expected)) in zip(batch.records, c.records).enumerated() {
            #expect(read.offset == Int64(index), sourceLocation: sourceLocation)
            #expect(read.timestamp == expected.timestamp, sourceLocation: sourceLocation)
            #expect(read.key.map { Array($0.readableBytesView) } == expected.key, sourceLocation: sourceLocation)
            #expect(read.value.map { Array($0.readableBytesView) } == expected.value, sourceLocation: sourceLocation)
            #expect(read.headers == expected.kafkaHeaders, sourceLocation: sourceLocation)
        }
    }

    // MARK: - Against kafka-python's builder

    @Test(arguments: RecordBatchTests.cases)
    func writerMatchesKafkaPythonByteForByte(_ c: Case) throws {
        let ours = try Self.write(c)
        #expect(ours.hex == ByteBuffer(bytes: c.batches["none"]!).hex)
    }

    @Test(arguments: RecordBatchTests.cases)
    func readerReadsEveryKafkaPythonBatch(_ c: Case) throws {
        #expect(!c.batches.isEmpty)
        for (codec, bytes) in c.batches {
            let batches = try RecordBatchReader.readAll(ByteBuffer(bytes: bytes))
            #expect(batches.count == 1)
            #expect(batches[0].compression.description == codec)
            Self.expectRecords(batches[0], equal: c)
        }
    }

    @Test func everyCodecHasKafkaPythonVectors() {
        let codecs = Set(Self.cases.flatMap(\.batches.keys))
        #expect(codecs == Set(KafkaCompression.Codec.allCases.map(\.description)))
    }

    /// Every case, written by us with every codec, read back by kafka-python.
    @Test func kafkaPythonReadsOurBatchesInEveryCodec() throws {
        var inputs: [(Case, KafkaCompression.Codec, ByteBuffer)] = []
        for c in Self.cases {
            for codec in KafkaCompression.Codec.allCases {
                inputs.append(
                    (c, codec, try Self.write(c, compression: KafkaCompression(codec: codec), partitionLeaderEpoch: -1))
                )
            }
        }
        let request = try JSONSerialization.data(withJSONObject: inputs.map { $0.2.base64 })
        let output = try TestSupport.runPython(script: "kafka_python_read_batches.py", input: request)
        let decoded = try JSONSerialization.jsonObject(with: output) as! [[[String: Any]]]
        #expect(decoded.count == inputs.count)
        for ((c, codec, _), batches) in zip(inputs, decoded) {
            let label = "\(c.name)/\(codec)"
            #expect(batches.count == 1, "\(label)")
            let batch = batches[0]
            #expect(batch["error"] == nil, "\(label): \(batch["error"] ?? "")")
            guard batch["error"] == nil else { continue }
            #expect(batch["crc_valid"] as? Bool == true, "\(label)")
            #expect((batch["compression"] as! NSNumber).int16Value == codec.rawValue, "\(label)")
            #expect((batch["partition_leader_epoch"] as! NSNumber).int32Value == -1, "\(label)")
            #expect((batch["producer_id"] as! NSNumber).int64Value == c.producerState.producerId, "\(label)")
            #expect((batch["producer_epoch"] as! NSNumber).int16Value == c.producerState.producerEpoch, "\(label)")
            #expect((batch["base_sequence"] as! NSNumber).int32Value == c.producerState.baseSequence, "\(label)")
            #expect(batch["is_transactional"] as? Bool == c.producerState.isTransactional, "\(label)")
            #expect((batch["last_offset_delta"] as! NSNumber).intValue == c.records.count - 1, "\(label)")
            let records = batch["records"] as! [[String: Any]]
            #expect(records.count == c.records.count, "\(label)")
            for (index, (read, expected)) in zip(records, c.records).enumerated() {
                #expect((read["offset"] as! NSNumber).intValue == index, "\(label)")
                #expect((read["timestamp"] as! NSNumber).int64Value == expected.timestamp, "\(label)")
                #expect(base64Bytes(read["key"]) == expected.key, "\(label)")
                #expect(base64Bytes(read["value"]) == expected.value, "\(label)")
                let headers = (read["headers"] as! [[Any]]).map { ($0[0] as! String, base64Bytes($0[1])) }
                #expect(headers.map(\.0) == expected.headers.map(\.0), "\(label)")
                #expect(headers.map(\.1) == expected.headers.map(\.1), "\(label)")
            }
        }
    }

    // MARK: - Against Tests/Vectors/test-vectors.json

    @Test func sharedVectorsAAndB() throws {
        let group = try TestSupport.knownAnswers()["record_batches"] as! [String: Any]
        let cases = group["cases"] as! [[String: Any]]
        #expect(cases.count >= 2)
        let expected = cases.map { $0["bytes_hex"] as! String }

        var a = RecordBatchWriter()
        a.append(timestamp: 1_700_000_000_000, key: nil as [UInt8]?, value: Array("hello".utf8))
        #expect(try a.finish().hex == expected[0])

        var b = RecordBatchWriter()
        b.append(
            timestamp: 1_700_000_000_000, key: Array("k1".utf8), value: Array("v1".utf8),
            headers: [KafkaRecordHeader(key: "h", value: Array("x".utf8))])
        b.append(timestamp: 1_700_000_000_005, key: nil as [UInt8]?, value: [])
        let state = KafkaProducerState(producerId: 1000, producerEpoch: 0, baseSequence: 0)
        #expect(try b.finish(producerState: state).hex == expected[1])
    }

    // MARK: - Writer behaviour

    @Test func recordSizeMatchesWhatAppendWrites() {
        var writer = RecordBatchWriter()
        var last = writer.sizeInBytes
        for (i, record) in Self.cases.flatMap(\.records).prefix(200).enumerated() {
            let predicted = RecordBatchWriter.recordSize(
                timestampDelta: i == 0 ? 0 : record.timestamp - writer.baseTimestamp, offsetDelta: writer.recordCount,
                keyLength: record.key?.count, valueLength: record.value?.count, headers: record.kafkaHeaders)
            let written = writer.append(
                timestamp: record.timestamp, key: record.key, value: record.value, headers: record.kafkaHeaders)
            #expect(written == predicted)
            #expect(writer.sizeInBytes - last == written)
            #expect(
                written
                    <= RecordBatchWriter.estimatedRecordSize(
                        keyLength: record.key?.count, valueLength: record.value?.count, headers: record.kafkaHeaders))
            last = writer.sizeInBytes
        }
    }

    @Test func anEmptyBatchCannotBeFinished() {
        let writer = RecordBatchWriter()
        #expect(throws: KafkaWireError.self) { try writer.finish() }
    }

    @Test func writingIntoASharedBufferLeavesEarlierBytesAlone() throws {
        var buffer = ByteBuffer(string: "prefix")
        var writer = RecordBatchWriter(buffer: buffer)
        writer.append(timestamp: 5, key: nil as [UInt8]?, value: Array("v".utf8))
        let batch = try writer.finish()
        buffer = writer.buffer
        #expect(buffer.getString(at: 0, length: 6) == "prefix")
        #expect(try RecordBatchReader.readAll(batch)[0].records[0].value == ByteBuffer(string: "v"))
    }

    @Test func producerStateCanBeRewrittenAfterFinishing() throws {
        let c = Self.cases.first { $0.records.count > 10 }!
        for codec in KafkaCompression.Codec.allCases {
            var batch = try Self.write(c, compression: KafkaCompression(codec: codec))
            let state = KafkaProducerState(producerId: 42, producerEpoch: 7, baseSequence: 1_000, isTransactional: true)
            RecordBatchWriter.writeProducerState(state, into: &batch)
            let read = try RecordBatchReader.readAll(batch)[0]
            #expect(read.producerState == state)
            #expect(read.compression == codec)
            #expect(read.records.count == c.records.count)
        }
    }

    // MARK: - Malformed input

    static func smallBatch() throws -> ByteBuffer {
        var writer = RecordBatchWriter()
        writer.append(
            timestamp: 1_700_000_000_000, key: Array("key".utf8), value: Array("value".utf8),
            headers: [KafkaRecordHeader(key: "h", value: Array("v".utf8))])
        writer.append(timestamp: 1_700_000_000_001, key: nil as [UInt8]?, value: nil as [UInt8]?)
        return try writer.finish()
    }

    @Test func everyTruncationNeedsMoreBytesOrThrows() throws {
        let batch = try Self.smallBatch()
        for length in 0..<batch.readableBytes {
            var prefix = batch.getSlice(at: 0, length: length)!
            #expect(try RecordBatchReader.read(from: &prefix) == nil)
            #expect(prefix.readerIndex == 0)
            if length == 0 {
                #expect(try RecordBatchReader.readAll(prefix).isEmpty)
            } else {
                #expect(throws: KafkaWireError.self) { try RecordBatchReader.readAll(prefix) }
            }
        }
    }

    @Test func aFlippedBitInsideTheCRCRangeIsACRCMismatch() throws {
        let batch = try Self.smallBatch()
        for index in RecordBatchLayout.attributes..<batch.readableBytes {
            var corrupt = batch
            corrupt.setInteger(corrupt.getInteger(at: index, as: UInt8.self)! ^ 0x10, at: index)
            #expect {
                try RecordBatchReader.readAll(corrupt)
            } throws: { error in
                (error as? KafkaWireError)?.code == .crcMismatch
            }
        }
    }

    /// With a recomputed CRC, damage reaches the structural checks: they must throw, never trap,
    /// and never read or allocate beyond the input.
    @Test func structuralDamageWithAValidCRCThrowsOrDecodes() throws {
        let batch = try Self.smallBatch()
        for index in RecordBatchLayout.attributes..<batch.readableBytes {
            for mask: UInt8 in [0x01, 0x80, 0xFF] {
                var corrupt = batch
                corrupt.setInteger(corrupt.getInteger(at: index, as: UInt8.self)! ^ mask, at: index)
                let crc = CRC32C.checksum(
                    corrupt, at: RecordBatchLayout.attributes,
                    length: corrupt.readableBytes - RecordBatchLayout.attributes)
                corrupt.setInteger(crc, at: RecordBatchLayout.crc)
                do {
                    _ = try RecordBatchReader.readAll(corrupt)
                } catch let error as KafkaWireError {
                    #expect(!error.message.isEmpty)
                }
            }
        }
    }

    @Test func absurdLengthsAndCountsThrowWithoutAllocating() throws {
        var batch = try Self.smallBatch()
        func recrc(_ b: inout ByteBuffer) {
            let crc = CRC32C.checksum(
                b, at: RecordBatchLayout.attributes, length: b.readableBytes - RecordBatchLayout.attributes)
            b.setInteger(crc, at: RecordBatchLayout.crc)
        }
        var hugeCount = batch
        hugeCount.setInteger(Int32.max, at: RecordBatchLayout.recordsCount)
        recrc(&hugeCount)
        #expect(throws: KafkaWireError.self) { try RecordBatchReader.readAll(hugeCount) }

        var negativeCount = batch
        negativeCount.setInteger(Int32(-5), at: RecordBatchLayout.recordsCount)
        recrc(&negativeCount)
        #expect(throws: KafkaWireError.self) { try RecordBatchReader.readAll(negativeCount) }

        var tinyLength = batch
        tinyLength.setInteger(Int32(10), at: RecordBatchLayout.batchLength)
        #expect(throws: KafkaWireError.self) { try RecordBatchReader.readAll(tinyLength) }

        var badMagic = batch
        badMagic.setInteger(Int8(1), at: RecordBatchLayout.magic)
        #expect(throws: KafkaWireError.self) { try RecordBatchReader.readAll(badMagic) }

        var unknownCodec = batch
        unknownCodec.setInteger(Int16(7), at: RecordBatchLayout.attributes)
        recrc(&unknownCodec)
        #expect {
            try RecordBatchReader.readAll(unknownCodec)
        } throws: { ($0 as? KafkaWireError)?.code == .unsupportedCompression }

        // The first record's length varint (right after the header) claims far more than exists.
        batch.setInteger(UInt8(0xFE), at: RecordBatchLayout.records)
        recrc(&batch)
        #expect(throws: KafkaWireError.self) { try RecordBatchReader.readAll(batch) }
    }

    @Test func garbageCompressedRecordsThrow() throws {
        for codec in KafkaCompression.Codec.allCases where codec != .none {
            var batch = try Self.write(
                Self.cases.first { $0.records.count > 10 }!, compression: KafkaCompression(codec: codec))
            // Overwrite the middle of the compressed block, then make the CRC agree again.
            let middle = RecordBatchLayout.records + (batch.readableBytes - RecordBatchLayout.records) / 2
            batch.setBytes(Array(repeating: 0xA5, count: 16), at: middle)
            let crc = CRC32C.checksum(
                batch, at: RecordBatchLayout.attributes, length: batch.readableBytes - RecordBatchLayout.attributes)
            batch.setInteger(crc, at: RecordBatchLayout.crc)
            #expect(throws: KafkaWireError.self, "\(codec)") { _ = try RecordBatchReader.readAll(batch) }
        }
    }
}
