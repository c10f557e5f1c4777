/// The JSON of `tributary doctor --json`: objects keep the order their keys are given in, so the
/// output is the same for the same report, and it needs no Foundation.
enum DoctorJSON: Hashable, Sendable {
    case null
    case bool(Bool)
    case integer(Int)
    case string(String)
    case array([DoctorJSON])
    case object([(String, DoctorJSON)])

    static func == (a: DoctorJSON, b: DoctorJSON) -> Bool { a.rendered() == b.rendered() }
    func hash(into hasher: inout Hasher) { hasher.combine(rendered()) }

    static func optional(_ value: String?) -> DoctorJSON { value.map(DoctorJSON.string) ?? .null }
    static func optional(_ value: Int?) -> DoctorJSON { value.map(DoctorJSON.integer) ?? .null }

    /// Two-space indented text; empty arrays and objects stay on one line.
    func rendered(indent: Int = 0) -> String {
        let inner = String(repeating: "  ", count: indent + 1)
        let closing = String(repeating: "  ", count: indent)
        switch self {
        case .null: return "null"
        case .bool(let value): return value ? "true" : "false"
        case .integer(let value): return String(value)
        case .string(let value): return JSONWriter.quoted(value)
        case .array(let values):
            guard !values.isEmpty else { return "[]" }
            return "[\n" + values.map { inner + $0.rendered(indent: indent + 1) }.joined(separator: ",\n")
                + "\n" + closing + "]"
        case .object(let members):
            guard !members.isEmpty else { return "{}" }
            return "{\n"
                + members.map { inner + JSONWriter.quoted($0.0) + ": " + $0.1.rendered(indent: indent + 1) }
                .joined(separator: ",\n") + "\n" + closing + "}"
        }
    }
}
