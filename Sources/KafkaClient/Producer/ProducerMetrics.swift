import CoreMetrics

/// The producer's instruments, reported through swift-metrics with the dimension `client_id`
/// (and `topic` for what is counted per topic). Updated once per batch or request, never per
/// record; the gauges once a second by whoever calls `KafkaProducer.exportStatistics()`.
struct ProducerMetrics: Sendable {
    let clientId: String
    let factory: any MetricsFactory
    /// Batches acknowledged.
    let batchesSent: Counter
    /// Batches sent again after a retriable error.
    let retries: Counter
    /// Produce requests sent.
    let produceRequests: Counter
    /// From a Produce request's write to its answer (acks=1/all only).
    let requestLatency: Timer
    /// Bytes of `buffer.memory` held by batches, and the budget.
    let bufferMemoryUsed: Gauge
    let bufferMemory: Gauge
    /// Broker connections open.
    let connectionsOpen: Gauge
    /// Partitions whose sequences restarted at 0 under a new producer epoch (idempotence), by
    /// reason (dimension `reason`: `out_of_order_sequence`, `unknown_producer_id`, …).
    let sequenceResets: [IdempotenceStateMachine.SequenceResetReason: Counter]

    /// One topic's counters.
    struct Topic: Sendable {
        /// Records acknowledged by the broker (or written, with acks=0).
        let recordsSent: Counter
        /// Records that ended in an error.
        let recordsFailed: Counter
        /// Bytes of acknowledged batches as sent (after compression).
        let bytesSent: Counter
    }

    init(clientId: String, factory: any MetricsFactory) {
        self.clientId = clientId
        self.factory = factory
        let dimensions = [("client_id", clientId)]
        batchesSent = Counter(label: "tributary_producer_batches_sent_total", dimensions: dimensions, factory: factory)
        retries = Counter(label: "tributary_producer_batch_retries_total", dimensions: dimensions, factory: factory)
        produceRequests = Counter(
            label: "tributary_producer_produce_requests_total", dimensions: dimensions, factory: factory)
        requestLatency = Timer(
            label: "tributary_producer_request_latency_seconds", dimensions: dimensions, factory: factory)
        bufferMemoryUsed = Gauge(
            label: "tributary_producer_buffer_memory_used_bytes", dimensions: dimensions, factory: factory)
        bufferMemory = Gauge(label: "tributary_producer_buffer_memory_bytes", dimensions: dimensions, factory: factory)
        connectionsOpen = Gauge(
            label: "tributary_producer_connections_open", dimensions: dimensions, factory: factory)
        var resets: [IdempotenceStateMachine.SequenceResetReason: Counter] = [:]
        for reason in IdempotenceStateMachine.SequenceResetReason.allCases {
            resets[reason] = Counter(
                label: "tributary_producer_sequence_resets_total",
                dimensions: dimensions + [("reason", reason.rawValue)], factory: factory)
        }
        sequenceResets = resets
    }

    func topic(_ name: String) -> Topic {
        let dimensions = [("client_id", clientId), ("topic", name)]
        return Topic(
            recordsSent: Counter(
                label: "tributary_producer_records_sent_total", dimensions: dimensions, factory: factory),
            recordsFailed: Counter(
                label: "tributary_producer_records_failed_total", dimensions: dimensions, factory: factory),
            bytesSent: Counter(label: "tributary_producer_bytes_sent_total", dimensions: dimensions, factory: factory))
    }
}
