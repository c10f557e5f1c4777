import Foundation
import KafkaTestCluster
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Self-tests of the mock-cluster harness: each test starts its own cluster and checks one
/// capability against an observation the harness cannot fake (a TCP connect, raw ApiVersions
/// bytes, what librdkafka's own consumer reads back).
@Suite(.serialized)
struct KafkaTestClusterTests {
    @Test func startsThreeBrokersOnDistinctLoopbackPorts() async throws {
        let cluster = try await KafkaTestCluster.start(brokers: 3)
        #expect(cluster.brokers.map(\.id) == [1, 2, 3])
        #expect(cluster.brokers.allSatisfy { $0.host == "127.0.0.1" })
        #expect(Set(cluster.brokers.map(\.port)).count == 3)
        let addresses = cluster.bootstrapServers.split(separator: ",").map(String.init)
        #expect(addresses == cluster.brokers.map { "127.0.0.1:\($0.port)" })
        for broker in cluster.brokers {
            let socket = try #require(LoopbackSocket(port: broker.port), "broker \(broker) refuses connections")
            socket.close()
        }
        await cluster.stop()
    }

    @Test func consumeReturnsExactlyWhatWasProduced() async throws {
        let cluster = try await KafkaTestCluster.start(brokers: 3)
        try await cluster.createTopic("events", partitions: 4)
        let produced = [
            ReferenceRecord(partition: 0, key: nil, value: [0x00, 0x01, 0xFF, 0x00]),
            ReferenceRecord(partition: 1, key: Array("k1".utf8), value: Array(0...255)),
            ReferenceRecord(
                partition: 1, key: [], value: [0x80],
                headers: [
                    ReferenceHeader(name: "trace", value: [0xDE, 0xAD]), ReferenceHeader(name: "empty", value: nil),
                ]),
            ReferenceRecord(partition: 3, key: Array("tombstone".utf8), value: nil),
        ]
        let deliveries = try await cluster.produceWithReferenceClient(topic: "events", records: produced)
        #expect(deliveries.map(\.partition) == [0, 1, 1, 3])
        #expect(deliveries.map(\.offset) == [0, 0, 1, 0])

        let records = try await cluster.consume(topic: "events", timeout: .seconds(10))
        #expect(records.map(\.partition) == [0, 1, 1, 3])
        #expect(records.map(\.offset) == [0, 0, 1, 0])
        #expect(records.map(\.key) == produced.map(\.key))
        #expect(records.map(\.value) == produced.map(\.value))
        #expect(records[2].headers.map(\.name) == ["trace", "empty"])
        #expect(records[2].headers.map(\.value) == [[0xDE, 0xAD], nil])
        #expect(records.allSatisfy { $0.timestampType == .create && $0.timestamp > 1_600_000_000_000 })

        let marks = try await cluster.watermarks(topic: "events")
        #expect(marks.keys.sorted() == [0, 1, 2, 3])
        #expect(marks.values.allSatisfy { $0.low == 0 })
        #expect([0, 1, 2, 3].map { marks[$0]?.high } == [1, 2, 0, 1])

        let onlyPartition1 = try await cluster.consume(topic: "events", partitions: [1])
        #expect(onlyPartition1.map(\.offset) == [0, 1])
        await cluster.stop()
    }

    @Test func storedBatchesDecodeIndependently() async throws {
        let cluster = try await KafkaTestCluster.start(brokers: 1, topics: ["seq": 1])
        let records = (0..<5).map { ReferenceRecord(partition: 0, key: nil, value: [UInt8($0)]) }
        _ = try await cluster.produceWithReferenceClient(
            topic: "seq", records: records, configuration: ["enable.idempotence": "true"])
        _ = try await cluster.produceWithReferenceClient(
            topic: "seq", records: records, configuration: ["enable.idempotence": "true"])

        let batches = try await cluster.storedBatches(topic: "seq", partition: 0)
        #expect(!batches.isEmpty)
        #expect(batches.allSatisfy { $0.magic == 2 && $0.isCRCValid && !$0.isTransactional && !$0.isControl })
        #expect(batches.allSatisfy { $0.producerId >= 0 && $0.producerEpoch == 0 })
        #expect(batches.reduce(0) { $0 + Int($1.recordCount) } == 10)
        #expect(batches.first?.baseOffset == 0)
        #expect(batches.first?.baseSequence == 0)
        // Offsets are contiguous: each batch starts where the previous one ended.
        for (previous, next) in zip(batches, batches.dropFirst()) {
            #expect(next.baseOffset == previous.baseOffset + Int64(previous.recordCount))
        }
        await cluster.stop()
    }

    @Test func setPartitionLeaderShowsInMetadata() async throws {
        let cluster = try await KafkaTestCluster.start(brokers: 3, topics: ["moves": 2])
        try await cluster.setPartitionLeader(topic: "moves", partition: 0, broker: 3)
        try await cluster.setPartitionLeader(topic: "moves", partition: 1, broker: 2)
        var leaders = try await cluster.partitionLeaders(topic: "moves")
        #expect(leaders.map(\.partition) == [0, 1])
        #expect(leaders.map(\.leader) == [3, 2])

        try await cluster.setPartitionLeader(topic: "moves", partition: 0, broker: 1)
        leaders = try await cluster.partitionLeaders(topic: "moves")
        #expect(leaders.map(\.leader) == [1, 2])
        await cluster.stop()
    }

    @Test func brokerDownRefusesConnectionsUntilUp() async throws {
        let cluster = try await KafkaTestCluster.start(brokers: 3)
        let port = try #require(cluster.broker(2)).port
        try await cluster.setBrokerDown(2)
        #expect(LoopbackSocket(port: port) == nil, "broker 2 still accepts connections while down")
        let otherPort = try #require(cluster.broker(1)).port
        let other = try #require(LoopbackSocket(port: otherPort))
        other.close()

        try await cluster.setBrokerUp(2)
        let socket = try #require(LoopbackSocket(port: port), "broker 2 refuses connections after up")
        socket.close()
        await cluster.stop()
    }

    @Test func requestTrackingCountsProduceRequests() async throws {
        let cluster = try await KafkaTestCluster.start(brokers: 3, topics: ["tracked": 3])
        try await cluster.startRequestTracking()
        let records = (0..<6).map { ReferenceRecord(partition: Int32($0 % 3), key: nil, value: [UInt8($0)]) }
        _ = try await cluster.produceWithReferenceClient(topic: "tracked", records: records)
        let requests = try await cluster.requests()
        let produce = requests.filter { $0.apiKey == 0 }
        #expect(!produce.isEmpty)
        #expect(produce.allSatisfy { (1...3).contains($0.broker) })
        #expect(requests.contains { $0.apiKey == 18 }, "librdkafka always starts with ApiVersions")

        try await cluster.clearRequests()
        try await cluster.stopRequestTracking()
        _ = try await cluster.produceWithReferenceClient(topic: "tracked", records: records)
        #expect(try await cluster.requests().isEmpty)
        await cluster.stop()
    }

    @Test func setApiVersionCapsWhatApiVersionsAdvertises() async throws {
        let cluster = try await KafkaTestCluster.start(brokers: 1)
        let port = try #require(cluster.broker(1)).port
        let before = try #require(try produceRange(port: port))
        #expect(before.min == 0 && before.max >= 7)

        try await cluster.setApiVersion(apiKey: 0, min: 0, max: 3)
        let after = try #require(try produceRange(port: port))
        #expect(after.min == 0 && after.max == 3)

        // Above what the mock implements: refused, and the cap stays.
        await #expect(throws: KafkaTestClusterError.self) {
            try await cluster.setApiVersion(apiKey: 0, min: 0, max: 99)
        }
        #expect(try produceRange(port: port)?.max == 3)
        try await cluster.setApiVersion(apiKey: 0, min: 0, max: before.max)
        #expect(try produceRange(port: port)?.max == before.max)
        await cluster.stop()
    }

    @Test func pushedProduceErrorIsRetriedByLibrdkafka() async throws {
        let cluster = try await KafkaTestCluster.start(brokers: 1, topics: ["flaky": 1])
        try await cluster.startRequestTracking()
        try await cluster.pushRequestErrors(apiKey: 0, errors: [6])
        let deliveries = try await cluster.produceWithReferenceClient(
            topic: "flaky", records: [ReferenceRecord(partition: 0, key: nil, value: Array("once".utf8))])
        #expect(deliveries.map(\.offset) == [0])
        let produceRequests = try await cluster.requests().filter { $0.apiKey == 0 }
        #expect(produceRequests.count >= 2)
        #expect(try await cluster.consume(topic: "flaky").map(\.value) == [Array("once".utf8)])
        await cluster.stop()
    }

    @Test func pushedBrokerErrorsAndClearing() async throws {
        let cluster = try await KafkaTestCluster.start(brokers: 1, topics: ["slow": 1])
        try await cluster.startRequestTracking()
        try await cluster.pushBrokerRequestErrors(
            broker: 1, apiKey: 0, errors: [(error: 6, rttMs: 0), (error: 0, rttMs: 300)])
        let clock = ContinuousClock()
        let start = clock.now
        _ = try await cluster.produceWithReferenceClient(
            topic: "slow", records: [ReferenceRecord(partition: 0, key: nil, value: [1])])
        #expect(clock.now - start >= .milliseconds(300))
        #expect(try await cluster.requests().filter { $0.apiKey == 0 }.count >= 2)

        // A cleared cluster-wide error no longer fires: one attempt suffices.
        try await cluster.pushRequestErrors(apiKey: 0, errors: [6, 6, 6])
        try await cluster.clearRequestErrors(apiKey: 0)
        try await cluster.clearRequests()
        _ = try await cluster.produceWithReferenceClient(
            topic: "slow", records: [ReferenceRecord(partition: 0, key: nil, value: [2])])
        #expect(try await cluster.requests().filter { $0.apiKey == 0 }.count == 1)
        try await cluster.setRTT(broker: -1, milliseconds: 0)
        await cluster.stop()
    }

    @Test func verifiersReportACorruptBatch() async throws {
        let cluster = try await KafkaTestCluster.start(brokers: 1, topics: ["logs": 1])
        let port = try #require(cluster.broker(1)).port
        // test-vectors.md: Produce v7, logs/0, batch A (one record, value "hello").
        let frame = hexBytes(
            "00000076000000070000000400056167656e74ffffffff000075300000000100046c6f677300000001000000000000004900000000000000000000003dffffffff02e641a44b0000000000000000018bcfe568000000018bcfe56800ffffffffffffffffffffffffffff0000000116000000010a68656c6c6f00"
        )
        var corrupt = frame
        let crcAt = try #require(indexOf([0xE6, 0x41, 0xA4, 0x4B], in: frame))
        corrupt[crcAt + 3] ^= 0x01
        let socket = try #require(LoopbackSocket(port: port))
        defer { socket.close() }
        func produce(_ request: [UInt8]) throws {
            #expect(socket.send(request))
            let size = try #require(socket.receive(exactly: 4))
            let body = try #require(socket.receive(exactly: Int(int32(size, 0))))
            // The error code follows corr id, topic count, "logs", partition count and index.
            #expect(int16(body, 4 + 4 + 2 + 4 + 4 + 4) == 0, "Produce error code")
        }

        try produce(frame)
        let clean = try await cluster.consume(topic: "logs", partitions: [0], timeout: .seconds(5))
        #expect(clean.map(\.value) == [Array("hello".utf8)])

        try produce(corrupt)
        let batches = try await cluster.storedBatches(topic: "logs", partition: 0)
        #expect(batches.map(\.baseOffset) == [0, 1])
        #expect(batches.map(\.isCRCValid) == [true, false], "the mock stores a bad CRC; the reader must notice")
        let error = await #expect(throws: KafkaTestClusterError.self) {
            try await cluster.consume(topic: "logs", partitions: [0], timeout: .seconds(5))
        }
        #expect(error?.code == .commandFailed)
        #expect(error?.message.localizedCaseInsensitiveContains("crc") == true, "\(String(describing: error))")
        await cluster.stop()
    }

    /// Tansu stores what it is sent without checking CRCs, so the Tansu reader must: a clean
    /// batch reads back, a resent one shows up as the extra record it is (a duplicate is never
    /// hidden by the expected count), a corrupt one fails the read.
    @Test func tansuReadersReportDuplicatesAndACorruptBatch() async throws {
        let tansu = try await TansuBroker.start(topics: ["logs": 1])
        defer { Task { await tansu.stop() } }
        // test-vectors.md: Produce v7, logs/0, batch A (one record, value "hello"), no producer id.
        let frame = hexBytes(
            "00000076000000070000000400056167656e74ffffffff000075300000000100046c6f677300000001000000000000004900000000000000000000003dffffffff02e641a44b0000000000000000018bcfe568000000018bcfe56800ffffffffffffffffffffffffffff0000000116000000010a68656c6c6f00"
        )
        var corrupt = frame
        let crcAt = try #require(indexOf([0xE6, 0x41, 0xA4, 0x4B], in: frame))
        corrupt[crcAt + 3] ^= 0x01
        let socket = try #require(LoopbackSocket(port: tansu.port))
        defer { socket.close() }
        func produce(_ request: [UInt8]) throws {
            #expect(socket.send(request))
            let size = try #require(socket.receive(exactly: 4))
            let body = try #require(socket.receive(exactly: Int(int32(size, 0))))
            #expect(int16(body, 4 + 4 + 2 + 4 + 4 + 4) == 0, "Produce error code")
        }

        try produce(frame)
        let clean = try await tansu.consume(topic: "logs", expecting: 1, timeout: .seconds(10))
        #expect(clean.map(\.value) == [Array("hello".utf8)])

        try produce(frame)
        let twice = try await tansu.consume(topic: "logs", expecting: 1, timeout: .seconds(10))
        #expect(twice.map(\.offset) == [0, 1], "the resent batch is read too")

        try produce(corrupt)
        let batches = try await tansu.storedBatches(topic: "logs", partition: 0)
        #expect(batches.map(\.isCRCValid) == [true, true, false], "Tansu stores a bad CRC; the reader must notice")
        let error = await #expect(throws: KafkaTestClusterError.self) {
            try await tansu.consume(topic: "logs", expecting: 3, timeout: .seconds(10))
        }
        #expect(error?.message.localizedCaseInsensitiveContains("crc") == true, "\(String(describing: error))")
    }

    @Test func droppingTheClusterEndsTheDriver() async throws {
        var cluster: KafkaTestCluster? = try await KafkaTestCluster.start(brokers: 1)
        let port = try #require(cluster?.broker(1)).port
        let socket = try #require(LoopbackSocket(port: port))
        socket.close()
        cluster = nil  // no stop(): deinit must end the driver, and with it the listener
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(5)
        var listening = true
        while listening, clock.now < deadline {
            if let probe = LoopbackSocket(port: port) {
                probe.close()
                try await Task.sleep(for: .milliseconds(50))
            } else {
                listening = false
            }
        }
        #expect(!listening, "127.0.0.1:\(port) still accepts connections 5 s after the cluster was dropped")
        _ = cluster
    }

    @Test func failuresNameTheCommand() async throws {
        let cluster = try await KafkaTestCluster.start(brokers: 1)
        let error = await #expect(throws: KafkaTestClusterError.self) {
            try await cluster.setBrokerDown(9)
        }
        #expect(error?.code == .commandFailed)
        #expect(error?.command == "broker_down")
        #expect(error?.message.contains("broker_down") == true)

        await cluster.stop()
        let afterStop = await #expect(throws: KafkaTestClusterError.self) {
            try await cluster.createTopic("late", partitions: 1)
        }
        #expect(afterStop?.code == .driverExited)
    }
}

// MARK: Raw socket helpers

/// A blocking TCP connection to 127.0.0.1, with 5 s send and receive timeouts.
private struct LoopbackSocket: Equatable {
    let descriptor: Int32

    /// Connects, or returns `nil` when the connection is refused.
    init?(port: Int) {
        #if os(Linux)
            let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
            let descriptor = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard descriptor >= 0 else { return nil }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            _ = Self.closeDescriptor(descriptor)
            return nil
        }
        self.descriptor = descriptor
    }

    func send(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            guard sent > 0 else { return false }
            offset += sent
        }
        return true
    }

    func receive(exactly count: Int) -> [UInt8]? {
        var bytes = [UInt8](repeating: 0, count: count)
        var offset = 0
        while offset < count {
            let received = bytes[offset...].withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            guard received > 0 else { return nil }
            offset += received
        }
        return bytes
    }

    func close() {
        _ = Self.closeDescriptor(descriptor)
    }

    private static func closeDescriptor(_ descriptor: Int32) -> Int32 {
        #if canImport(Glibc)
            Glibc.close(descriptor)
        #else
            Darwin.close(descriptor)
        #endif
    }
}

private struct ProtocolViolation: Error, CustomStringConvertible {
    var description: String
}

/// Sends ApiVersions v0 (correlation id 1, client id "agent") and returns the Produce (key 0)
/// range from the v0 response, or `nil` when the response does not list Produce.
private func produceRange(port: Int) throws -> (min: Int16, max: Int16)? {
    guard let socket = LoopbackSocket(port: port) else {
        throw ProtocolViolation(description: "cannot connect to 127.0.0.1:\(port)")
    }
    defer { socket.close() }
    // size 15 | key 18 | version 0 | correlation 1 | client id "agent"
    let request: [UInt8] = [
        0x00, 0x00, 0x00, 0x0F, 0x00, 0x12, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
        0x00, 0x05, 0x61, 0x67, 0x65, 0x6E, 0x74,
    ]
    guard socket.send(request), let sizeBytes = socket.receive(exactly: 4) else {
        throw ProtocolViolation(description: "no ApiVersions response")
    }
    let size = Int(int32(sizeBytes, 0))
    guard size >= 10, let body = socket.receive(exactly: size) else {
        throw ProtocolViolation(description: "short ApiVersions response (size \(size))")
    }
    // v0 body: correlation id int32 | error int16 | count int32 | (key, min, max int16) * count
    guard int32(body, 0) == 1 else { throw ProtocolViolation(description: "wrong correlation id") }
    guard int16(body, 4) == 0 else { throw ProtocolViolation(description: "error \(int16(body, 4))") }
    let count = Int(int32(body, 6))
    guard count >= 0, 10 + count * 6 <= body.count else {
        throw ProtocolViolation(description: "ApiVersions count \(count) does not fit \(body.count) bytes")
    }
    for index in 0..<count {
        let entry = 10 + index * 6
        if int16(body, entry) == 0 {
            return (min: int16(body, entry + 2), max: int16(body, entry + 4))
        }
    }
    return nil
}

private func hexBytes(_ hex: String) -> [UInt8] {
    var bytes: [UInt8] = []
    var index = hex.startIndex
    while index < hex.endIndex {
        let next = hex.index(index, offsetBy: 2)
        bytes.append(UInt8(hex[index..<next], radix: 16)!)
        index = next
    }
    return bytes
}

private func indexOf(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
    guard haystack.count >= needle.count else { return nil }
    return (0...(haystack.count - needle.count)).first { Array(haystack[$0..<$0 + needle.count]) == needle }
}

private func int16(_ bytes: [UInt8], _ offset: Int) -> Int16 {
    Int16(bitPattern: UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1]))
}

private func int32(_ bytes: [UInt8], _ offset: Int) -> Int32 {
    Int32(bitPattern: bytes[offset..<offset + 4].reduce(0) { $0 << 8 | UInt32($1) })
}
