/// The decisions of a stream socket's `max_connections`: which accepted connection stays and
/// which is closed at once, and when to say so. Refusals come in bursts (a writer that retries,
/// a flood); each burst is logged when it starts and counted when it ends, not once per
/// connection.
///
/// Owned by `OpenChannels`, under its lock.
struct ConnectionLimit {
    enum Action: Equatable {
        /// Keep the connection; `endedBurst` is how many were refused since the last one kept.
        case keep(endedBurst: Int?)
        /// Close the connection; `startsBurst` when it is the first refused since one was kept.
        case refuse(startsBurst: Bool)
    }

    let maximum: Int
    private(set) var open = 0
    private(set) var refusedInBurst = 0

    init(maximum: Int) {
        self.maximum = maximum
    }

    mutating func accepted() -> Action {
        guard open < maximum else {
            refusedInBurst += 1
            return .refuse(startsBurst: refusedInBurst == 1)
        }
        open += 1
        defer { refusedInBurst = 0 }
        return .keep(endedBurst: refusedInBurst > 0 ? refusedInBurst : nil)
    }

    mutating func closed() {
        open = max(0, open - 1)
    }
}
