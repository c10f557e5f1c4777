import PipelineConfig

/// `include_lines` and `exclude_lines` compiled: which records a source keeps.
struct LineFilter: @unchecked Sendable {
    // @unchecked: the regexes are immutable after construction; they are only read.
    private let include: [Regex<AnyRegexOutput>]
    private let exclude: [Regex<AnyRegexOutput>]

    init(include: [String], exclude: [String]) throws {
        self.include = try include.map { try Regex($0) }
        self.exclude = try exclude.map { try Regex($0) }
    }

    var isEmpty: Bool { include.isEmpty && exclude.isEmpty }

    /// Whether a record is kept: it matches an include pattern (when there are any) and no
    /// exclude pattern.
    func keeps(_ line: String) -> Bool {
        if !include.isEmpty && !include.contains(where: { (try? $0.firstMatch(in: line)) != nil }) { return false }
        return !exclude.contains { (try? $0.firstMatch(in: line)) != nil }
    }
}
