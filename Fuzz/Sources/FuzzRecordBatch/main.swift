import FuzzSupport
import KafkaWire
import NIOCore

// Record batches arrive from brokers: any bytes must decode or throw a KafkaWireError.
// Decompression is capped low so that a small input cannot ask for gigabytes.

let maximumDecompressedSize = 1 << 20

/// Rewrites each batch's CRC-32C to match its bytes. A mutated input almost never carries a valid
/// checksum, so without this the fuzzer would stop at the CRC check and never reach the records,
/// the codecs or the count checks behind it.
func withCorrectedChecksums(_ buffer: ByteBuffer) -> ByteBuffer {
    var buffer = buffer
    var position = buffer.readerIndex
    while let length = buffer.getInteger(at: position + RecordBatchLayout.batchLength, as: Int32.self),
        length >= RecordBatchLayout.records - RecordBatchLayout.logOverhead
    {
        let end = position + RecordBatchLayout.logOverhead + Int(length)
        guard end <= buffer.writerIndex else { break }
        let checked = position + RecordBatchLayout.attributes
        let crc = CRC32C.checksum(buffer, at: checked, length: end - checked)
        buffer.setInteger(crc, at: position + RecordBatchLayout.crc)
        position = end
    }
    return buffer
}

func decode(_ bytes: ByteBuffer) {
    do {
        let batches = try RecordBatchReader.readAll(bytes, maximumDecompressedSize: maximumDecompressedSize)
        for batch in batches {
            fuzzCheck(batch.records.count == Int(batch.recordsCount), "records decoded differ from recordsCount")
        }
    } catch is KafkaWireError {
    } catch {
        fatalError("RecordBatchReader threw \(type(of: error)), not KafkaWireError: \(error)")
    }
    // The incremental form: nil (more bytes needed) must leave the reader index where it was.
    var incremental = bytes
    let before = incremental.readerIndex
    if case .some(.none) = try? RecordBatchReader.read(
        from: &incremental, maximumDecompressedSize: maximumDecompressedSize)
    {
        fuzzCheck(incremental.readerIndex == before, "nil from read moved the reader index")
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRecordBatch(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let bytes = ByteBuffer(bytes: fuzzInput(data, count))
    decode(bytes)
    decode(withCorrectedChecksums(bytes))
    return 0
}

runFuzzer(fuzzRecordBatch)
