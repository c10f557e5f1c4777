import KafkaWire
import Logging
import NIOCore

/// `reconnect.backoff.ms` / `reconnect.backoff.max.ms`: the delay before the next connection
/// attempt to a broker doubles with every failed attempt, up to the maximum, with ±20 % jitter so
/// that many clients do not reconnect in step (the Java client's `ExponentialBackoff(…, 2, …, 0.2)`).
struct ReconnectBackoff: Sendable {
    var initial: TimeAmount
    var maximum: TimeAmount
    var jitter: Double = 0.2

    /// The delay after `failures` consecutive failed attempts (0 after a connection that worked
    /// and then closed: the initial delay). `random` is in `0...1`; 0.5 means no jitter.
    func delay(afterFailures failures: Int, random: Double) -> TimeAmount {
        let exponent = max(0, min(failures - 1, 62))
        let initialNanoseconds = max(Int64(0), initial.nanoseconds)
        let (product, overflow) = initialNanoseconds.multipliedReportingOverflow(by: Int64(1) << exponent)
        let term = overflow ? maximum.nanoseconds : min(product, max(maximum.nanoseconds, initialNanoseconds))
        let factor = 1 - jitter + 2 * jitter * min(max(random, 0), 1)
        return .nanoseconds(Int64(Double(term) * factor))
    }
}

/// One connection per broker node, made on demand: reconnects wait out `ReconnectBackoff` after
/// failed attempts, and connections idle for `connections.max.idle.ms` with nothing in flight are
/// closed.
///
/// Owned by the sender's event loop: every method must be called there, and every future it
/// returns completes there.
final class BrokerConnectionPool {
    /// Makes one connection; tests replace it.
    typealias Connector =
        @Sendable (KafkaBrokerAddress, Int32, BrokerConnection.Settings, any EventLoop) ->
        EventLoopFuture<BrokerConnection>

    private enum Phase {
        /// No connection and none being made; the next attempt may start at `notBefore`.
        case disconnected(notBefore: NIODeadline)
        case connecting(EventLoopFuture<BrokerConnection>)
        case connected(BrokerConnection)
    }

    private struct Node {
        var address: KafkaBrokerAddress
        var phase: Phase
        /// Failed attempts since the last successful connect.
        var failures: Int
    }

    let eventLoop: any EventLoop
    let settings: BrokerConnection.Settings
    let backoff: ReconnectBackoff
    let maxIdle: TimeAmount
    private let connector: Connector
    private let random: () -> Double
    private let logger: Logger
    private var nodes: [Int32: Node] = [:]
    private var idleTimer: Scheduled<Void>?
    private var isClosed = false

    init(
        settings: BrokerConnection.Settings, backoff: ReconnectBackoff, maxIdle: TimeAmount, eventLoop: any EventLoop,
        logger: Logger = Logger(label: "tributary.connection"),
        random: @escaping () -> Double = { Double.random(in: 0...1) },
        connector: @escaping Connector = { address, nodeId, settings, eventLoop in
            BrokerConnection.connect(to: address, nodeId: nodeId, settings: settings, on: eventLoop)
        }
    ) {
        self.settings = settings
        self.backoff = backoff
        self.maxIdle = maxIdle
        self.eventLoop = eventLoop
        self.logger = logger
        self.random = random
        self.connector = connector
    }

    convenience init(configuration: KafkaProducerConfiguration, security: BrokerSecurity, eventLoop: any EventLoop) {
        var settings = BrokerConnection.Settings(configuration: configuration)
        settings.security = security
        self.init(
            settings: settings,
            backoff: ReconnectBackoff(
                initial: TimeAmount(configuration.reconnectBackoff),
                maximum: TimeAmount(configuration.reconnectBackoffMax)),
            maxIdle: TimeAmount(configuration.connectionsMaxIdle), eventLoop: eventLoop)
    }

    /// The active connection to `nodeId`, without connecting.
    func activeConnection(to nodeId: Int32) -> BrokerConnection? {
        eventLoop.preconditionInEventLoop()
        if case .connected(let connection) = nodes[nodeId]?.phase, connection.isActive { return connection }
        return nil
    }

    /// How long until a connection attempt to `nodeId` may start: zero when connected, connecting
    /// or never tried.
    func connectionDelay(to nodeId: Int32, now: NIODeadline = .now()) -> TimeAmount {
        eventLoop.preconditionInEventLoop()
        guard case .disconnected(let notBefore) = nodes[nodeId]?.phase, notBefore > now else { return .zero }
        return notBefore - now
    }

    /// The connection to `nodeId` at `address`: the current one, the attempt under way, or a new
    /// attempt — after the reconnect backoff if the last attempt failed. A changed address drops
    /// the old connection.
    func connection(to nodeId: Int32, at address: KafkaBrokerAddress) -> EventLoopFuture<BrokerConnection> {
        eventLoop.preconditionInEventLoop()
        guard !isClosed else {
            return eventLoop.makeFailedFuture(
                KafkaProducerError(
                    .connectionFailed,
                    "no connection to \(BrokerIdentity(nodeId: nodeId, address: address)): the pool is closed"))
        }
        var node =
            nodes[nodeId] ?? Node(address: address, phase: .disconnected(notBefore: .uptimeNanoseconds(0)), failures: 0)
        if node.address != address {
            if case .connected(let old) = node.phase { _ = old.close() }
            node = Node(address: address, phase: .disconnected(notBefore: .uptimeNanoseconds(0)), failures: 0)
        }
        switch node.phase {
        case .connected(let connection) where connection.isActive:
            return eventLoop.makeSucceededFuture(connection)
        case .connecting(let future):
            return future
        case .connected:
            node.phase = .disconnected(notBefore: .now())
            fallthrough
        case .disconnected:
            guard case .disconnected(let notBefore) = node.phase else { preconditionFailure() }
            let future = startConnecting(nodeId, address: address, notBefore: notBefore)
            node.phase = .connecting(future)
            nodes[nodeId] = node
            return future
        }
    }

    private func startConnecting(_ nodeId: Int32, address: KafkaBrokerAddress, notBefore: NIODeadline)
        -> EventLoopFuture<BrokerConnection>
    {
        let connector = self.connector
        let settings = self.settings
        let eventLoop = self.eventLoop
        let attempt: EventLoopFuture<BrokerConnection>
        if notBefore > .now() {
            logger.debug(
                "Waiting out the reconnect backoff.",
                metadata: ["broker": "\(nodeId)", "delayMs": "\((notBefore - .now()).nanoseconds / 1_000_000)"])
            attempt =
                eventLoop.flatScheduleTask(deadline: notBefore) {
                    connector(address, nodeId, settings, eventLoop)
                }.futureResult
        } else {
            attempt = connector(address, nodeId, settings, eventLoop)
        }
        let started = NIODeadline.now()
        attempt.assumeIsolated().whenComplete { [self] result in
            connectFinished(nodeId, attempt: attempt, started: max(started, notBefore), result: result)
        }
        return attempt
    }

    private func connectFinished(
        _ nodeId: Int32, attempt: EventLoopFuture<BrokerConnection>, started: NIODeadline,
        result: Result<BrokerConnection, any Error>
    ) {
        // Only the attempt the node still waits for may change it (the address may have changed).
        guard var node = nodes[nodeId], case .connecting(let current) = node.phase, current === attempt else {
            if case .success(let connection) = result { _ = connection.close() }
            return
        }
        switch result {
        case .success(let connection):
            node.failures = 0
            node.phase = .connected(connection)
            connection.closeFuture.assumeIsolated().whenComplete { [self] _ in connectionClosed(nodeId, connection) }
            armIdleTimer()
        case .failure(let error):
            node.failures += 1
            let delay = backoff.delay(afterFailures: node.failures, random: random())
            node.phase = .disconnected(notBefore: started + delay)
            logger.debug(
                "Connection attempt failed.",
                metadata: [
                    "broker": "\(nodeId)", "failures": "\(node.failures)",
                    "backoffMs": "\(delay.nanoseconds / 1_000_000)", "error": "\(error)",
                ])
        }
        nodes[nodeId] = node
    }

    private func connectionClosed(_ nodeId: Int32, _ connection: BrokerConnection) {
        guard var node = nodes[nodeId], case .connected(let current) = node.phase, current === connection else {
            return
        }
        // It worked, so the next attempt waits only the initial backoff.
        node.phase = .disconnected(notBefore: .now() + backoff.delay(afterFailures: 0, random: random()))
        nodes[nodeId] = node
    }

    /// Closes connections with nothing in flight whose last activity is `maxIdle` or more ago.
    /// Returns the node ids closed. Runs by itself every `maxIdle / 4` while connections exist.
    @discardableResult
    func closeIdleConnections(now: NIODeadline = .now()) -> [Int32] {
        eventLoop.preconditionInEventLoop()
        var closed: [Int32] = []
        for (nodeId, node) in nodes {
            guard case .connected(let connection) = node.phase, connection.isActive,
                connection.inFlightCount == 0, now - connection.lastActivity >= maxIdle
            else { continue }
            logger.debug("Closing an idle connection.", metadata: ["broker": "\(nodeId)"])
            _ = connection.close()
            closed.append(nodeId)
        }
        return closed.sorted()
    }

    private func armIdleTimer() {
        guard idleTimer == nil, !isClosed, maxIdle > .zero else { return }
        let interval = max(TimeAmount.nanoseconds(maxIdle.nanoseconds / 4), .milliseconds(10))
        idleTimer = eventLoop.assumeIsolated().scheduleTask(in: interval) { [self] in
            idleTimer = nil
            closeIdleConnections()
            if nodes.values.contains(where: { if case .connected = $0.phase { true } else { false } }) {
                armIdleTimer()
            }
        }
    }

    /// Closes every connection; later `connection(to:at:)` calls fail.
    /// The nodes with an open connection (bootstrap servers have negative ids).
    var connectedNodes: [Int32] {
        eventLoop.preconditionInEventLoop()
        return nodes.compactMap { id, node in
            if case .connected(let connection) = node.phase, connection.isActive { return id }
            return nil
        }.sorted()
    }

    func close() -> EventLoopFuture<Void> {
        eventLoop.preconditionInEventLoop()
        isClosed = true
        idleTimer?.cancel()
        idleTimer = nil
        var closing: [EventLoopFuture<Void>] = []
        for node in nodes.values {
            if case .connected(let connection) = node.phase { closing.append(connection.close()) }
        }
        nodes.removeAll()
        return EventLoopFuture.andAllComplete(closing, on: eventLoop)
    }
}
