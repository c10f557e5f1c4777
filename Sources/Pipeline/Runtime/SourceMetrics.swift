import CoreMetrics
import NIOConcurrencyHelpers

/// One source's counts as swift-metrics instruments, with the dimension `source`. The hot path
/// only bumps `SourceCounters`' atomics; `export` carries what changed to the instruments once a
/// second (and when the source retires), so a metrics backend costs nothing per read.
///
/// Instruments are looked up by label and dimensions, so a source restarted by a reload goes on
/// counting in the same series.
final class SourceMetrics: Sendable {
    private let linesRead: Counter
    private let bytesRead: Counter
    private let linesTruncated: Counter
    private let recordsAcknowledged: Counter
    private let recordsFailed: Counter
    private let deletedBytesLost: Counter
    private let filesOpen: Gauge
    private let filesDeletedOpen: Gauge
    private let checkpointAge: Gauge
    private let backlog: Gauge
    /// Per file path: bytes of the file not yet acknowledged (`tributary_file_lag_bytes`).
    private let fileLags = NIOLockedValueBox<[String: Gauge]>([:])
    private let source: String
    private let factory: any MetricsFactory
    /// The counter values already exported, in the order of `Self.counterValues`.
    private let exported = NIOLockedValueBox<[Int]>([])

    init(source: String, factory: any MetricsFactory) {
        self.source = source
        self.factory = factory
        let dimensions = [("source", source)]
        func counter(_ label: String) -> Counter { Counter(label: label, dimensions: dimensions, factory: factory) }
        func gauge(_ label: String) -> Gauge { Gauge(label: label, dimensions: dimensions, factory: factory) }
        linesRead = counter("tributary_source_lines_read_total")
        bytesRead = counter("tributary_source_bytes_read_total")
        linesTruncated = counter("tributary_source_lines_truncated_total")
        recordsAcknowledged = counter("tributary_source_records_acknowledged_total")
        recordsFailed = counter("tributary_source_records_failed_total")
        deletedBytesLost = counter("tributary_source_deleted_bytes_lost_total")
        filesOpen = gauge("tributary_source_files_open")
        filesDeletedOpen = gauge("tributary_source_files_deleted_open")
        checkpointAge = gauge("tributary_source_checkpoint_age_seconds")
        backlog = gauge("tributary_source_backlog_records")
    }

    private static func counterValues(_ counters: SourceCounters) -> [Int] {
        [
            counters.linesRead.load(ordering: .relaxed), counters.bytesRead.load(ordering: .relaxed),
            counters.linesOversized.load(ordering: .relaxed), counters.recordsAcknowledged.load(ordering: .relaxed),
            counters.recordsFailed.load(ordering: .relaxed), counters.bytesLostDeleted.load(ordering: .relaxed),
        ]
    }

    /// Brings the instruments up to `counters`; `checkpointAge` is how long the oldest
    /// acknowledged progress has waited to be stored (zero when the stored checkpoints are
    /// current, and for sources without checkpoints).
    /// With `gauges` false only the counters move (a retiring sink's last counts).
    func export(_ counters: SourceCounters, checkpointAge age: Duration, backlog records: Int, gauges: Bool = true) {
        let values = Self.counterValues(counters)
        let instruments = [linesRead, bytesRead, linesTruncated, recordsAcknowledged, recordsFailed, deletedBytesLost]
        exported.withLockedValue { exported in
            if exported.isEmpty { exported = Array(repeating: 0, count: values.count) }
            for (index, value) in values.enumerated() where value > exported[index] {
                instruments[index].increment(by: Int64(value - exported[index]))
                exported[index] = value
            }
        }
        guard gauges else { return }
        backlog.record(records)
        filesOpen.record(counters.filesOpen.load(ordering: .relaxed))
        filesDeletedOpen.record(counters.filesDeletedOpen.load(ordering: .relaxed))
        checkpointAge.record(Double(age.components.seconds) + Double(age.components.attoseconds) / 1e18)
    }

    /// Removes the source's gauges (the counters stay: their totals remain true).
    func destroyGauges() {
        for gauge in [backlog, filesOpen, filesDeletedOpen, checkpointAge] { gauge.destroy() }
        exportFileLags([:])
    }

    /// Each followed file's lag: its size now minus the offset up to which Kafka acknowledged
    /// it. Files no longer followed lose their series.
    func exportFileLags(_ lags: [String: Int64]) {
        fileLags.withLockedValue { gauges in
            for (path, gauge) in gauges where lags[path] == nil {
                gauge.destroy()
                gauges[path] = nil
            }
            for (path, lag) in lags {
                let gauge =
                    gauges[path]
                    ?? Gauge(
                        label: "tributary_file_lag_bytes", dimensions: [("source", source), ("path", path)],
                        factory: factory)
                gauges[path] = gauge
                gauge.record(lag)
            }
        }
    }
}
