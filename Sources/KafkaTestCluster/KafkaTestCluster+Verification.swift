import Foundation

/// Observing the cluster through the driver's independent clients: a librdkafka consumer and
/// kafka-python's record reader. Use these to check what the code under test wrote.
extension KafkaTestCluster {
    /// The low and high watermark of every partition of `topic`, keyed by partition.
    public func watermarks(topic: String) async throws -> [Int32: PartitionWatermarks] {
        let reply = try await send("watermarks", ["topic": topic], decoding: PartitionsReply<WireWatermarks>.self)
        var result: [Int32: PartitionWatermarks] = [:]
        for entry in reply.partitions {
            result[entry.partition] = PartitionWatermarks(partition: entry.partition, low: entry.low, high: entry.high)
        }
        return result
    }

    /// Every partition's leader and replicas, from a fresh Metadata request, by partition.
    public func partitionLeaders(topic: String) async throws -> [PartitionLeadership] {
        let reply = try await send("leaders", ["topic": topic], decoding: PartitionsReply<WireLeadership>.self)
        return reply.partitions.map {
            PartitionLeadership(
                partition: $0.partition, leader: $0.leader, replicas: $0.replicas, inSyncReplicas: $0.isrs)
        }
    }

    /// Reads every record stored in the given partitions (all partitions when `nil`), from the
    /// low watermark up to the high watermark measured when the call starts, with a librdkafka
    /// consumer that checks CRCs.
    ///
    /// - Parameters:
    ///   - timeout: How long to wait for all of them. Default: 10 s.
    /// - Returns: The records sorted by partition, then offset.
    /// - Throws: ``KafkaTestClusterError/Code/commandFailed`` naming what was missing on timeout,
    ///   or carrying the consumer's error (a CRC failure, a corrupt batch).
    public func consume(
        topic: String, partitions: [Int32]? = nil, timeout: Duration = .seconds(10)
    ) async throws -> [ConsumedRecord] {
        let milliseconds = timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000
        let partitionsField: Any = partitions.map { $0.map { Int($0) } as Any } ?? NSNull()
        let reply = try await send(
            "consume", ["topic": topic, "partitions": partitionsField, "timeout_ms": Int(milliseconds)],
            decoding: ConsumeReply.self)
        return try reply.consumedRecords()
    }

    /// The record batches stored in a partition, in offset order, decoded independently of
    /// Tributary (raw Fetch v4 to the leader, kafka-python's `DefaultRecordBatch`).
    public func storedBatches(topic: String, partition: Int32) async throws -> [StoredBatch] {
        let reply = try await send(
            "batches", ["topic": topic, "partition": Int(partition)], decoding: BatchesReply.self)
        return reply.storedBatches()
    }

    /// Produces with the harness's own librdkafka producer and returns where each record
    /// landed, in input order. For testing the harness itself only.
    ///
    /// - Parameters:
    ///   - configuration: Extra librdkafka properties, e.g. `["enable.idempotence": "true"]`.
    ///     Default: none (librdkafka defaults: acks=all, retries on, linger.ms=5 here).
    public func produceWithReferenceClient(
        topic: String, records: [ReferenceRecord], configuration: [String: String] = [:]
    ) async throws -> [(partition: Int32, offset: Int64)] {
        let encoded: [[String: Any]] = records.map { record in
            [
                "partition": record.partition.map { Int($0) as Any } ?? NSNull(),
                "key": record.key.map { Data($0).base64EncodedString() as Any } ?? NSNull(),
                "value": record.value.map { Data($0).base64EncodedString() as Any } ?? NSNull(),
                "headers": record.headers.map { header -> [Any] in
                    [header.name, header.value.map { Data($0).base64EncodedString() as Any } ?? NSNull()]
                },
            ]
        }
        let reply = try await send(
            "produce", ["topic": topic, "records": encoded, "config": configuration], decoding: ProduceReply.self)
        return reply.deliveries.map { (partition: $0.partition, offset: $0.offset) }
    }

    static func decodeBase64(_ text: String, command: String) throws -> [UInt8] {
        guard let data = Data(base64Encoded: text) else {
            throw KafkaTestClusterError(code: .malformedReply, message: "invalid base64 '\(text)'", command: command)
        }
        return [UInt8](data)
    }
}

// MARK: Reply shapes (field names as the driver writes them)

private struct PartitionsReply<Entry: Decodable>: Decodable {
    var partitions: [Entry]
}

private struct WireWatermarks: Decodable {
    var partition: Int32
    var low: Int64
    var high: Int64
}

private struct WireLeadership: Decodable {
    var partition: Int32
    var leader: Int32
    var replicas: [Int32]
    var isrs: [Int32]
}

/// The records of a `consume` reply, from the driver or from `kafka_test_cluster.py consume`.
struct ConsumeReply: Decodable {
    var records: [WireRecord]

    func consumedRecords() throws -> [ConsumedRecord] {
        try records.map { record in
            guard let timestampType = WireRecord.timestampTypes[record.timestamp_type] else {
                throw KafkaTestClusterError(
                    code: .malformedReply, message: "unknown timestamp_type '\(record.timestamp_type)'",
                    command: "consume")
            }
            return ConsumedRecord(
                partition: record.partition, offset: record.offset, timestamp: record.timestamp,
                timestampType: timestampType, key: record.key.map { [UInt8]($0) },
                value: record.value.map { [UInt8]($0) },
                headers: try record.headers.map { pair in
                    guard pair.count == 2, let name = pair[0] else {
                        throw KafkaTestClusterError(
                            code: .malformedReply, message: "malformed header \(pair)", command: "consume")
                    }
                    return (
                        name: name,
                        value: try pair[1].map { try KafkaTestCluster.decodeBase64($0, command: "consume") }
                    )
                })
        }
    }
}

struct WireRecord: Decodable {
    static let timestampTypes: [String: ConsumedRecord.TimestampType] = [
        "create": .create, "log_append": .logAppend, "none": .none,
    ]
    var partition: Int32
    var offset: Int64
    var timestamp: Int64
    var timestamp_type: String
    var key: Data?
    var value: Data?
    var headers: [[String?]]
}

/// The batches of a `batches` reply, from either driver.
struct BatchesReply: Decodable {
    struct Batch: Decodable {
        var base_offset: Int64
        var last_offset_delta: Int32
        var partition_leader_epoch: Int32
        var magic: Int8
        var producer_id: Int64
        var producer_epoch: Int16
        var base_sequence: Int32
        var record_count: Int32
        var compression: Int8
        var timestamp_type: Int8
        var first_timestamp: Int64
        var max_timestamp: Int64
        var crc_valid: Bool
        var is_transactional: Bool
        var is_control: Bool
        var size_in_bytes: Int
    }
    var batches: [Batch]

    func storedBatches() -> [StoredBatch] {
        batches.map {
            StoredBatch(
                baseOffset: $0.base_offset, lastOffsetDelta: $0.last_offset_delta,
                partitionLeaderEpoch: $0.partition_leader_epoch, magic: $0.magic, producerId: $0.producer_id,
                producerEpoch: $0.producer_epoch, baseSequence: $0.base_sequence, recordCount: $0.record_count,
                compression: $0.compression, timestampType: $0.timestamp_type, firstTimestamp: $0.first_timestamp,
                maxTimestamp: $0.max_timestamp, isCRCValid: $0.crc_valid, isTransactional: $0.is_transactional,
                isControl: $0.is_control, sizeInBytes: $0.size_in_bytes)
        }
    }
}

private struct ProduceReply: Decodable {
    struct Delivery: Decodable {
        var partition: Int32
        var offset: Int64
    }
    var deliveries: [Delivery]
}
