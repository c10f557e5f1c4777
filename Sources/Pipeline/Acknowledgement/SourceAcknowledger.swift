/// Turns one source's delivery reports, which arrive out of order across partitions, into the
/// highest position whose records, and all records before them, Kafka has answered for.
///
/// A pure state machine, one per source. Each read registers its records as one *span*: their
/// consecutive ids and the stream position just past them. A span is done when every one of
/// its records is acknowledged or failed; spans finish in read order, so the position returned
/// only ever moves forward and never past a record still in flight. Memory is one entry per
/// read, not per record.
public struct SourceAcknowledger<Position: Sendable>: Sendable {
    struct Span: Sendable {
        var firstID: UInt64
        var count: Int
        var remaining: Int
        var position: Position
        /// A record of it failed for a reason a later attempt could overcome (a timeout, the
        /// producer closing): its position must not become a checkpoint.
        var isBlocked = false
    }

    /// Spans not yet done, in id order; `head` skips the done ones at the front.
    private var spans: [Span] = []
    private var head = 0
    /// The id the next registered record gets.
    public private(set) var nextID: UInt64 = 0
    /// Records registered and not yet answered for.
    public private(set) var outstandingRecords = 0
    /// Records Kafka stored.
    public private(set) var acknowledgedRecords = 0
    /// Records that failed (after the producer's retries and `delivery.timeout.ms`).
    public private(set) var failedRecords = 0
    /// The furthest position every record before which is answered for.
    public private(set) var position: Position?
    /// Positions of spans done since the last `takeCompleted()`, in read order: a source that
    /// reads several files keeps one checkpoint per file from them.
    private var completed: [(position: Position, isBlocked: Bool)] = []

    public init() {}

    /// Registers `count` records ending at `position`; returns the first one's id (the rest
    /// follow consecutively). A span of no records (every line filtered out) is done at once.
    public mutating func register(count: Int, position: Position) -> UInt64 {
        let first = nextID
        nextID += UInt64(count)
        outstandingRecords += count
        spans.append(Span(firstID: first, count: count, remaining: count, position: position))
        advance()
        return first
    }

    /// Records the answer for these ids; returns the new position when it moved. Each id is
    /// answered once (the producer reports every record once); unknown ids are ignored.
    @discardableResult
    public mutating func acknowledge(_ ids: some Sequence<UInt64>, failed: Bool, retriable: Bool = false) -> Position? {
        for id in ids {
            guard let index = spanIndex(of: id), spans[index].remaining > 0 else { continue }
            spans[index].remaining -= 1
            outstandingRecords -= 1
            if failed { failedRecords += 1 } else { acknowledgedRecords += 1 }
            if failed && retriable { spans[index].isBlocked = true }
        }
        let before = head
        advance()
        return head != before ? position : nil
    }

    private mutating func advance() {
        while head < spans.count, spans[head].remaining == 0 {
            position = spans[head].position
            completed.append((spans[head].position, spans[head].isBlocked))
            head += 1
        }
        // Compact once the done prefix is both large and most of the array.
        if head > 1024 && head * 2 > spans.count {
            spans.removeFirst(head)
            head = 0
        }
    }

    /// The spans done since the last call, in read order, each with whether a record of it
    /// failed retriably (then neither it nor what follows it in its file may be checkpointed).
    public mutating func takeCompleted() -> [(position: Position, isBlocked: Bool)] {
        defer { completed.removeAll(keepingCapacity: true) }
        return completed
    }

    /// Binary search among the live spans.
    private func spanIndex(of id: UInt64) -> Int? {
        var low = head
        var high = spans.count - 1
        while low <= high {
            let middle = (low + high) / 2
            let span = spans[middle]
            if id < span.firstID {
                high = middle - 1
            } else if id >= span.firstID + UInt64(span.count) {
                low = middle + 1
            } else {
                return middle
            }
        }
        return nil
    }
}
