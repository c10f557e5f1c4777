/// An error raised by ``KafkaTestCluster``: the driver could not start, died, or refused a command.
public struct KafkaTestClusterError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, as a closed set callers can switch on.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Base: String, Hashable, Sendable {
            case driverMissing
            case driverFailedToStart
            case driverExited
            case commandFailed
            case malformedReply
        }
        fileprivate let base: Base

        /// The Python environment or the driver script is not where it should be.
        public static let driverMissing = Code(base: .driverMissing)
        /// The driver process could not be launched, or it did not report a ready cluster.
        public static let driverFailedToStart = Code(base: .driverFailedToStart)
        /// The driver process ended (or was stopped) before it answered.
        public static let driverExited = Code(base: .driverExited)
        /// The driver answered `{"ok":false}`: the command was refused or its check failed.
        public static let commandFailed = Code(base: .commandFailed)
        /// The driver's reply was not the JSON the command expects.
        public static let malformedReply = Code(base: .malformedReply)

        /// The code's name, e.g. `commandFailed`.
        public var description: String { base.rawValue }
    }

    /// What went wrong.
    public var code: Code
    /// A sentence for people; names the command and, for ``Code/commandFailed``, carries the
    /// driver's own error text.
    public var message: String
    /// The driver command that was running (`consume`, `broker_down`, …), or `start`.
    public var command: String
    /// The underlying error, when another layer reported it.
    public var cause: (any Error & Sendable)?

    /// Creates an error.
    public init(code: Code, message: String, command: String, cause: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.command = command
        self.cause = cause
    }

    /// `KafkaTestClusterError(commandFailed, consume): <message>`, plus the cause if any.
    public var description: String {
        var text = "KafkaTestClusterError(\(code), \(command)): \(message)"
        if let cause { text += " (cause: \(cause))" }
        return text
    }
}
