import KafkaTestCluster
import KafkaWire
import NIOCore
import NIOPosix
import Testing

@testable import KafkaClient

@Suite("BrokerConnectionPool")
struct BrokerConnectionPoolTests {
    @Test func backoffDoublesUpToTheMaximumWithJitter() {
        let backoff = ReconnectBackoff(initial: .milliseconds(50), maximum: .seconds(1))
        let middle = (0...7).map { backoff.delay(afterFailures: $0, random: 0.5).nanoseconds / 1_000_000 }
        #expect(middle == [50, 50, 100, 200, 400, 800, 1000, 1000])
        #expect(backoff.delay(afterFailures: 3, random: 0).nanoseconds == 160_000_000)
        #expect(backoff.delay(afterFailures: 3, random: 1).nanoseconds == 240_000_000)
        #expect(backoff.delay(afterFailures: 200, random: 0.5) == .seconds(1))
    }

    /// A pool on one event loop, used from the test through `submit`.
    struct Harness {
        let eventLoop: any EventLoop
        let pool: NIOLoopBound<BrokerConnectionPool>

        init(backoff: ReconnectBackoff, maxIdle: TimeAmount = .seconds(540)) {
            let eventLoop = MultiThreadedEventLoopGroup.singleton.next()
            self.eventLoop = eventLoop
            self.pool = try! eventLoop.submit {
                NIOLoopBound(
                    BrokerConnectionPool(
                        settings: BrokerConnectionTests.settings(), backoff: backoff, maxIdle: maxIdle,
                        eventLoop: eventLoop, random: { 0.5 }),
                    eventLoop: eventLoop)
            }.wait()
        }

        func connection(_ broker: KafkaTestCluster.Broker) async throws -> BrokerConnection {
            let address = KafkaBrokerAddress(host: broker.host, port: broker.port)
            return try await eventLoop.flatSubmit { [pool] in pool.value.connection(to: broker.id, at: address) }.get()
        }

        func on<T: Sendable>(_ body: @escaping @Sendable (BrokerConnectionPool) -> T) async throws -> T {
            try await eventLoop.submit { [pool] in body(pool.value) }.get()
        }
    }

    @Test func reusesOneConnectionPerNodeAndReconnectsAfterADrop() async throws {
        let cluster = try await KafkaTestCluster.start(brokers: 2)
        defer { Task { await cluster.stop() } }
        let harness = Harness(backoff: ReconnectBackoff(initial: .milliseconds(1), maximum: .milliseconds(10)))
        let first = try await harness.connection(cluster.brokers[0])
        let again = try await harness.connection(cluster.brokers[0])
        let other = try await harness.connection(cluster.brokers[1])
        #expect(first === again)
        #expect(other.nodeId == 2)
        #expect(try await harness.on { $0.activeConnection(to: 1) } === first)

        try await first.close().get()
        let replacement = try await harness.connection(cluster.brokers[0])
        #expect(replacement !== first)
        #expect(replacement.isActive)
        try await harness.on { $0.close() }.get()
        #expect(!replacement.isActive)
    }

    @Test func waitsOutTheBackoffAfterAFailedConnect() async throws {
        let cluster = try await KafkaTestCluster.start(brokers: 1)
        defer { Task { await cluster.stop() } }
        let broker = cluster.brokers[0]
        // A backoff long enough that a loaded machine cannot let it pass before it is checked.
        let harness = Harness(backoff: ReconnectBackoff(initial: .seconds(2), maximum: .seconds(4)))
        try await cluster.setBrokerDown(1)
        let attemptStarted = ContinuousClock.now
        await #expect(throws: KafkaProducerError.self) { _ = try await harness.connection(broker) }
        let delay = try await harness.on { $0.connectionDelay(to: 1) }
        // A backoff is pending, unless the failed attempt itself took longer than the backoff's
        // least (2 s − 20 %) on a loaded machine; never more than its most.
        #expect(delay <= .milliseconds(2400))
        #expect(delay > .zero || ContinuousClock.now - attemptStarted >= .milliseconds(1600), "delay \(delay)")
        try await cluster.setBrokerUp(1)
        // This attempt starts once the backoff has passed, and the broker is up again by then.
        let connection = try await harness.connection(broker)
        #expect(connection.isActive)
        #expect(try await harness.on { $0.connectionDelay(to: 1) } == .zero)
        try await harness.on { $0.close() }.get()
    }

    @Test func closesIdleConnections() async throws {
        let cluster = try await KafkaTestCluster.start(brokers: 1)
        defer { Task { await cluster.stop() } }
        let harness = Harness(
            backoff: ReconnectBackoff(initial: .milliseconds(1), maximum: .milliseconds(10)), maxIdle: .seconds(60))
        let connection = try await harness.connection(cluster.brokers[0])
        #expect(try await harness.on { $0.closeIdleConnections() } == [])
        let closed = try await harness.on { $0.closeIdleConnections(now: .now() + .seconds(61)) }
        #expect(closed == [1])
        try await connection.closeFuture.get()
        try await harness.on { $0.close() }.get()
    }
}
