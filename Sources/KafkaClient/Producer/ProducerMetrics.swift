import CoreMetrics

/// The producer's counters, reported through swift-metrics with the dimension `client_id`.
/// Updated once per batch or request, never per record.
struct ProducerMetrics: Sendable {
    /// Records acknowledged by the broker (or written, with acks=0).
    let recordsSent: Counter
    /// Records that ended in an error.
    let recordsFailed: Counter
    /// Batches acknowledged.
    let batchesSent: Counter
    /// Batches sent again after a retriable error.
    let retries: Counter
    /// Produce requests sent.
    let produceRequests: Counter
    /// Partitions whose sequences restarted at 0 under a new producer epoch (idempotence), by
    /// reason (dimension `reason`: `out_of_order_sequence`, `unknown_producer_id`, …).
    let sequenceResets: [IdempotenceStateMachine.SequenceResetReason: Counter]

    init(clientId: String, factory: any MetricsFactory) {
        let dimensions = [("client_id", clientId)]
        recordsSent = Counter(label: "tributary_producer_records_sent_total", dimensions: dimensions, factory: factory)
        recordsFailed = Counter(
            label: "tributary_producer_records_failed_total", dimensions: dimensions, factory: factory)
        batchesSent = Counter(label: "tributary_producer_batches_sent_total", dimensions: dimensions, factory: factory)
        retries = Counter(label: "tributary_producer_batch_retries_total", dimensions: dimensions, factory: factory)
        produceRequests = Counter(
            label: "tributary_producer_produce_requests_total", dimensions: dimensions, factory: factory)
        var resets: [IdempotenceStateMachine.SequenceResetReason: Counter] = [:]
        for reason in IdempotenceStateMachine.SequenceResetReason.allCases {
            resets[reason] = Counter(
                label: "tributary_producer_sequence_resets_total",
                dimensions: dimensions + [("reason", reason.rawValue)], factory: factory)
        }
        sequenceResets = resets
    }
}
