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

        /// Nil key or value is Kafka's null (size −1).
        init(id: KafkaRecordID, timestamp: Int64, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?) {
            self.id = id
            self.timestamp = timestamp
            self.keySize = Int32(truncatingIfNeeded: key?.count ?? -1)
            self.valueSize = Int32(truncatingIfNeeded: value?.count ?? -1)
        }
    }

    let topicPartition: TopicPartition
    /// The topic's settings: acks, compression, whether it is idempotent.
    let settings: TopicSettings
    /// Increases with every batch the producer creates; flush waits on the serials it saw.
    let serial: UInt64
    let createdAt: NIODeadline
    /// Bytes of `buffer.memory` this batch holds until it completes.
    let reservedBytes: Int

    /// Open while records can be appended; nil once the batch is encoded.
    private(set) var writer: RecordBatchWriter?
    private(set) var records: [RecordEntry] = []
    /// Parallel to `records` once any record was sent with `send` (awaiting its own result);
    /// empty while all records report to their callers' `KafkaDeliveryReports`.
    private(set) var continuations: [CheckedContinuation<KafkaRecordMetadata, any Error>?] = []
    /// Which caller's reports the records go to: runs of consecutive records with the same
    /// `KafkaDeliveryReports` (one run for a batch filled by one caller), so that nothing is
    /// stored per record.
    private(set) var reportRuns: [ReportRun] = []

    struct ReportRun {
        var reports: KafkaDeliveryReports
        /// The run's first record (index into `records`).
        var start: Int
        var count: Int
    }

    /// The finished bytes, kept for retries (the same bytes go out again).
    private(set) var encoded: ByteBuffer?
    /// Send attempts so far.
    var attempts = 0
    /// Producer id, epoch and base sequence for an idempotent producer, assigned when the batch
    /// is first drained (`.none` until then, and always without idempotence). The encoded bytes
    /// follow it: `encode` re-stamps them when it changed (an epoch bump).
    var producerState = KafkaProducerState.none
    /// The producer state the encoded bytes carry.
    private var encodedProducerState = KafkaProducerState.none
    /// Set when an epoch bump gave the batch new sequences after it was first stamped (Java's
    /// `sequenceHasBeenReset`): a broker's answer about its old sequences says nothing any more.
    var sequenceHasBeenReset = false
    /// Not sendable before this deadline (retry backoff).
    var retryAfter: NIODeadline?

    init(
        topicPartition: TopicPartition, settings: TopicSettings, serial: UInt64, createdAt: NIODeadline, capacity: Int,
        reservedBytes: Int
    ) {
        self.topicPartition = topicPartition
        self.settings = settings
        self.serial = serial
        self.createdAt = createdAt
        self.reservedBytes = reservedBytes
        self.writer = RecordBatchWriter(capacity: capacity)
    }

    /// The open batch's size so far, uncompressed.
    var sizeInBytes: Int { writer?.sizeInBytes ?? encoded?.readableBytes ?? sizeWhileEncoding }
    /// The size the batch had when its writer went to the `BatchEncoder`.
    private var sizeWhileEncoding = 0
    /// Whether the batch still has to be compressed and finished (first send).
    var needsEncoding: Bool { encoded == nil }
    var recordCount: Int { records.count }
    var isOpen: Bool { writer != nil }
    /// Whether a sequence was assigned (idempotent producer, drained at least once).
    var hasSequence: Bool { producerState.baseSequence >= 0 }
    /// The sequence of the last record (sequences wrap at Int32.max, as in Kafka).
    var lastSequence: Int32 { Self.sequence(producerState.baseSequence, plus: recordCount - 1) }

    /// `sequence + count`, wrapping from Int32.max to 0 as Kafka's `DefaultRecordBatch.incrementSequence`.
    static func sequence(_ sequence: Int32, plus count: Int) -> Int32 {
        (sequence &+ Int32(truncatingIfNeeded: count)) & .max
    }

    /// Appends a record; the caller checked that it fits. Nil key or value is Kafka's null.
    func append(
        id: KafkaRecordID, timestamp: Int64, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?,
        headers: [KafkaRecordHeader], completion: RecordCompletion
    ) {
        writer!.append(timestamp: timestamp, key: key, value: value, headers: headers)
        var continuation: CheckedContinuation<KafkaRecordMetadata, any Error>?
        switch completion {
        case .continuation(let waiting):
            continuation = waiting
        case .report(let reports):
            noteReports(reports, start: records.count, count: 1)
        }
        records.append(RecordEntry(id: id, timestamp: timestamp, key: key, value: value))
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

    /// Records appended to an open batch in one go (the block path): the writer and the entries
    /// are taken out of the batch for the run, so that appending is plain struct mutation, with
    /// no per-record access to the class's storage.
    struct Run {
        fileprivate var writer: RecordBatchWriter
        fileprivate var records: [RecordEntry]
        fileprivate(set) var count = 0

        var sizeInBytes: Int { writer.sizeInBytes }

        mutating func append(
            id: KafkaRecordID, timestamp: Int64, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?,
            headers: [KafkaRecordHeader]
        ) {
            writer.append(timestamp: timestamp, key: key, value: value, headers: headers)
            records.append(RecordEntry(id: id, timestamp: timestamp, key: key, value: value))
            count += 1
        }
    }

    /// Starts a run of appends; `endRun` must follow before the batch is used otherwise.
    func beginRun() -> Run {
        let run = Run(writer: writer!, records: records)
        writer = nil
        records = []
        return run
    }

    /// Puts the run's records in the batch, all reported to `reports`.
    func endRun(_ run: Run, reports: KafkaDeliveryReports) {
        writer = run.writer
        let start = run.records.count - run.count
        records = run.records
        guard run.count > 0 else { return }
        noteReports(reports, start: start, count: run.count)
        if !continuations.isEmpty { continuations.append(contentsOf: repeatElement(nil, count: run.count)) }
    }

    /// Records `start..<start + count` report to `reports`: the last run grows when it is the
    /// same caller's and ends at `start`, else a run begins.
    private func noteReports(_ reports: KafkaDeliveryReports, start: Int, count: Int) {
        // Indexed in place: copying the last run out would retain its reports per record.
        let last = reportRuns.count - 1
        if last >= 0, reportRuns[last].reports === reports, reportRuns[last].start + reportRuns[last].count == start {
            reportRuns[last].count += count
        } else {
            reportRuns.append(ReportRun(reports: reports, start: start, count: count))
        }
    }

    /// Encodes the batch once (compression, header, CRC) and returns its bytes; later calls
    /// return the same bytes.
    /// When the producer state changed since (an epoch bump), the bytes are re-stamped in place
    /// (header fields and CRC only).
    func encode(context: KafkaCompressionContext) throws -> ByteBuffer {
        // Encoding is sending: an answer to this attempt is about the sequences it carries now.
        sequenceHasBeenReset = false
        if var bytes = encoded {
            if encodedProducerState != producerState {
                RecordBatchWriter.writeProducerState(producerState, into: &bytes)
                encodedProducerState = producerState
                encoded = bytes
            }
            return bytes
        }
        let open = writer!
        writer = nil
        let bytes = try open.finish(compression: settings.compression, producerState: producerState, context: context)
        encoded = bytes
        encodedProducerState = producerState
        return bytes
    }

    /// Hands the open records to the `BatchEncoder`, with the producer state to stamp them with.
    /// The batch is then neither open nor encoded until `installEncoded`.
    func takeWriterForEncoding() -> (RecordBatchWriter, KafkaProducerState) {
        let open = writer!
        sizeWhileEncoding = open.sizeInBytes
        writer = nil
        return (open, producerState)
    }

    /// Takes the bytes the `BatchEncoder` made, stamped with `producerState`; `encode` re-stamps
    /// them if the state changed meanwhile (an epoch bump).
    func installEncoded(_ bytes: ByteBuffer, producerState: KafkaProducerState) {
        encoded = bytes
        encodedProducerState = producerState
    }

    /// Splits this (encoded) batch into two, each with half the records in order, for a broker
    /// that refused it as too large (MESSAGE_TOO_LARGE): what Java's producer does before giving
    /// up. Records, ids, timestamps and waiting sends move to the halves; the first half carries
    /// the memory reservation. Nil when there is one record or the bytes cannot be read back.
    func splitInHalves(serials: (UInt64, UInt64)) -> (ProducerBatch, ProducerBatch)? {
        guard records.count > 1, let encoded,
            let decoded = try? RecordBatchReader.readAll(encoded).first?.records, decoded.count == records.count
        else { return nil }
        let middle = records.count / 2
        func half(_ range: Range<Int>, serial: UInt64, reserved: Int) -> ProducerBatch {
            let batch = ProducerBatch(
                topicPartition: topicPartition, settings: settings, serial: serial, createdAt: createdAt,
                capacity: range.reduce(RecordBatchLayout.records) {
                    $0
                        + RecordBatchWriter.estimatedRecordSize(
                            keyLength: decoded[$1].key?.readableBytes, valueLength: decoded[$1].value?.readableBytes,
                            headers: decoded[$1].headers)
                }, reservedBytes: reserved)
            for index in range {
                let record = decoded[index]
                let completion = self.completion(at: index)
                Self.withBytes(record.key) { key in
                    Self.withBytes(record.value) { value in
                        batch.append(
                            id: records[index].id, timestamp: records[index].timestamp, key: key, value: value,
                            headers: record.headers, completion: completion)
                    }
                }
            }
            batch.attempts = attempts
            return batch
        }
        let halves = (
            half(0..<middle, serial: serials.0, reserved: reservedBytes),
            half(middle..<records.count, serial: serials.1, reserved: 0)
        )
        if hasSequence {
            // The halves keep the records' sequences: the broker never accepted any of them.
            halves.0.producerState = producerState
            halves.1.producerState = producerState
            halves.1.producerState.baseSequence = Self.sequence(producerState.baseSequence, plus: middle)
        }
        continuations = []  // they moved to the halves
        reportRuns = []
        return halves
    }

    /// Where the outcome of record `index` goes.
    private func completion(at index: Int) -> RecordCompletion {
        if !continuations.isEmpty, let continuation = continuations[index] { return .continuation(continuation) }
        let run = reportRuns.first { $0.start <= index && index < $0.start + $0.count }!
        return .report(run.reports)
    }

    private static func withBytes<R>(_ buffer: ByteBuffer?, _ body: (UnsafeRawBufferPointer?) -> R) -> R {
        guard let buffer else { return body(nil) }
        return buffer.withUnsafeReadableBytes { body($0) }
    }

    /// One report per run of records that go to the same caller.
    private func reports(baseOffset: Int64, logAppendTime: Int64, error: KafkaProducerError?) -> [(
        KafkaDeliveryReports, KafkaDeliveryReport
    )] {
        reportRuns.map { run in
            let range = run.start..<(run.start + run.count)
            return (
                run.reports,
                KafkaDeliveryReport(
                    topicPartition: topicPartition,
                    baseOffset: baseOffset >= 0 && error == nil ? baseOffset + Int64(run.start) : -1,
                    logAppendTime: logAppendTime, recordIDs: records[range].map(\.id),
                    timestamps: records[range].map(\.timestamp), error: error)
            )
        }
    }

    /// Resumes every waiting `send` and returns the reports for the callers' streams.
    func complete(baseOffset: Int64, logAppendTime: Int64) -> [(KafkaDeliveryReports, KafkaDeliveryReport)] {
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
        defer { reportRuns = [] }
        return reports(baseOffset: baseOffset, logAppendTime: logAppendTime, error: nil)
    }

    /// Fails every waiting `send` and returns the reports for the callers' streams.
    func fail(_ error: KafkaProducerError) -> [(KafkaDeliveryReports, KafkaDeliveryReport)] {
        for continuation in continuations {
            continuation?.resume(throwing: error)
        }
        continuations = []
        defer { reportRuns = [] }
        return reports(baseOffset: -1, logAppendTime: -1, error: error)
    }
}

/// Where one record's outcome goes.
enum RecordCompletion: Sendable {
    /// To its caller's report stream.
    case report(KafkaDeliveryReports)
    /// To the `send` waiting for it.
    case continuation(CheckedContinuation<KafkaRecordMetadata, any Error>)
}
