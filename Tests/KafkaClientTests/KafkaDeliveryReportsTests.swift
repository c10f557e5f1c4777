import Foundation
import KafkaClient
import KafkaTestCluster
import NIOCore
import Testing

/// Acknowledgements a caller owns: several callers on one producer each learn the outcomes of
/// their own records, named by their own ids, in bounded memory.
@Suite("KafkaDeliveryReports: one stream per caller")
struct KafkaDeliveryReportsTests {
    typealias Support = ProducerTestSupport

    /// Appends `count` records "name-id" in chunks of 7 across 3 partitions, with ids from
    /// `firstID`, yielding between chunks so that two callers interleave in the same batches.
    static func feed(
        _ producer: KafkaProducer, reports: KafkaDeliveryReports, name: String, firstID: KafkaRecordID, count: Int
    ) async throws {
        var next = 0
        while next < count {
            let chunk = min(7, count - next)
            let records = (next..<(next + chunk)).map { i in
                KafkaProducerRecord(
                    topic: "shared", partition: Int32(i % 3),
                    value: ByteBuffer(string: "\(name)-\(firstID + UInt64(i))"))
            }
            // One call per partition run keeps ids consecutive per call.
            for (offset, record) in records.enumerated() {
                try await producer.enqueue(record, id: firstID + UInt64(next + offset), reportingTo: reports)
            }
            next += chunk
            await Task.yield()
        }
    }

    static func collect(_ reports: KafkaDeliveryReports, count: Int) async -> [KafkaDeliveryReport] {
        await Support.collect(reports, count: count)
    }

    @Test func twoCallersInterleavingOnTheSamePartitionsEachGetExactlyTheirOwnOutcomes() async throws {
        let cluster = try await KafkaTestCluster.start(brokers: 1, topics: ["shared": 3])
        defer { Task { await cluster.stop() } }
        let producer = try Support.producer(cluster, ["linger.ms": "20"])
        let count = 600
        let a = producer.makeDeliveryReports(capacity: 1000)
        let b = producer.makeDeliveryReports(capacity: 1000)
        async let aReports = Self.collect(a, count: count)
        async let bReports = Self.collect(b, count: count)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await Self.feed(producer, reports: a, name: "a", firstID: 0, count: count) }
            group.addTask { try await Self.feed(producer, reports: b, name: "b", firstID: 50_000, count: count) }
            try await group.waitForAll()
        }
        let (fromA, fromB) = await (aReports, bReports)
        await producer.close()

        let stored = try await Support.stored(cluster, topic: "shared")
        var storedAt: [String: String] = [:]
        for (partition, records) in stored {
            for record in records {
                storedAt["\(partition)@\(record.offset)"] = String(decoding: record.value ?? [], as: UTF8.self)
            }
        }
        #expect(storedAt.count == 2 * count, "stored \(storedAt.count) records")
        for (name, reports, firstID) in [("a", fromA, UInt64(0)), ("b", fromB, UInt64(50_000))] {
            let ids = reports.flatMap(\.recordIDs)
            #expect(ids.count == count, "\(name) got \(ids.count) outcomes")
            #expect(Set(ids) == Set((0..<UInt64(count)).map { firstID + $0 }), "\(name) got someone else's ids")
            for report in reports {
                #expect(report.error == nil)
                for (index, id) in report.recordIDs.enumerated() {
                    let metadata = report.metadata(at: index)
                    // The independent reader finds this caller's record exactly where the report says.
                    #expect(storedAt["\(metadata.partition)@\(metadata.offset)"] == "\(name)-\(id)")
                }
            }
            // Reports of one partition come in offset order.
            let byPartition = Dictionary(grouping: reports, by: \.topicPartition.partition)
            for (_, reports) in byPartition {
                let offsets = reports.map(\.baseOffset)
                #expect(offsets == offsets.sorted())
            }
        }
        // The callers did interleave on the same partitions: their records alternate in the log.
        let order = (stored[0] ?? []).map { String(decoding: $0.value ?? [], as: UTF8.self).prefix(1) }
        let switches = zip(order, order.dropFirst()).filter { $0 != $1 }.count
        #expect(switches >= 10, "a and b alternate \(switches) times in partition 0")
    }

    /// A caller that does not read its reports stops being able to append (after max.block.ms),
    /// while another caller on the same producer goes on; reading makes room again.
    @Test func aCallerThatDoesNotReadStopsAppendingAndOthersGoOn() async throws {
        let cluster = try await KafkaTestCluster.start(brokers: 1, topics: ["bounded": 1])
        defer { Task { await cluster.stop() } }
        let producer = try Support.producer(cluster, ["max.block.ms": "400", "linger.ms": "0"])
        // max.block.ms is short for the report-room wait below; on a loaded machine the first
        // metadata answer may take longer than that.
        try await producer.waitForMetadata(topic: "bounded", timeout: .seconds(30))
        let slow = producer.makeDeliveryReports(capacity: 50)
        let other = producer.makeDeliveryReports(capacity: 50)
        func records(_ n: Int) -> [KafkaProducerRecord] {
            (0..<n).map { KafkaProducerRecord(topic: "bounded", value: Support.value("r\($0)")) }
        }
        try await producer.enqueue(contentsOf: records(50), firstID: 0, reportingTo: slow)
        await producer.flush()
        #expect(slow.outstandingRecords == 50, "delivered but unread reports hold their places")

        let started = ContinuousClock.now
        await #expect {
            try await producer.enqueue(contentsOf: records(1), firstID: 50, reportingTo: slow)
        } throws: { error in
            let error = error as? KafkaProducerError
            return error?.code == .deliveryReportsFull && error?.acceptedRecordCount == 0
        }
        #expect(ContinuousClock.now - started >= .milliseconds(350))

        try await producer.enqueue(contentsOf: records(20), firstID: 0, reportingTo: other)
        let otherReports = await Self.collect(other, count: 20)
        #expect(otherReports.flatMap(\.recordIDs).sorted() == Array(0..<20))

        let slowReports = await Self.collect(slow, count: 50)
        #expect(slowReports.flatMap(\.recordIDs).sorted() == Array(0..<50))
        #expect(slow.outstandingRecords == 0)
        try await producer.enqueue(contentsOf: records(10), firstID: 50, reportingTo: slow)
        await producer.close()
        var rest: [KafkaRecordID] = []
        for await report in slow { rest += report.recordIDs }
        #expect(rest.sorted() == Array(50..<60))
    }

    /// A waiting append wakes as soon as the reader takes reports.
    @Test func readingMakesRoomForAWaitingAppend() async throws {
        let cluster = try await KafkaTestCluster.start(brokers: 1, topics: ["room": 1])
        defer { Task { await cluster.stop() } }
        let producer = try Support.producer(cluster, ["max.block.ms": "20000", "linger.ms": "0"])
        let reports = producer.makeDeliveryReports(capacity: 10)
        let batch = (0..<10).map { KafkaProducerRecord(topic: "room", value: Support.value("r\($0)")) }
        try await producer.enqueue(contentsOf: batch, firstID: 0, reportingTo: reports)
        let waiting = Task { try await producer.enqueue(contentsOf: batch, firstID: 10, reportingTo: reports) }
        try await Task.sleep(for: .milliseconds(200))
        let first = await Self.collect(reports, count: 10)
        try await waiting.value
        let second = await Self.collect(reports, count: 10)
        #expect((first + second).flatMap(\.recordIDs).sorted() == Array(0..<20))
        await producer.close()
    }
}
