import Atomics

/// One source's counts, read by STATUS, logs and `SourceMetrics`. Written by the source's read
/// loop and its acknowledgement loop; any thread may read.
public final class SourceCounters: Sendable {
    /// Records framed from the input (before filtering).
    public let linesRead = ManagedAtomic<Int>(0)
    /// Bytes read from the input.
    public let bytesRead = ManagedAtomic<Int>(0)
    /// Records dropped by include_lines / exclude_lines.
    public let linesFiltered = ManagedAtomic<Int>(0)
    /// Lines over max_record_bytes (truncated or split).
    public let linesOversized = ManagedAtomic<Int>(0)
    /// Records whose key could not be extracted (whatever the policy did with them).
    public let keyFailures = ManagedAtomic<Int>(0)
    /// Records sent to a dead-letter topic.
    public let deadLettered = ManagedAtomic<Int>(0)
    /// Records sent to a route's fallback topic.
    public let fallbackTopics = ManagedAtomic<Int>(0)
    /// Bytes of deleted files not read because deleted_hold_limit closed them.
    public let bytesLostDeleted = ManagedAtomic<Int>(0)
    /// Unfinished lines dropped at a stop (the writer had not sent their newline).
    public let partialLinesDropped = ManagedAtomic<Int>(0)
    /// Records handed to the producer (one per route per line).
    public let recordsSent = ManagedAtomic<Int>(0)
    /// Records Kafka acknowledged.
    public let recordsAcknowledged = ManagedAtomic<Int>(0)
    /// Records that failed delivery (for any reason, including those below).
    public let recordsFailed = ManagedAtomic<Int>(0)
    /// Records given up because a shutdown ran out of time (the producer closed before
    /// delivering them, or they never got into it).
    public let recordsAbandoned = ManagedAtomic<Int>(0)
    /// Files the source holds open now (a gauge; file sources only).
    public let filesOpen = ManagedAtomic<Int>(0)
    /// Of those, files already deleted (held until read to their end or deleted_hold_limit).
    public let filesDeletedOpen = ManagedAtomic<Int>(0)

    public init() {}
}
