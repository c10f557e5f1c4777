import KafkaWire
import NIOConcurrencyHelpers
import NIOCore

/// Per-partition queues of batches, the `buffer.memory` budget, and flush bookkeeping.
///
/// Callers of `send` append under one lock (one acquisition for a whole bulk call); the sender
/// drains ready batches from its event loop. Memory is reserved per batch, as Java's BufferPool
/// does: `max(batch.size, record size)` when a batch is created, released when it completes.
final class RecordAccumulator: Sendable {
    /// The producer-wide settings; batch size, linger and partitioner are per topic
    /// (`TopicSettings`, resolved once per topic).
    struct Settings: Sendable {
        var bufferMemory: Int
        var deliveryTimeout: TimeAmount
        var maxRequestSize: Int
        let configuration: KafkaProducerConfiguration

        init(configuration: KafkaProducerConfiguration) {
            bufferMemory = configuration.bufferMemory
            deliveryTimeout = TimeAmount(configuration.deliveryTimeout)
            maxRequestSize = configuration.maxRequestSize
            self.configuration = configuration
        }
    }

    enum AppendOutcome: Sendable {
        /// Appended. `wakeSender` when a batch was created or became full: the sender has a new
        /// deadline or something to send.
        case appended(wakeSender: Bool)
        /// The topic's partitions are not known yet.
        case needsMetadata(topic: String)
        /// A new batch needs this many bytes of `buffer.memory` that are not free.
        case needsMemory(bytes: Int)
        case failed(KafkaProducerError)
    }

    /// A partition's batches, oldest first; only the last one is open for appends.
    private typealias PartitionQueue = FIFOQueue<ProducerBatch>

    /// One topic's partition queues, indexed by partition, and its partitioner state. A
    /// reference, so that a run of records for one topic finds it with one dictionary lookup.
    /// Guarded by the accumulator's lock.
    private final class TopicQueues: @unchecked Sendable {
        let name: String
        let settings: TopicSettings
        var partitions: [PartitionQueue] = []
        /// The topic's own partitioner: strategies may differ per topic.
        var partitioner: KafkaPartitioner
        /// When the topic's newest batch was created: the sender keeps asking for the metadata of
        /// a topic in use (appends to an open batch do not look it up again).
        var lastBatchCreatedAt: NIODeadline?
        let partitionerState: KafkaPartitioner.TopicState

        init(name: String, settings: TopicSettings) {
            self.name = name
            self.settings = settings
            partitioner = KafkaPartitioner(
                strategy: settings.partitioner, batchSize: settings.batchSize,
                ignoreKeys: settings.partitionerIgnoreKeys)
            partitionerState = partitioner.topicState(for: name)
        }
    }

    /// A partition queue's place in `State.drainOrder`.
    private struct DrainSlot {
        var queues: TopicQueues
        var slot: Int
    }

    /// What a slice of appends keeps of the topic it last looked up.
    private struct TopicCache {
        var name: String
        var metadata: ClusterMetadata.Topic
        var queues: TopicQueues
    }

    private struct FlushWaiter {
        var remaining: Set<UInt64>
        var continuation: CheckedContinuation<Void, Never>
    }

    private struct State {
        var metadata = ClusterMetadata.empty
        var topics: [String: TopicQueues] = [:]
        var nextSerial: UInt64 = 0
        var usedMemory = 0
        var memoryWaiters = BudgetWaiters()
        /// Serials of batches created and not yet completed.
        var incomplete: Set<UInt64> = []
        /// Every partition queue, in the order they were created: `drain` walks it from where
        /// the node's last drain stopped (Java's per-node drain index), so that under backlog
        /// every partition gets its turn instead of the first ones taking every request.
        var drainOrder: [DrainSlot] = []
        /// Per node, the position in `drainOrder` its next drain starts at.
        var drainIndex: [Int32: Int] = [:]
        var flushWaiters: [FlushWaiter] = []
        var isClosed = false
        /// Set when the producer cannot go on (idempotence failed): every append fails with it.
        var fatalError: KafkaProducerError?
    }

    let settings: Settings
    /// A plain (non-priority-inheriting) mutex: `Synchronization.Mutex` takes the kernel's PI
    /// futex path under contention on Linux, which showed up as a quarter of the CPU time.
    private let state: NIOLockedValueBox<State>

    /// Bytes of `buffer.memory` reserved by batches now.
    var memoryInUse: Int { state.withLockedValue { $0.usedMemory } }

    init(settings: Settings) {
        self.settings = settings
        self.state = NIOLockedValueBox(State())
    }

    // MARK: - Appending (callers of send)

    struct AppendProgress {
        /// The index of the first record not appended (`records.count` when all were).
        var next: Int
        /// Why appending stopped before the end; nil when every record was appended.
        var stop: AppendOutcome?
        /// A batch was created or filled: the sender has a new deadline or something to send.
        var wakeSender: Bool
    }

    /// Appends `records[start...]` in order until one cannot be appended. `reservation` holds
    /// memory the caller already waited for; new batches use it first, and what is left is
    /// returned to the budget before this returns.
    func append(
        _ records: [KafkaProducerRecord], from start: Int, firstID: KafkaRecordID, nowMillis: Int64,
        now: NIODeadline, reservation: inout Int, completion: (Int) -> RecordCompletion
    ) -> AppendProgress {
        var progress = AppendProgress(next: start, stop: nil, wakeSender: false)
        // The lock is taken once per slice of records, not per record and not for the whole
        // array: a long hold would stall the sender, which needs the lock to drain and complete.
        while progress.next < records.count && progress.stop == nil {
            let sliceEnd = min(records.count, progress.next + Self.recordsPerLockHold)
            appendSlice(
                records, until: sliceEnd, start: start, firstID: firstID, nowMillis: nowMillis, now: now,
                reservation: &reservation, completion: completion, progress: &progress)
        }
        if reservation > 0 {
            releaseMemory(bytes: reservation)
            reservation = 0
        }
        return progress
    }

    /// Appends `block.records[start...]` like `append(_:from:…)`, straight from the block's buffer.
    func append(
        block: KafkaRecordBlock, from start: Int, firstID: KafkaRecordID, nowMillis: Int64, now: NIODeadline,
        reservation: inout Int, reportingTo reports: KafkaDeliveryReports
    ) -> AppendProgress {
        var progress = AppendProgress(next: start, stop: nil, wakeSender: false)
        let timestamp = block.timestamp ?? nowMillis
        block.bytes.withUnsafeReadableBytes { bytes in
            while progress.next < block.records.count && progress.stop == nil {
                let sliceEnd = min(block.records.count, progress.next + Self.recordsPerLockHold)
                state.withLockedValue { state in
                    var cache: TopicCache? = nil
                    var placement: Placement?
                    while progress.next < sliceEnd {
                        let index = progress.next
                        let record = block.records[index]
                        let outcome = Self.appendOne(
                            topic: block.topic, explicitPartition: block.partition,
                            key: record.key.map { UnsafeRawBufferPointer(rebasing: bytes[$0]) },
                            value: record.value.map { UnsafeRawBufferPointer(rebasing: bytes[$0]) },
                            headers: block.headers, timestamp: timestamp, id: firstID + KafkaRecordID(index - start),
                            now: now, reservation: &reservation, completion: { .report(reports) }, settings: settings,
                            state: &state, cache: &cache, placement: &placement)
                        guard case .appended(let wakeSender) = outcome else {
                            progress.stop = outcome
                            break
                        }
                        progress.wakeSender = progress.wakeSender || wakeSender
                        progress.next += 1
                        if let placement, let queues = cache?.queues {
                            let runWakes = Self.appendRun(
                                block: block, bytes: bytes, next: &progress.next, until: sliceEnd,
                                firstID: firstID &- KafkaRecordID(start), timestamp: timestamp, placement: placement,
                                queues: queues, partitionCount: cache!.metadata.partitions.count,
                                reports: reports, settings: settings)
                            progress.wakeSender = progress.wakeSender || runWakes
                        }
                    }
                }
            }
        }
        if reservation > 0 {
            releaseMemory(bytes: reservation)
            reservation = 0
        }
        return progress
    }

    @inline(__always)
    private static func withOptionalBytes<R>(_ buffer: ByteBuffer?, _ body: (UnsafeRawBufferPointer?) -> R) -> R {
        guard let buffer else { return body(nil) }
        return buffer.withUnsafeReadableBytes { body($0) }
    }

    /// Records appended per lock acquisition on the bulk path.
    static let recordsPerLockHold = 256

    private func appendSlice(
        _ records: [KafkaProducerRecord], until sliceEnd: Int, start: Int, firstID: KafkaRecordID, nowMillis: Int64,
        now: NIODeadline, reservation: inout Int, completion: (Int) -> RecordCompletion, progress: inout AppendProgress
    ) {
        state.withLockedValue { state in
            var cache: TopicCache? = nil
            var unused: Placement?
            while progress.next < sliceEnd {
                let index = progress.next
                let record = records[index]
                let outcome = Self.withOptionalBytes(record.key) { key in
                    Self.withOptionalBytes(record.value) { value in
                        Self.appendOne(
                            topic: record.topic, explicitPartition: record.partition, key: key, value: value,
                            headers: record.headers, timestamp: record.timestamp ?? nowMillis,
                            id: firstID + KafkaRecordID(index - start), now: now, reservation: &reservation,
                            completion: { completion(index) }, settings: settings, state: &state, cache: &cache,
                            placement: &unused)
                    }
                }
                guard case .appended(let wakeSender) = outcome else {
                    progress.stop = outcome
                    break
                }
                progress.wakeSender = progress.wakeSender || wakeSender
                progress.next += 1
            }
        }
    }

    /// Appends one record given as raw bytes (the lock is held). Every bulk path ends here.
    private static func appendOne(
        topic topicName: String, explicitPartition: Int32?, key: UnsafeRawBufferPointer?,
        value: UnsafeRawBufferPointer?, headers: [KafkaRecordHeader], timestamp: Int64, id: KafkaRecordID,
        now: NIODeadline, reservation: inout Int, completion: () -> RecordCompletion, settings: Settings,
        state: inout State, cache: inout TopicCache?, placement: inout Placement?
    ) -> AppendOutcome {
        placement = nil
        if state.isClosed {
            return .failed(
                KafkaProducerError(.producerClosed, "the producer is closed; \(topicName) record not accepted"))
        }
        if let fatalError = state.fatalError { return .failed(fatalError) }
        let estimate = RecordBatchWriter.estimatedRecordSize(
            keyLength: key?.count, valueLength: value?.count, headers: headers)
        let batchOverhead = RecordBatchLayout.records
        if estimate + batchOverhead > settings.maxRequestSize {
            return .failed(
                KafkaProducerError(
                    .recordTooLarge,
                    "a \(estimate)-byte record for \(topicName) exceeds max.request.size (\(settings.maxRequestSize))"
                ))
        }
        if estimate + batchOverhead > settings.bufferMemory {
            return .failed(
                KafkaProducerError(
                    .recordTooLarge,
                    "a \(estimate)-byte record for \(topicName) exceeds buffer.memory (\(settings.bufferMemory))"))
        }
        if cache?.name != topicName {
            guard let topic = state.metadata.topics[topicName] else {
                if let error = state.metadata.topicErrors[topicName], !error.isRetriable {
                    return .failed(
                        KafkaProducerError(
                            .brokerError, "topic \(topicName) cannot be produced to", brokerErrorCode: error))
                }
                return .needsMetadata(topic: topicName)
            }
            let queues: TopicQueues
            if let existing = state.topics[topicName] {
                queues = existing
            } else {
                queues = TopicQueues(name: topicName, settings: settings.configuration.settings(forTopic: topicName))
                state.topics[topicName] = queues
            }
            cache = TopicCache(name: topicName, metadata: topic, queues: queues)
        }
        // Read in place: binding the cached metadata to a local would retain its arrays per record.
        let queues = cache!.queues
        let partitionCount = Int32(cache!.metadata.partitions.count)
        // ClusterMetadata never holds a topic without partitions; this only keeps the
        // partitioner's precondition out of reach of anything a broker can send.
        guard partitionCount > 0 else { return .needsMetadata(topic: topicName) }
        let partition: Int32
        if let explicit = explicitPartition {
            guard explicit >= 0, explicit < partitionCount else {
                return .failed(
                    KafkaProducerError(
                        .unknownTopicOrPartition,
                        "partition \(explicit) of \(topicName) does not exist (it has \(partitionCount))"))
            }
            partition = explicit
        } else {
            partition = queues.partitioner.partition(
                state: queues.partitionerState, rawKey: key, partitionCount: partitionCount,
                availablePartitions: cache!.metadata.availablePartitions)
        }
        Self.ensurePartition(partition, of: queues, state: &state)
        let slot = Int(partition)

        var wake = false
        if let open = queues.partitions[slot].last, open.isOpen,
            open.sizeInBytes + estimate <= max(queues.settings.batchSize, open.reservedBytes)
        {
            open.append(
                id: id, timestamp: timestamp, key: key, value: value, headers: headers,
                completion: completion())
            if open.sizeInBytes >= queues.settings.batchSize { wake = true }
            placement = Placement(partition: partition, batch: open)
        } else {
            let size = max(queues.settings.batchSize, estimate + batchOverhead)
            if reservation >= size {
                reservation -= size
            } else {
                guard state.memoryWaiters.isEmpty, state.usedMemory + size <= settings.bufferMemory else {
                    return .needsMemory(bytes: size)
                }
                state.usedMemory += size
            }
            let batch = ProducerBatch(
                topicPartition: TopicPartition(topic: topicName, partition: partition), settings: queues.settings,
                serial: state.nextSerial,
                createdAt: now, capacity: size, reservedBytes: size)
            state.nextSerial += 1
            queues.lastBatchCreatedAt = now
            state.incomplete.insert(batch.serial)
            batch.append(
                id: id, timestamp: timestamp, key: key, value: value, headers: headers,
                completion: completion())
            queues.partitions[slot].append(batch)
            wake = true
            placement = Placement(partition: partition, batch: batch)
        }
        queues.partitioner.recordAppended(state: queues.partitionerState, partition: partition, bytes: estimate)
        return .appended(wakeSender: wake)
    }

    /// Where `appendOne` put a record: the next records of a block may follow it there.
    private struct Placement {
        var partition: Int32
        var batch: ProducerBatch
    }

    /// Appends the block's records from `next` on to the batch the previous one went to, as long
    /// as each would go there through `appendOne` too (the same partition, room in the batch,
    /// within the size limits); stops at the first that would not, which `appendOne` then takes.
    /// Returns whether the batch became full (the sender should look).
    private static func appendRun(
        block: KafkaRecordBlock, bytes: UnsafeRawBufferPointer, next: inout Int, until end: Int,
        firstID: KafkaRecordID, timestamp: Int64, placement: Placement, queues: TopicQueues, partitionCount: Int,
        reports: KafkaDeliveryReports, settings: Settings
    ) -> Bool {
        let batch = placement.batch
        guard next < end, batch.isOpen else { return false }
        let limit = max(queues.settings.batchSize, batch.reservedBytes)
        let largest = min(settings.maxRequestSize, settings.bufferMemory) - RecordBatchLayout.records
        var run = batch.beginRun()
        while next < end {
            let record = block.records[next]
            let key = record.key.map { UnsafeRawBufferPointer(rebasing: bytes[$0]) }
            let value = record.value.map { UnsafeRawBufferPointer(rebasing: bytes[$0]) }
            let estimate = RecordBatchWriter.estimatedRecordSize(
                keyLength: key?.count, valueLength: value?.count, headers: block.headers)
            guard estimate <= largest, run.sizeInBytes + estimate <= limit else { break }
            if block.partition == nil {
                guard
                    queues.partitioner.certainlyPlaces(
                        state: queues.partitionerState, rawKey: key, partitionCount: Int32(partitionCount),
                        in: placement.partition)
                else { break }
            }
            run.append(
                id: firstID &+ KafkaRecordID(next), timestamp: timestamp, key: key, value: value, headers: block.headers
            )
            queues.partitioner.recordAppended(
                state: queues.partitionerState, partition: placement.partition, bytes: estimate)
            next += 1
        }
        batch.endRun(run, reports: reports)
        return batch.sizeInBytes >= queues.settings.batchSize
    }

    /// Creates the queues up to `partition`, registering each in the drain order.
    private static func ensurePartition(_ partition: Int32, of queues: TopicQueues, state: inout State) {
        while queues.partitions.count <= Int(partition) {
            state.drainOrder.append(DrainSlot(queues: queues, slot: queues.partitions.count))
            queues.partitions.append(PartitionQueue())
        }
    }

    // MARK: - Memory

    /// Waits until `bytes` of `buffer.memory` are free and reserves them; the returned amount
    /// belongs to the caller (pass it to `append` as its reservation). `registered` receives an
    /// id that `failMemoryWaiter` can use to end the wait (the max.block.ms timeout).
    /// A task cancelled while it waits ends the wait with `.cancelled`; memory granted before the
    /// cancellation is the caller's as usual.
    func reserveMemory(bytes: Int, registered: (UInt64) -> Void) async throws -> Int {
        let budget = settings.bufferMemory
        try await BudgetWaiters.wait(
            in: state, waiters: \.memoryWaiters, amount: bytes, what: "buffer.memory",
            takeNow: { Self.takeMemory(bytes, state: &$0, budget: budget) }, registered: registered,
            cancel: { id, error in self.failMemoryWaiter(id: id, error: error) })
        return bytes
    }

    /// Ends a memory wait with `error`, if it is still waiting.
    func failMemoryWaiter(id: UInt64, error: KafkaProducerError) {
        let waiter: BudgetWaiters.Waiter? = state.withLockedValue { state in
            let waiter = state.memoryWaiters.remove(id: id)
            // A waiter behind it may now fit.
            self.grantWaiters(state: &state)
            return waiter
        }
        waiter?.continuation.resume(throwing: error)
    }

    /// Returns unused memory (a reservation that was not needed).
    func releaseMemory(bytes: Int) {
        guard bytes > 0 else { return }
        state.withLockedValue { state in self.release(bytes: bytes, state: &state) }
    }

    private func release(bytes: Int, state: inout State) {
        state.usedMemory -= bytes
        grantWaiters(state: &state)
    }

    /// Grants memory to waiters in arrival order, as long as the first one fits.
    private func grantWaiters(state: inout State) {
        let budget = settings.bufferMemory
        var waiters = BudgetWaiters()
        swap(&waiters, &state.memoryWaiters)
        waiters.grant { Self.takeMemory($0, state: &state, budget: budget) }
        swap(&waiters, &state.memoryWaiters)
    }

    /// Takes `bytes` of `buffer.memory` if they are free.
    private static func takeMemory(_ bytes: Int, state: inout State, budget: Int) -> Bool {
        guard state.usedMemory + bytes <= budget else { return false }
        state.usedMemory += bytes
        return true
    }

    // MARK: - The sender's side

    /// Replaces the metadata snapshot partitioning and draining use.
    func updateMetadata(_ metadata: ClusterMetadata) {
        state.withLockedValue { $0.metadata = metadata }
    }

    struct ReadyCheck {
        /// Nodes with at least one sendable batch.
        var readyNodes: Set<Int32> = []
        /// Partitions whose leader is unknown: metadata should be refreshed.
        var hasUnknownLeaders = false
        /// When the next batch becomes ready by linger or backoff.
        var nextReadyAt: NIODeadline?
        /// Queued batches whose delivery timeout passed, taken out of their queues: to be failed.
        var expired: [ProducerBatch] = []
        /// Whether any batch is queued or in flight.
        var hasIncompleteBatches = false
    }

    /// Which nodes have something to send now. A partition's first batch is sendable when it is
    /// full (or not the last), its linger expired, a flush or close is under way, and it is not
    /// in retry backoff or held back by `canDrain` (the sender's ordering rules: a muted
    /// partition, idempotent sequence order).
    /// In the same pass (one lock acquisition) it takes out queued batches whose delivery
    /// timeout passed.
    func ready(now: NIODeadline, canDrain: (ProducerBatch) -> Bool) -> ReadyCheck {
        state.withLockedValue { state in
            var check = ReadyCheck()
            let flushing = !state.flushWaiters.isEmpty || state.isClosed
            for (topic, queues) in state.topics {
                for slot in queues.partitions.indices where !queues.partitions[slot].isEmpty {
                    let topicPartition = TopicPartition(topic: topic, partition: Int32(slot))
                    while let batch = queues.partitions[slot].first,
                        batch.createdAt + settings.deliveryTimeout <= now
                    {
                        check.expired.append(queues.partitions[slot].popFirst()!)
                    }
                    guard let batch = queues.partitions[slot].first else { continue }
                    guard let leader = state.metadata.leader(for: topicPartition) else {
                        check.hasUnknownLeaders = true
                        continue
                    }
                    if !canDrain(batch) { continue }
                    if let retryAfter = batch.retryAfter, retryAfter > now {
                        check.nextReadyAt = min(check.nextReadyAt ?? retryAfter, retryAfter)
                        continue
                    }
                    let full =
                        queues.partitions[slot].count > 1 || !batch.isOpen
                        || batch.sizeInBytes >= queues.settings.batchSize
                    let lingerEnds = batch.createdAt + queues.settings.linger
                    if full || flushing || lingerEnds <= now {
                        check.readyNodes.insert(leader)
                    } else {
                        check.nextReadyAt = min(check.nextReadyAt ?? lingerEnds, lingerEnds)
                    }
                }
            }
            check.hasIncompleteBatches = !state.incomplete.isEmpty
            return check
        }
    }

    /// Takes the sendable first batch of each partition led by `node`, up to `maxSize` bytes of
    /// records in total (at least one batch), starting where the node's previous drain stopped. The batches leave the queues; they come back with
    /// `reenqueue` for a retry or end with `complete`.
    func drain(
        node: Int32, acks: KafkaAcks, now: NIODeadline, maxSize: Int, canDrain: (ProducerBatch) -> Bool
    ) -> [ProducerBatch] {
        state.withLockedValue { state in
            var drained: [ProducerBatch] = []
            var size = 0
            let flushing = !state.flushWaiters.isEmpty || state.isClosed
            let count = state.drainOrder.count
            guard count > 0 else { return [] }
            let start = (state.drainIndex[node] ?? 0) % count
            var next = start
            for step in 0..<count {
                let position = (start + step) % count
                next = (position + 1) % count
                let entry = state.drainOrder[position]
                let queues = entry.queues
                let slot = entry.slot
                // A Produce request carries one acks: topics with another go in another request.
                guard queues.settings.acks == acks, let batch = queues.partitions[slot].first else { continue }
                let topicPartition = TopicPartition(topic: queues.name, partition: Int32(slot))
                guard state.metadata.leader(for: topicPartition) == node, canDrain(batch) else { continue }
                if let retryAfter = batch.retryAfter, retryAfter > now { continue }
                let full =
                    queues.partitions[slot].count > 1 || !batch.isOpen || batch.sizeInBytes >= queues.settings.batchSize
                guard full || flushing || batch.createdAt + queues.settings.linger <= now else { continue }
                if !drained.isEmpty && size + batch.sizeInBytes > maxSize {
                    // The partition that did not fit goes first next time.
                    next = position
                    break
                }
                size += batch.sizeInBytes
                drained.append(queues.partitions[slot].popFirst()!)
            }
            state.drainIndex[node] = next
            return drained
        }
    }

    /// Puts a batch back at the front of its partition for a retry after `retryAfter`: before
    /// every new batch, and among other retries in sequence order (Java's
    /// `insertInSequenceOrder`), so that two batches of one partition that failed in the same
    /// round go out again in their original order.
    func reenqueue(_ batch: ProducerBatch, retryAfter: NIODeadline) {
        batch.retryAfter = retryAfter
        state.withLockedValue { state in
            Self.insertInSequenceOrder(batch, state: &state)
        }
    }

    /// Inserts a batch at the front of its partition, behind retries with lower sequences (a
    /// batch without sequences goes to the very front).
    private static func insertInSequenceOrder(_ batch: ProducerBatch, state: inout State) {
        // The topic's queues exist: the batch was appended to them.
        let queues = state.topics[batch.topicPartition.topic]!
        ensurePartition(batch.topicPartition.partition, of: queues, state: &state)
        let slot = Int(batch.topicPartition.partition)
        var position = 0
        if batch.hasSequence {
            let queue = queues.partitions[slot]
            while position < queue.count, queue[position].hasSequence,
                queue[position].producerState.baseSequence < batch.producerState.baseSequence
            {
                position += 1
            }
        }
        queues.partitions[slot].insert(batch, at: position)
    }

    /// Replaces a batch the broker refused as too large by its two halves, at the front of its
    /// partition (first half first; among other retries in sequence order), so order is kept.
    /// Flushes that waited for the batch now wait for both halves. Nil when it cannot be split
    /// (one record).
    func splitForRetry(_ batch: ProducerBatch) -> (ProducerBatch, ProducerBatch)? {
        state.withLockedValue { state in
            let serials = (state.nextSerial, state.nextSerial + 1)
            guard let (first, second) = batch.splitInHalves(serials: serials) else { return nil }
            state.nextSerial += 2
            state.incomplete.remove(batch.serial)
            state.incomplete.insert(first.serial)
            state.incomplete.insert(second.serial)
            for index in state.flushWaiters.indices where state.flushWaiters[index].remaining.contains(batch.serial) {
                state.flushWaiters[index].remaining.remove(batch.serial)
                state.flushWaiters[index].remaining.insert(first.serial)
                state.flushWaiters[index].remaining.insert(second.serial)
            }
            // Without sequences both go to the very front, second first.
            Self.insertInSequenceOrder(second, state: &state)
            Self.insertInSequenceOrder(first, state: &state)
            return (first, second)
        }
    }

    /// Takes every queued batch (close after its timeout): to be failed.
    func drainAll() -> [ProducerBatch] {
        state.withLockedValue { state in
            var all: [ProducerBatch] = []
            for queues in state.topics.values {
                for slot in queues.partitions.indices {
                    while !queues.partitions[slot].isEmpty { all.append(queues.partitions[slot].popFirst()!) }
                }
            }
            return all
        }
    }

    /// Marks batches done: their memory returns to the budget and flushes waiting on them move on.
    func complete(_ batches: [ProducerBatch]) {
        guard !batches.isEmpty else { return }
        var finishedFlushes: [CheckedContinuation<Void, Never>] = []
        state.withLockedValue { state in
            var released = 0
            for batch in batches {
                state.incomplete.remove(batch.serial)
                released += batch.reservedBytes
            }
            var index = 0
            while index < state.flushWaiters.count {
                for batch in batches { state.flushWaiters[index].remaining.remove(batch.serial) }
                if state.flushWaiters[index].remaining.isEmpty {
                    finishedFlushes.append(state.flushWaiters.remove(at: index).continuation)
                } else {
                    index += 1
                }
            }
            self.release(bytes: released, state: &state)
        }
        for continuation in finishedFlushes { continuation.resume() }
    }

    /// Waits until every batch that exists now has completed. While a flush waits, every batch
    /// is sendable at once (linger is ignored).
    func flush(wakeSender: () -> Void) async {
        await withCheckedContinuation { continuation in
            let done: Bool = state.withLockedValue { state in
                if state.incomplete.isEmpty { return true }
                state.flushWaiters.append(FlushWaiter(remaining: state.incomplete, continuation: continuation))
                return false
            }
            if done { continuation.resume() } else { wakeSender() }
        }
    }

    /// Refuses every later append with `error` and takes every queued batch (to be failed with
    /// it); memory waiters fail with it too.
    func failFatally(_ error: KafkaProducerError) -> [ProducerBatch] {
        let waiters = state.withLockedValue { state in
            if state.fatalError == nil { state.fatalError = error }
            return state.memoryWaiters.removeAll()
        }
        for waiter in waiters { waiter.continuation.resume(throwing: error) }
        return drainAll()
    }

    /// Stops accepting records. Returns the memory waiters, which the caller fails.
    func close() {
        let waiters = state.withLockedValue { state in
            state.isClosed = true
            return state.memoryWaiters.removeAll()
        }
        for waiter in waiters {
            waiter.continuation.resume(
                throwing: KafkaProducerError(.producerClosed, "the producer closed while waiting for buffer.memory"))
        }
    }

    /// Whether anything is queued or in flight.
    var hasIncompleteBatches: Bool { state.withLockedValue { !$0.incomplete.isEmpty } }

    /// Each topic with a batch, and when its newest batch was created: what the producer still
    /// produces to, for `metadata.max.idle.ms`.
    func lastBatchCreation() -> [(topic: String, createdAt: NIODeadline)] {
        state.withLockedValue { state in
            state.topics.compactMap { name, queues in queues.lastBatchCreatedAt.map { (name, $0) } }
        }
    }
    /// Bytes of `buffer.memory` in use (tests, metrics).
    var usedMemory: Int { state.withLockedValue { $0.usedMemory } }
}
