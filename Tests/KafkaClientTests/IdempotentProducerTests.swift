import Foundation
import KafkaClient
import KafkaTestCluster
import KafkaWire
import MetricsTestKit
import NIOCore
import Testing

enum IdempotenceReasons {
    static let all = [
        "out_of_order_sequence", "unknown_producer_id", "invalid_producer_epoch", "failed_batch", "unresolved_sequence",
    ]
}

/// The idempotent producer against librdkafka's mock cluster. The mock does not check sequences
/// for a producer without a transactional id, so these tests check what the client sent: the
/// stored batches' producer id, epoch and base sequence, decoded from the mock's raw bytes by
/// kafka-python (`storedBatches`), and the records read back by librdkafka's consumer.
@Suite("Idempotent producer")
struct IdempotentProducerTests {
    typealias Support = ProducerTestSupport

    static func producer(
        _ cluster: KafkaTestCluster, _ settings: [String: String] = [:], metrics: TestMetrics? = nil
    ) throws -> KafkaProducer {
        var properties = [
            "bootstrap.servers": cluster.bootstrapServers, "client.id": "idempotent-test", "linger.ms": "5",
            "retry.backoff.ms": "20", "retry.backoff.max.ms": "200", "reconnect.backoff.ms": "20",
            "reconnect.backoff.max.ms": "200", "request.timeout.ms": "15000", "delivery.timeout.ms": "60000",
            "max.block.ms": "10000",
        ]
        for (key, value) in settings { properties[key] = value }
        return try KafkaProducer(
            configuration: KafkaProducerConfiguration(properties: properties), metricsFactory: metrics)
    }

    static func storedBatches(
        _ cluster: KafkaTestCluster, topic: String, partitions: Int
    ) async throws -> [Int32: [StoredBatch]] {
        var result: [Int32: [StoredBatch]] = [:]
        for partition in 0..<Int32(partitions) {
            result[partition] = try await cluster.storedBatches(topic: topic, partition: partition)
        }
        return result
    }

    /// Every batch carries the one producer id (a real one, ≥ 0) and `epoch`, and the batches'
    /// sequence ranges, taken in sequence order, cover 0..<records without gap or overlap.
    static func expectSequencesCover(
        _ batches: [StoredBatch], epoch: Int16 = 0, producerId: Int64? = nil,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let ids = Set(batches.map(\.producerId))
        #expect(ids.count == 1 && ids.first! >= 0, "producer ids \(ids)", sourceLocation: sourceLocation)
        if let producerId { #expect(ids == [producerId], sourceLocation: sourceLocation) }
        #expect(Set(batches.map(\.producerEpoch)) == [epoch], sourceLocation: sourceLocation)
        #expect(batches.allSatisfy { $0.isCRCValid }, sourceLocation: sourceLocation)
        var next: Int32 = 0
        for batch in batches.sorted(by: { $0.baseSequence < $1.baseSequence }) {
            #expect(batch.baseSequence == next, "sequence gap or overlap at \(next)", sourceLocation: sourceLocation)
            next = batch.baseSequence + batch.recordCount
        }
    }

    static func resets(_ metrics: TestMetrics, _ reason: String) -> Int64 {
        let counter = try? metrics.expectCounter(
            "tributary_producer_sequence_resets_total", [("client_id", "idempotent-test"), ("reason", reason)])
        return counter?.totalValue ?? 0
    }

    // MARK: - Sequences

    /// Three partitions, five requests in flight, and a run of injected retriable errors (which
    /// the mock answers without writing): every batch carries one producer id and epoch 0, and
    /// each partition's sequences are contiguous from 0.
    @Test func sequencesAreContiguousFromZeroThroughRetries() async throws {
        let cluster = try await KafkaTestCluster.start(brokers: 1, topics: ["seq": 3])
        defer { Task { await cluster.stop() } }
        let producer = try Self.producer(cluster, ["linger.ms": "2"])
        try await cluster.pushRequestErrors(apiKey: 0, errors: [6, 19, 0, 7, 5])
        let metadata = try await Support.sendAll(producer, topic: "seq", count: 300, key: { "key-\($0 % 7)" })
        await producer.close()
        #expect(metadata.count == 300)
        let batches = try await Self.storedBatches(cluster, topic: "seq", partitions: 3)
        let ids = Set(batches.values.flatMap { $0.map(\.producerId) })
        #expect(ids.count == 1, "one producer id across partitions: \(ids)")
        for (partition, stored) in batches.sorted(by: { $0.key < $1.key }) {
            #expect(!stored.isEmpty, "partition \(partition)")
            Self.expectSequencesCover(stored)
        }
        try await KafkaProducerFaultTests.expectExactlyOnce(cluster, topic: "seq", count: 300)
    }

    /// With one request in flight, retries cannot overtake anything: every record is stored
    /// once, in send order per partition, and the stored batches' sequences follow each other
    /// in log order.
    @Test func oneInFlightKeepsSendOrderThroughInjectedErrors() async throws {
        let cluster = try await KafkaTestCluster.start(brokers: 1, topics: ["ordered": 2])
        defer { Task { await cluster.stop() } }
        let producer = try Self.producer(
            cluster, ["max.in.flight.requests.per.connection": "1", "linger.ms": "1", "batch.size": "200"])
        try await cluster.pushRequestErrors(apiKey: 0, errors: [6, 0, 19, 19, 0, 5, 0, 56])
        let reports = try await Support.enqueueAll(producer, topic: "ordered", count: 400, key: { "k\($0 % 5)" })
        await producer.close()
        #expect(reports.allSatisfy { $0.error == nil })
        let stored = try await Support.stored(cluster, topic: "ordered")
        for (partition, records) in stored {
            let numbers = records.map { Int(String(decoding: $0.value ?? [], as: UTF8.self).dropFirst(7))! }
            #expect(numbers == numbers.sorted(), "partition \(partition) in send order")
            #expect(Set(numbers).count == numbers.count, "partition \(partition) without duplicates")
        }
        #expect(stored.values.map(\.count).reduce(0, +) == 400)
        for (partition, batches) in try await Self.storedBatches(cluster, topic: "ordered", partitions: 2)
        where !batches.isEmpty {
            Self.expectSequencesCover(batches)
            #expect(
                batches.map(\.baseSequence) == batches.map(\.baseSequence).sorted(),
                "partition \(partition): log order is sequence order")
        }
    }

    /// Five requests in flight, a slow broker and injected errors: every record is stored once
    /// (the mock stores retried batches after later ones, which a real broker would refuse as out
    /// of sequence; the client's ordering is proven without sockets, in
    /// `IdempotenceStateMachineTests`).
    @Test func fiveInFlightStoreEveryRecordOnce() async throws {
        let cluster = try await KafkaTestCluster.start(brokers: 1, topics: ["many": 2])
        defer { Task { await cluster.stop() } }
        try await cluster.setRTT(broker: 1, milliseconds: 30)
        let producer = try Self.producer(cluster, ["linger.ms": "0", "batch.size": "300"])
        _ = try await producer.send(
            KafkaProducerRecord(topic: "many", key: Support.value("k0"), value: Support.value("record-0")))
        try await cluster.pushRequestErrors(apiKey: 0, errors: [6, 0, 6, 0, 19, 19, 0, 7])
        let records = (1..<500).map {
            KafkaProducerRecord(topic: "many", key: Support.value("k\($0 % 2)"), value: Support.value("record-\($0)"))
        }
        try await producer.enqueue(contentsOf: records, firstID: 0, reportingTo: producer.makeDeliveryReports())
        await producer.close()
        try await KafkaProducerFaultTests.expectExactlyOnce(cluster, topic: "many", count: 500)
        for (_, batches) in try await Self.storedBatches(cluster, topic: "many", partitions: 2) where !batches.isEmpty {
            Self.expectSequencesCover(batches)
        }
    }

    /// Without idempotence the batches carry no producer id: the checks above can tell.
    @Test func withoutIdempotenceBatchesCarryNoProducerId() async throws {
        let cluster = try await KafkaTestCluster.start(brokers: 1, topics: ["plain": 1])
        defer { Task { await cluster.stop() } }
        let producer = try Self.producer(cluster, ["enable.idempotence": "false"])
        _ = try await Support.sendAll(producer, topic: "plain", count: 10)
        await producer.close()
        let batches = try await cluster.storedBatches(topic: "plain", partition: 0)
        #expect(!batches.isEmpty)
        #expect(batches.allSatisfy { $0.producerId == -1 && $0.producerEpoch == -1 && $0.baseSequence == -1 })
    }

    // MARK: - Broker errors

    /// DUPLICATE_SEQUENCE_NUMBER: the broker says it already has the batch. The send succeeds
    /// with offset −1, and the next batch continues the sequence.
    @Test func duplicateSequenceIsSuccessWithUnknownOffset() async throws {
        let cluster = try await KafkaTestCluster.start(brokers: 1, topics: ["dup": 1])
        defer { Task { await cluster.stop() } }
        let producer = try Self.producer(cluster)
        try await cluster.pushRequestErrors(apiKey: 0, errors: [46])
        let first = try await producer.send(KafkaProducerRecord(topic: "dup", value: Support.value("first")))
        let second = try await producer.send(KafkaProducerRecord(topic: "dup", value: Support.value("second")))
        await producer.close()
        #expect(first.offset == -1)
        #expect(second.offset == 0)
        let batches = try await cluster.storedBatches(topic: "dup", partition: 0)
        #expect(batches.map(\.baseSequence) == [1], "the mock wrote only the second; its sequence follows the first")
        #expect(batches.map(\.producerEpoch) == [0])
    }

    /// OUT_OF_ORDER_SEQUENCE_NUMBER for the first batch (nothing earlier is outstanding, so the
    /// broker really lost track), UNKNOWN_PRODUCER_ID, or a batch failing for good
    /// (INVALID_RECORD): the epoch is bumped locally and the partition restarts at sequence 0,
    /// counted by reason.
    @Test(arguments: [
        (Int16(45), "out_of_order_sequence", true), (59, "unknown_producer_id", true), (87, "failed_batch", false),
    ])
    func errorsThatResetSequences(code: Int16, reason: String, isDelivered: Bool) async throws {
        let cluster = try await KafkaTestCluster.start(brokers: 1, topics: ["reset": 1])
        defer { Task { await cluster.stop() } }
        let metrics = TestMetrics()
        let producer = try Self.producer(cluster, metrics: metrics)
        _ = try await producer.send(KafkaProducerRecord(topic: "reset", value: Support.value("before")))
        try await cluster.pushRequestErrors(apiKey: 0, errors: [code])
        let result = await Result {
            try await producer.send(KafkaProducerRecord(topic: "reset", value: Support.value("hit")))
        }
        _ = try await producer.send(KafkaProducerRecord(topic: "reset", value: Support.value("after")))
        await producer.close()

        if isDelivered {
            #expect((try? result.get()) != nil, "retried after the bump: \(result)")
        } else {
            #expect(throws: KafkaProducerError.self) { try result.get() }
            #expect((try? result.get()) == nil)
            if case .failure(let error as KafkaProducerError) = result {
                #expect(error.brokerErrorCode == KafkaErrorCode(rawValue: code))
            }
        }
        #expect(Self.resets(metrics, reason) == 1)
        let batches = try await cluster.storedBatches(topic: "reset", partition: 0)
        #expect(Set(batches.map(\.producerId)).count == 1)
        let states = batches.map { [Int($0.producerEpoch), Int($0.baseSequence)] }
        #expect(states == (isDelivered ? [[0, 0], [1, 0], [1, 1]] : [[0, 0], [1, 0]]))
    }

    /// Two batches of one partition in flight (a slow broker): the first is refused with a
    /// retriable error, the second with OUT_OF_ORDER_SEQUENCE_NUMBER, as a real broker would
    /// answer once the first is missing. The second is not the next expected batch, so it waits
    /// and goes again after the first, with its sequence: no epoch bump, order kept.
    @Test func outOfOrderBehindAnUnacknowledgedBatchIsRetriedInOrder() async throws {
        let cluster = try await KafkaTestCluster.start(brokers: 1, topics: ["behind": 1])
        defer { Task { await cluster.stop() } }
        let metrics = TestMetrics()
        let producer = try Self.producer(cluster, ["linger.ms": "0", "batch.size": "150"], metrics: metrics)
        _ = try await producer.send(KafkaProducerRecord(topic: "behind", value: Support.value("record-0")))
        try await cluster.setRTT(broker: 1, milliseconds: 100)
        try await cluster.startRequestTracking()
        try await cluster.pushRequestErrors(apiKey: 0, errors: [6, 45])
        let padding = String(repeating: "x", count: 100)
        try await producer.enqueue(
            contentsOf: (1...2).map {
                KafkaProducerRecord(topic: "behind", value: Support.value("record-\($0) \(padding)"))
            }, firstID: 1, reportingTo: producer.makeDeliveryReports())
        await producer.flush()
        await producer.close()
        #expect(try await Support.produceRequestCount(cluster) == 4, "two refused, then one at a time")
        for reason in IdempotenceReasons.all { #expect(Self.resets(metrics, reason) == 0, "\(reason)") }
        let batches = try await cluster.storedBatches(topic: "behind", partition: 0)
        #expect(batches.map { [Int($0.producerEpoch), Int($0.baseSequence)] } == [[0, 0], [0, 1], [0, 2]])
        let stored = try await Support.stored(cluster, topic: "behind")
        #expect(
            stored[0]?.map { String(decoding: $0.value ?? [], as: UTF8.self).prefix(8) } == [
                "record-0", "record-1", "record-2",
            ])
    }

    /// Produce answered with an error that refuses idempotent writes (CLUSTER_AUTHORIZATION_FAILED,
    /// TRANSACTIONAL_ID_AUTHORIZATION_FAILED, PRODUCER_FENCED): the batch fails with the broker's
    /// code, and every later send with `.idempotenceFailed`.
    @Test(arguments: [Int16(31), 53, 90])
    func produceRefusalsAreFatal(code: Int16) async throws {
        let cluster = try await KafkaTestCluster.start(brokers: 1, topics: ["fatal": 1])
        defer { Task { await cluster.stop() } }
        let producer = try Self.producer(cluster)
        try await cluster.pushRequestErrors(apiKey: 0, errors: [code])
        await #expect {
            try await producer.send(KafkaProducerRecord(topic: "fatal", value: Support.value("refused")))
        } throws: { error in
            (error as? KafkaProducerError)?.brokerErrorCode == KafkaErrorCode(rawValue: code)
        }
        await #expect {
            try await producer.send(KafkaProducerRecord(topic: "fatal", value: Support.value("later")))
        } throws: { error in
            guard let error = error as? KafkaProducerError else { return false }
            return error.code == .idempotenceFailed && error.brokerErrorCode == KafkaErrorCode(rawValue: code)
        }
        await producer.close()
        #expect(try await cluster.storedBatches(topic: "fatal", partition: 0).isEmpty)
    }

    /// A batch in flight when the producer turns fatal, answered with a retriable error, fails
    /// at once with `.idempotenceFailed` instead of waiting for its delivery timeout.
    @Test func batchesInFlightFailWithTheFatalError() async throws {
        let cluster = try await KafkaTestCluster.start(brokers: 1, topics: ["late": 1])
        defer { Task { await cluster.stop() } }
        let producer = try Self.producer(
            cluster, ["linger.ms": "0", "batch.size": "150", "delivery.timeout.ms": "20000"])
        _ = try await producer.send(KafkaProducerRecord(topic: "late", value: Support.value("warm-up")))
        try await cluster.setRTT(broker: 1, milliseconds: 100)
        try await cluster.pushRequestErrors(apiKey: 0, errors: [31, 6])
        let padding = String(repeating: "x", count: 100)
        let reports = try await Support.enqueueAll(
            producer, topic: "late", count: 2, key: { _ in nil }, suffix: padding)
        await producer.close()
        let codes = reports.sorted { $0.recordIDs[0] < $1.recordIDs[0] }.map { $0.error?.code }
        #expect(codes == [.brokerError, .idempotenceFailed])
    }

    /// INVALID_PRODUCER_EPOCH: the broker knows a newer epoch of this producer id. The batch
    /// fails with that error, and the producer fetches a new producer id for what follows.
    @Test func invalidProducerEpochFetchesANewProducerId() async throws {
        let cluster = try await KafkaTestCluster.start(brokers: 1, topics: ["fenced": 1])
        defer { Task { await cluster.stop() } }
        let metrics = TestMetrics()
        let producer = try Self.producer(cluster, metrics: metrics)
        _ = try await producer.send(KafkaProducerRecord(topic: "fenced", value: Support.value("before")))
        try await cluster.startRequestTracking()
        try await cluster.pushRequestErrors(apiKey: 0, errors: [47])
        await #expect {
            try await producer.send(KafkaProducerRecord(topic: "fenced", value: Support.value("refused")))
        } throws: { error in
            (error as? KafkaProducerError)?.brokerErrorCode == .invalidProducerEpoch
        }
        _ = try await producer.send(KafkaProducerRecord(topic: "fenced", value: Support.value("after")))
        await producer.close()
        #expect(try await cluster.requests().filter { $0.apiKey == 22 }.count == 1, "one more InitProducerId")
        #expect(Self.resets(metrics, "invalid_producer_epoch") == 1)
        let batches = try await cluster.storedBatches(topic: "fenced", partition: 0)
        #expect(batches.count == 2)
        #expect(batches[0].producerId != batches[1].producerId)
        #expect(batches.map(\.producerEpoch) == [0, 0] && batches.map(\.baseSequence) == [0, 0])
    }

    /// A batch whose delivery timeout passes while its request is unanswered (the broker wrote
    /// it and answers after 3 s; the request times out first) may or may not be written: its
    /// send fails with `.deliveryTimeout`, and the partition's next batch starts a new epoch.
    @Test func batchExpiringInFlightLeavesAnUnresolvedSequence() async throws {
        let cluster = try await KafkaTestCluster.start(brokers: 1, topics: ["expire": 1])
        defer { Task { await cluster.stop() } }
        let metrics = TestMetrics()
        let producer = try Self.producer(
            cluster, ["linger.ms": "0", "request.timeout.ms": "500", "delivery.timeout.ms": "500"], metrics: metrics)
        _ = try await producer.send(KafkaProducerRecord(topic: "expire", value: Support.value("before")))
        try await cluster.pushBrokerRequestErrors(broker: 1, apiKey: 0, errors: [(0, 3000)])
        await #expect {
            try await producer.send(KafkaProducerRecord(topic: "expire", value: Support.value("lost")))
        } throws: { error in
            (error as? KafkaProducerError)?.code == .deliveryTimeout
        }
        _ = try await producer.send(KafkaProducerRecord(topic: "expire", value: Support.value("after")))
        await producer.close()
        #expect(Self.resets(metrics, "unresolved_sequence") == 1)
        let batches = try await cluster.storedBatches(topic: "expire", partition: 0)
        #expect(batches.first.map { [$0.producerEpoch, Int16($0.baseSequence)] } == [0, 0])
        #expect(batches.last.map { [$0.producerEpoch, Int16($0.baseSequence)] } == [1, 0])
    }

    // MARK: - Producer id

    /// Retriable InitProducerId errors (COORDINATOR_NOT_AVAILABLE) are retried.
    @Test func initProducerIdIsRetried() async throws {
        let cluster = try await KafkaTestCluster.start(brokers: 1, topics: ["init": 1])
        defer { Task { await cluster.stop() } }
        try await cluster.startRequestTracking()
        try await cluster.pushRequestErrors(apiKey: 22, errors: [15, 15])
        let producer = try Self.producer(cluster)
        let metadata = try await producer.send(KafkaProducerRecord(topic: "init", value: Support.value("x")))
        await producer.close()
        #expect(metadata.offset == 0)
        #expect(try await cluster.requests().filter { $0.apiKey == 22 }.count == 3)
    }

    /// A broker that refuses a producer id (CLUSTER_AUTHORIZATION_FAILED) or does not offer
    /// InitProducerId at all: idempotence cannot work, so sends fail with `.idempotenceFailed`
    /// naming the cause and the remedy — the first and every later one.
    @Test(arguments: [true, false])
    func refusedProducerIdIsFatal(apiDisabled: Bool) async throws {
        let cluster = try await KafkaTestCluster.start(brokers: 1, topics: ["refused": 1])
        defer { Task { await cluster.stop() } }
        if apiDisabled {
            try await cluster.setApiVersion(apiKey: 22, min: -1, max: -1)
        } else {
            try await cluster.pushRequestErrors(apiKey: 22, errors: [31])
        }
        let producer = try Self.producer(cluster)
        for value in ["first", "second"] {
            await #expect {
                try await producer.send(KafkaProducerRecord(topic: "refused", value: Support.value(value)))
            } throws: { error in
                guard let error = error as? KafkaProducerError, error.code == .idempotenceFailed else { return false }
                let namesCause =
                    apiDisabled
                    ? error.message.contains("does not support InitProducerId")
                    : error.brokerErrorCode == .clusterAuthorizationFailed
                return namesCause && error.message.contains("enable.idempotence=false")
            }
        }
        await producer.close()
        #expect(try await cluster.storedBatches(topic: "refused", partition: 0).isEmpty)
    }
}
