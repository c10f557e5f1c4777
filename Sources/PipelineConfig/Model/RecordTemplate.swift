/// Text with `{{ field }}` placeholders: `logs-{{ source }}`, `{{ json.app }}`,
/// `{{ json.tenant }}/{{ json.user.id }}`.
public struct RecordTemplate: Sendable, Hashable, CustomStringConvertible {
    public enum Part: Sendable, Hashable {
        case literal(String)
        case field(RecordField)
    }

    public var parts: [Part]
    /// The template as written.
    public var text: String

    /// Parses `text`. A template without placeholders is a plain string.
    ///
    /// - Throws: a message saying what is wrong: an unclosed `{{`, an empty or unknown field.
    public init(parsing text: String) throws(TemplateError) {
        self.text = text
        var parts: [Part] = []
        var rest = Substring(text)
        while let open = rest.firstRange(of: "{{") {
            if open.lowerBound > rest.startIndex { parts.append(.literal(String(rest[..<open.lowerBound]))) }
            let after = rest[open.upperBound...]
            guard let close = after.firstRange(of: "}}") else {
                throw TemplateError(message: "\"{{\" without a closing \"}}\" in \"\(text)\"")
            }
            let name = String(after[..<close.lowerBound]).trimmingWhitespace
            guard !name.isEmpty else { throw TemplateError(message: "an empty \"{{ }}\" in \"\(text)\"") }
            guard let field = RecordField(name: name) else {
                let known = RecordField.metadataNames
                throw TemplateError(
                    message: "unknown field \"\(name)\" in \"\(text)\"; a template can use "
                        + known.joined(separator: ", ") + KeySuggestion.hint(for: name, in: known.dropLast()))
            }
            parts.append(.field(field))
            rest = after[close.upperBound...]
        }
        if !rest.isEmpty { parts.append(.literal(String(rest))) }
        self.parts = parts
    }

    /// The fields the template uses.
    public var fields: [RecordField] {
        parts.compactMap { if case .field(let field) = $0 { field } else { nil } }
    }

    /// The text when the template has no placeholders.
    public var constant: String? {
        // Read per record by `render`: a template with a field answers without allocating.
        var text = ""
        for part in parts {
            guard case .literal(let literal) = part else { return nil }
            text += literal
        }
        return text
    }

    /// Whether the template uses JSON fields, so the line must be parsed.
    public var usesJSON: Bool {
        fields.contains { if case .json = $0 { true } else { false } }
    }

    public var description: String { text }
}

/// Why a template does not parse.
public struct TemplateError: Error, Sendable, Hashable {
    public var message: String
}
