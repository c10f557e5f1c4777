/// A moment's view of the producer, for health checks and gauges: cheap to take (two atomics
/// and two short locks), so a caller may take it once a second.
public struct KafkaProducerStatistics: Sendable, Equatable {
    /// Bytes of `buffer.memory` held by batches not yet answered for.
    public var bufferMemoryUsed: Int
    /// `buffer.memory`.
    public var bufferMemory: Int
    /// Broker connections open (bootstrap connections included).
    public var connectionsOpen: Int
    /// The last failed connection attempt (`host:port: why`), until a connection succeeds again.
    public var connectionError: String?

    public init(bufferMemoryUsed: Int, bufferMemory: Int, connectionsOpen: Int, connectionError: String?) {
        self.bufferMemoryUsed = bufferMemoryUsed
        self.bufferMemory = bufferMemory
        self.connectionsOpen = connectionsOpen
        self.connectionError = connectionError
    }

    /// Whether the brokers answer as far as the producer knows: a connection is open, or no
    /// attempt failed since the last one that succeeded. An idle producer whose connections
    /// closed after `connections.max.idle.ms` is still reachable.
    public var brokersReachable: Bool { connectionsOpen > 0 || connectionError == nil }
}
