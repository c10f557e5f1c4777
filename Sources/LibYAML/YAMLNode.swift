/// Where a node starts in its text: 1-based line and column, as editors and compilers count.
public struct YAMLMark: Sendable, Hashable, CustomStringConvertible {
    /// The 1-based line.
    public var line: Int
    /// The 1-based column, in characters as libyaml counts them.
    public var column: Int

    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    public var description: String { "\(line):\(column)" }
}

/// One node of a YAML document, with the place it starts.
///
/// Scalars stay text: what a scalar means (a number, a Boolean, a duration) is the reader's
/// decision, so `"0660"` and `0660` are both the string `0660` and a quoted `"true"` can still be
/// told from a plain one by `style`.
public struct YAMLNode: Sendable {
    /// How a scalar was written.
    public enum ScalarStyle: Sendable, Hashable {
        /// Unquoted: the only style in which `~`, `null` and the empty string mean "no value".
        case plain
        case singleQuoted
        case doubleQuoted
        case literal
        case folded
    }

    /// The node's content.
    public indirect enum Content: Sendable {
        case scalar(String, ScalarStyle)
        case sequence([YAMLNode])
        /// Pairs in the order they were written; duplicate keys are the reader's to reject.
        case mapping([(key: YAMLNode, value: YAMLNode)])
    }

    public var content: Content
    /// Where the node starts.
    public var mark: YAMLMark
    /// An explicit tag such as `!!str`, resolved to its full form (`tag:yaml.org,2002:str`); nil
    /// when the node has none.
    public var tag: String?

    public init(_ content: Content, mark: YAMLMark, tag: String? = nil) {
        self.content = content
        self.mark = mark
        self.tag = tag
    }

    /// Whether this is a plain `~`, `null`, `Null`, `NULL` or empty scalar: YAML's null.
    public var isNull: Bool {
        guard case .scalar(let text, .plain) = content, tag == nil else { return false }
        return text.isEmpty || text == "~" || text == "null" || text == "Null" || text == "NULL"
    }

    /// A word for the node's kind, for error messages: "a string", "a list", "a mapping".
    public var kindDescription: String {
        switch content {
        case .scalar: isNull ? "null" : "a string"
        case .sequence: "a list"
        case .mapping: "a mapping"
        }
    }
}
