import LibYAML

/// A mapping with a fixed set of keys. Readers take the keys they know; `finish(known:)` then
/// reports every key left over as unknown, with the nearest known key as a suggestion.
struct ConfigMapping {
    private let entries: [(key: String, value: ConfigValue)]
    let owner: ConfigValue

    init(entries: [(key: String, value: ConfigValue)], owner: ConfigValue) {
        self.entries = entries
        self.owner = owner
    }

    subscript(key: String) -> ConfigValue? {
        entries.first { $0.key == key }?.value
    }

    var keys: [String] { entries.map(\.key) }

    /// The value of a key that must be there; reports it missing otherwise.
    func required(_ key: String, hint: String = "") -> ConfigValue? {
        if let value = self[key] { return value }
        owner.fail(.missingField, "missing required key \"\(key)\"" + hint)
        return nil
    }

    /// Reports each key not in `known`. `elsewhere` names keys that belong to another kind of
    /// the same thing (a `socket_type` on a file source), so the message can say so.
    func finish(known: [String], elsewhere: [String: String] = [:]) {
        for (key, value) in entries where !known.contains(key) {
            let mark = keyMark(of: value)
            if let owner = elsewhere[key] {
                value.diagnostics.report(
                    .unknownKey, "unknown key (\(key) belongs to \(owner))", at: mark, path: value.path)
            } else {
                value.diagnostics.report(
                    .unknownKey, "unknown key" + KeySuggestion.hint(for: key, in: known), at: mark, path: value.path)
            }
        }
    }

    /// Unknown keys are reported where the key is written, not where its value starts.
    private func keyMark(of value: ConfigValue) -> YAMLMark {
        guard case .mapping(let pairs) = owner.node.content else { return value.mark }
        let key = value.path.split(separator: ".").last.map(String.init)
        return pairs.first { pair in
            if case .scalar(let text, _) = pair.key.content { return text == key } else { return false }
        }?.key.mark ?? value.mark
    }
}
