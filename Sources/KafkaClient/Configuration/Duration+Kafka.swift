import NIOCore

extension Duration {
    /// Whole milliseconds, as Kafka's `….ms` settings count them.
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds &* 1000 &+ attoseconds / 1_000_000_000_000_000
    }
}

extension TimeAmount {
    /// The same span as a NIO `TimeAmount`, for deadlines on the event loop. Saturates at about
    /// a century, so that a setting like `max.block.ms=9223372036854775807` cannot overflow a
    /// deadline.
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        let century: Int64 = 100 * 365 * 24 * 3600
        guard seconds < century else {
            self = .seconds(century)
            return
        }
        self = .nanoseconds(max(0, seconds) * 1_000_000_000 + max(0, attoseconds) / 1_000_000_000)
    }
}
