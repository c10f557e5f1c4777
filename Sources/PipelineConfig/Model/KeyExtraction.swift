/// How a record's key is found: `key: { regex: '^(\S+) ' }`, `{ json: user.id }`,
/// `{ static: "web" }`, `{ template: "{{ json.tenant }}-{{ json.user.id }}" }`.
public struct KeyExtraction: Sendable, Hashable {
    public enum Method: Sendable, Hashable {
        /// The same key for every record.
        case constant(String)
        /// A capture group of a regular expression matched against the line.
        case regex(pattern: String, group: Int)
        /// A field of the line parsed as a JSON object; a string is its text, a number or
        /// Boolean its JSON text; an object, array or null counts as not found.
        case json(path: [String])
        /// A template over metadata and JSON fields; not found when any field is missing.
        case template(RecordTemplate)
    }

    /// What a record whose key cannot be extracted gets.
    public enum FailurePolicy: Sendable, Hashable {
        /// `on_failure: null`: a null key (the partitioner then spreads such records).
        case nullKey
        /// `on_failure: default` with `default: "…"`: that key.
        case defaultKey(String)
        /// `on_failure: dead_letter` with `dead_letter_topic: …`: the record goes, unchanged
        /// and with a null key, to that topic instead of the route's.
        case deadLetter(topic: String)
    }

    public var method: Method
    /// `on_failure`. Default: `null`. Every failure is counted, whatever the policy.
    public var onFailure: FailurePolicy = .nullKey

    public init(method: Method, onFailure: FailurePolicy = .nullKey) {
        self.method = method
        self.onFailure = onFailure
    }
}
