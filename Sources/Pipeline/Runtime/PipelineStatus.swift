/// The one-line summary STATUS= and the periodic log show: rates, backlog, errors.
public struct PipelineStatus: Sendable, Equatable {
    public var recordsRead = 0
    public var recordsAcknowledged = 0
    public var recordsFailed = 0
    /// Records handed to the producer and not yet answered for.
    public var backlog = 0
    public var linesFiltered = 0
    public var keyFailures = 0
    public var linesOversized = 0
    public var deadLettered = 0
    public var fallbackTopics = 0
    public var partialLinesDropped = 0
    public var bytesLostDeleted = 0
    /// Records acknowledged per second since the previous status.
    public var acknowledgedPerSecond = 0.0
    /// The last reload's problem, when it failed.
    public var reloadError: String?

    public init() {}

    public var line: String {
        var text =
            "delivered \(recordsAcknowledged) records (\(Int(acknowledgedPerSecond.rounded()))/s), backlog \(backlog), "
            + "failed \(recordsFailed)"
        if linesFiltered > 0 { text += ", filtered \(linesFiltered)" }
        if keyFailures > 0 { text += ", key failures \(keyFailures)" }
        if linesOversized > 0 { text += ", oversized \(linesOversized)" }
        if deadLettered > 0 { text += ", dead-lettered \(deadLettered)" }
        if fallbackTopics > 0 { text += ", to fallback topics \(fallbackTopics)" }
        if partialLinesDropped > 0 { text += ", half lines dropped \(partialLinesDropped)" }
        if bytesLostDeleted > 0 { text += ", deleted-file bytes lost \(bytesLostDeleted)" }
        if let reloadError { text += "; reload failed: \(reloadError)" }
        return text
    }

    /// Sums the counters of running sources onto what stopped sources already counted.
    static func collect(_ sinks: [SourceSink], base: PipelineStatus) -> PipelineStatus {
        var status = base
        for sink in sinks {
            let counters = sink.counters
            status.recordsRead += counters.linesRead.load(ordering: .relaxed)
            status.recordsAcknowledged += counters.recordsAcknowledged.load(ordering: .relaxed)
            status.recordsFailed += counters.recordsFailed.load(ordering: .relaxed)
            status.linesFiltered += counters.linesFiltered.load(ordering: .relaxed)
            status.keyFailures += counters.keyFailures.load(ordering: .relaxed)
            status.linesOversized += counters.linesOversized.load(ordering: .relaxed)
            status.deadLettered += counters.deadLettered.load(ordering: .relaxed)
            status.fallbackTopics += counters.fallbackTopics.load(ordering: .relaxed)
            status.partialLinesDropped += counters.partialLinesDropped.load(ordering: .relaxed)
            status.bytesLostDeleted += counters.bytesLostDeleted.load(ordering: .relaxed)
            status.backlog += sink.outstandingRecords
        }
        return status
    }
}
