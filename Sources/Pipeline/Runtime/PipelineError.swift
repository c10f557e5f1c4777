/// Why the agent stopped other than cleanly: what went wrong, for the exit message.
public struct PipelineError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        init(_ rawValue: String) { self.rawValue = rawValue }

        /// The shutdown timeout passed with records not delivered.
        public static let undelivered = Code("undelivered")
        /// A source could not start (its socket could not be bound, …).
        public static let sourceFailed = Code("sourceFailed")
        /// The producer could not be created from the configuration.
        public static let producerFailed = Code("producerFailed")

        public var description: String { rawValue }
    }

    public var code: Code
    public var message: String
    /// Records read but not delivered (for `.undelivered`).
    public var undeliveredRecords: Int

    public init(_ code: Code, _ message: String, undeliveredRecords: Int = 0) {
        self.code = code
        self.message = message
        self.undeliveredRecords = undeliveredRecords
    }

    public var description: String { message }
}
