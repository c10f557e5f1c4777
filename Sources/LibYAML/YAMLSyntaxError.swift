/// The text is not YAML, as libyaml reports it: the problem, and where it was found.
public struct YAMLSyntaxError: Error, Sendable, CustomStringConvertible {
    /// libyaml's words for what is wrong ("mapping values are not allowed in this context").
    public var problem: String
    /// Where the problem was found.
    public var mark: YAMLMark
    /// What libyaml was reading when it found the problem, with the place it began, if it says.
    public var context: (description: String, mark: YAMLMark)?

    public init(problem: String, mark: YAMLMark, context: (description: String, mark: YAMLMark)? = nil) {
        self.problem = problem
        self.mark = mark
        self.context = context
    }

    public var description: String {
        if let context { return "\(problem) (\(context.description) at \(context.mark))" }
        return problem
    }
}
