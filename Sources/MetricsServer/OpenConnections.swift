import NIOConcurrencyHelpers
import NIOCore

/// The server's accepted connections: counted against a limit, and closed at shutdown.
final class OpenConnections: Sendable {
    private let channels = NIOLockedValueBox<[ObjectIdentifier: any Channel]>([:])

    /// Whether `channel` may stay; it is forgotten when it closes.
    func admit(_ channel: any Channel, limit: Int) -> Bool {
        let id = ObjectIdentifier(channel)
        let admitted = channels.withLockedValue { open in
            guard open.count < limit else { return false }
            open[id] = channel
            return true
        }
        if admitted {
            channel.closeFuture.whenComplete { _ in _ = self.channels.withLockedValue { $0.removeValue(forKey: id) } }
        }
        return admitted
    }

    func all() -> [any Channel] { channels.withLockedValue { Array($0.values) } }
}
