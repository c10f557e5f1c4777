import KafkaWire
import NIOCore

/// One partition's batch of records on its way to the broker.
///
/// Owned by the accumulator's lock while it is open (records are appended), then by the
/// sender's event loop from the moment it is drained until it completes — the two never touch
/// it at the same time, which is why it is `@unchecked Sendable`.
final class ProducerBatch: @unchecked Sendable {
    /// A record's bookkeeping: enough to build its `KafkaRecordMetadata` without keeping the record.
    struct RecordEntry {
        var id: KafkaRecordID
        var timestamp: Int64
        var keySize: Int32
        var valueSize: Int32
    }

    let topicPartition: TopicPartition
    /// Increases with every batch the producer creates; flush waits on the serials it saw.
    let serial: UInt64
    let createdAt: NIODeadline
    /// Bytes of `buffer.memory` this batch holds until it completes.
    let reservedBytes: Int

    /// Open while records can be appended; nil once the batch is encoded.
    private(set) var writer: RecordBatchWriter?
    private(set) var records: [RecordEntry] = []
    /// Parallel to `records` once any record was sent with `send` (awaiting its own result);
    /// empty while all records report through the delivery-report stream.
    private(set) var continuations: [CheckedContinuation<KafkaRecordMetadata, any Error>?] = []

    /// The finished bytes, kept for retries (the same bytes go out again).
    private(set) var encoded: ByteBuffer?
    /// Send attempts so far.
    var attempts = 0
    /// Not sendable before this deadline (retry backoff).
    var retryAfter: NIODeadline?

    init(topicPartition: TopicPartition, serial: UInt64, createdAt: NIODeadline, capacity: Int, reservedBytes: Int) {
        self.topicPartition = topicPartition
        self.serial = serial
        self.createdAt = createdAt
        self.reservedBytes = reservedBytes
        self.writer = RecordBatchWriter(capacity: capacity)
    }

    /// The open batch's size so far, uncompressed.
    var sizeInBytes: Int { writer?.sizeInBytes ?? encoded?.readableBytes ?? 0 }
    var recordCount: Int { records.count }
    var isOpen: Bool { writer != nil }

    /// Appends a record; the caller checked that it fits. Nil key or value is Kafka's null.
    func append(
        id: KafkaRecordID, timestamp: Int64, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?,
        headers: [KafkaRecordHeader], continuation: CheckedContinuation<KafkaRecordMetadata, any Error>?
    ) {
        writer!.append(timestamp: timestamp, key: key, value: value, headers: headers)
        records.append(
            RecordEntry(
                id: id, timestamp: timestamp, keySize: Int32(truncatingIfNeeded: key?.count ?? -1),
                valueSize: Int32(truncatingIfNeeded: value?.count ?? -1)))
        if let continuation {
            if continuations.isEmpty {
                continuations = Array(repeating: nil, count: records.count - 1)
                continuations.reserveCapacity(records.capacity)
            }
            continuations.append(continuation)
        } else if !continuations.isEmpty {
            continuations.append(nil)
        }
    }

    /// Encodes the batch once (compression, header, CRC) and returns its bytes; later calls
    /// return the same bytes.
    func encode(compression: KafkaCompression, context: KafkaCompressionContext) throws -> ByteBuffer {
        if let encoded { return encoded }
        let open = writer!
        writer = nil
        let bytes = try open.finish(compression: compression, context: context)
        encoded = bytes
        return bytes
    }

    /// Whether any record is reported through the delivery-report stream.
    var hasReportedRecords: Bool { continuations.count < records.count || continuations.contains { $0 == nil } }

    /// Resumes every waiting `send` and returns the batch's report.
    func complete(baseOffset: Int64, logAppendTime: Int64) -> KafkaDeliveryReport {
        let report = KafkaDeliveryReport(
            topicPartition: topicPartition, baseOffset: baseOffset, logAppendTime: logAppendTime,
            recordIDs: records.map(\.id), timestamps: records.map(\.timestamp), error: nil)
        for (index, continuation) in continuations.enumerated() {
            guard let continuation else { continue }
            let record = records[index]
            continuation.resume(
                returning: KafkaRecordMetadata(
                    topic: topicPartition.topic, partition: topicPartition.partition,
                    offset: baseOffset >= 0 ? baseOffset + Int64(index) : -1,
                    timestamp: logAppendTime >= 0 ? logAppendTime : record.timestamp,
                    serializedKeySize: record.keySize, serializedValueSize: record.valueSize))
        }
        continuations = []
        return report
    }

    /// Fails every waiting `send` and returns the batch's report.
    func fail(_ error: KafkaProducerError) -> KafkaDeliveryReport {
        for continuation in continuations {
            continuation?.resume(throwing: error)
        }
        continuations = []
        return KafkaDeliveryReport(
            topicPartition: topicPartition, baseOffset: -1, logAppendTime: -1, recordIDs: records.map(\.id),
            timestamps: records.map(\.timestamp), error: error)
    }
}
