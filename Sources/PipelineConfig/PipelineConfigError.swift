import LibYAML

/// One thing wrong with a pipeline file: what, where (`file:line:column`) and under which key.
///
/// `description` is the line `tributary validate` prints:
/// `pipeline.yaml:12:5: sources.nginx.start_at: expected beginning or end, got "begining"`.
public struct PipelineConfigError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The class of problem, for programs; the message is for people.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        init(_ rawValue: String) { self.rawValue = rawValue }

        /// The file could not be read.
        public static let unreadable = Code("unreadable")
        /// The text is not YAML.
        public static let syntax = Code("syntax")
        /// A key the pipeline file does not have (the message suggests the nearest one).
        public static let unknownKey = Code("unknownKey")
        /// A key written twice in one mapping.
        public static let duplicateKey = Code("duplicateKey")
        /// A value of the wrong kind: a list where a string belongs, text where a number does.
        public static let wrongType = Code("wrongType")
        /// A required key is missing.
        public static let missingField = Code("missingField")
        /// A value of the right kind that is not allowed (a negative size, an unknown choice).
        public static let invalidValue = Code("invalidValue")
        /// A regular expression that does not compile.
        public static let badRegex = Code("badRegex")
        /// A `{{ … }}` template that does not parse or names an unknown field.
        public static let badTemplate = Code("badTemplate")
        /// A Kafka producer property the producer does not know, does not support, or rejects.
        public static let unknownSetting = Code("unknownSetting")
        /// Two settings that cannot hold together; the message names both.
        public static let contradiction = Code("contradiction")
        /// `${VAR}` names a variable that is not set and has no default.
        public static let unsetVariable = Code("unsetVariable")

        public var description: String { rawValue }
    }

    public var code: Code
    /// What is wrong, as a sentence fragment after the key path.
    public var message: String
    /// The file's name as given to the reader.
    public var file: String
    /// Where the offending node starts; nil for problems with the whole file.
    public var mark: YAMLMark?
    /// The key path of the offending node: `sources.nginx.include[0]`, `routes[1].key.regex`.
    public var keyPath: String

    public init(_ code: Code, _ message: String, file: String, mark: YAMLMark?, keyPath: String) {
        self.code = code
        self.message = message
        self.file = file
        self.mark = mark
        self.keyPath = keyPath
    }

    public var description: String {
        let place = mark.map { "\(file):\($0.line):\($0.column)" } ?? file
        return keyPath.isEmpty ? "\(place): \(message)" : "\(place): \(keyPath): \(message)"
    }
}

/// Every problem found in a pipeline file, in file order. Reading goes on past the first
/// problem so that `validate` reports them all at once.
public struct PipelineConfigErrors: Error, Sendable, CustomStringConvertible {
    public var errors: [PipelineConfigError]

    public init(_ errors: [PipelineConfigError]) {
        self.errors = errors
    }

    public var description: String { errors.map(\.description).joined(separator: "\n") }
}
