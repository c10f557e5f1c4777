/// `multiline` of a file source: continuation lines (a Java stack trace's `at …` lines, a
/// Python traceback's indented ones) joined to the line that starts their record.
public struct MultilineSettings: Sendable, Hashable {
    public enum Rule: Sendable, Hashable {
        /// `start_pattern`: a line matching it starts a record; other lines continue the last one.
        case start(String)
        /// `continuation_pattern`: a line matching it continues the last record; other lines
        /// start one.
        case continuation(String)
    }

    /// `start_pattern` or `continuation_pattern` (exactly one). Required.
    public var rule: Rule
    /// `negate`: invert the pattern's match. Default: false.
    public var negate = false
    /// `max_lines`: the most lines in one record; the next line starts a new record. Default: 500.
    public var maxLines = 500
    /// `max_bytes`: the most bytes in one record; the next line starts a new record. Default:
    /// the source's `max_record_bytes`.
    public var maxBytes: Int?
    /// `timeout`: a record still open after this long without a new line is sent. Default: 1 s.
    public var timeout: Duration = .seconds(1)

    public init(rule: Rule) {
        self.rule = rule
    }
}
