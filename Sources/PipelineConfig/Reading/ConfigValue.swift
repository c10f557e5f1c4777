import LibYAML

/// A node of the pipeline file with its key path, read into the value a setting needs.
///
/// Each reader returns nil after reporting what is wrong, so reading goes on and every problem
/// of the file is listed at once.
struct ConfigValue {
    let node: YAMLNode
    let path: String
    let diagnostics: ConfigDiagnostics

    var mark: YAMLMark { node.mark }

    func fail(_ code: PipelineConfigError.Code, _ message: String) {
        diagnostics.report(code, message, at: node.mark, path: path)
    }

    /// A scalar, with `${VAR}` references expanded.
    func string() -> String? {
        guard case .scalar(let text, _) = node.content, !node.isNull else {
            fail(.wrongType, "expected a string, got \(node.kindDescription)")
            return nil
        }
        do {
            return try diagnostics.substitution.expand(text)
        } catch {
            switch error {
            case .unset(let name):
                fail(
                    .unsetVariable, "environment variable \(name) is not set (write ${\(name):-default} for a default)")
            case .malformed(let message):
                fail(.invalidValue, message)
            }
            return nil
        }
    }

    /// A non-empty string.
    func nonEmptyString() -> String? {
        guard let text = string() else { return nil }
        guard !text.isEmpty else {
            fail(.invalidValue, "must not be empty")
            return nil
        }
        return text
    }

    /// A whole number in `range`.
    func int(in range: ClosedRange<Int>) -> Int? {
        guard let text = scalarText(expecting: "a whole number") else { return nil }
        guard let value = Int(text.replacingUnderscores) else {
            fail(.wrongType, "expected a whole number, got \"\(text)\"")
            return nil
        }
        guard range.contains(value) else {
            fail(.invalidValue, "\(value) is out of range \(range.lowerBound)...\(range.upperBound)")
            return nil
        }
        return value
    }

    /// `true` or `false` (YAML 1.1's yes/no/on/off are refused: they surprise people).
    func bool() -> Bool? {
        guard let text = scalarText(expecting: "true or false") else { return nil }
        switch text.lowercased() {
        case "true": return true
        case "false": return false
        default:
            fail(.wrongType, "expected true or false, got \"\(text)\"")
            return nil
        }
    }

    /// A duration: a number with a unit, `250ms`, `30s`, `5m`, `1h` (a bare number is refused,
    /// since it would be ambiguous between seconds and milliseconds).
    func duration() -> Duration? {
        guard let text = scalarText(expecting: "a duration such as 30s") else { return nil }
        guard let value = ConfigUnits.duration(text) else {
            fail(.wrongType, "expected a duration such as 500ms, 30s or 5m, got \"\(text)\"")
            return nil
        }
        return value
    }

    /// A byte count: a number, optionally with a unit (`512KiB`, `1MiB`, `64kb`).
    func byteCount(in range: ClosedRange<Int>) -> Int? {
        guard let text = scalarText(expecting: "a byte count such as 1MiB") else { return nil }
        guard let value = ConfigUnits.byteCount(text) else {
            fail(.wrongType, "expected a byte count such as 65536, 512KiB or 1MiB, got \"\(text)\"")
            return nil
        }
        guard range.contains(value) else {
            fail(.invalidValue, "\(value) bytes is out of range \(range.lowerBound)...\(range.upperBound)")
            return nil
        }
        return value
    }

    /// One of a closed set of words.
    func choice<T>(_ choices: KeyValuePairs<String, T>) -> T? {
        guard let text = scalarText(expecting: "one of " + choices.map(\.key).joined(separator: ", ")) else {
            return nil
        }
        if let match = choices.first(where: { $0.key == text }) { return match.value }
        let names = choices.map(\.key)
        let list = names.count == 2 ? "\(names[0]) or \(names[1])" : names.joined(separator: ", ")
        fail(.invalidValue, "expected \(list), got \"\(text)\"" + KeySuggestion.hint(for: text, in: names))
        return nil
    }

    /// A list of strings; a single string is a list of one.
    func strings() -> [String]? {
        switch node.content {
        case .scalar:
            return string().map { [$0] }
        case .sequence:
            let items = list() ?? []
            let values = items.compactMap { $0.string() }
            return values.count == items.count ? values : nil
        case .mapping:
            fail(.wrongType, "expected a string or a list of strings, got a mapping")
            return nil
        }
    }

    /// The items of a list.
    func list() -> [ConfigValue]? {
        guard case .sequence(let items) = node.content else {
            fail(.wrongType, "expected a list, got \(node.kindDescription)")
            return nil
        }
        return items.enumerated().map { ConfigValue(node: $1, path: "\(path)[\($0)]", diagnostics: diagnostics) }
    }

    /// A mapping whose keys are names the file chooses (sources, headers, producer properties).
    /// Keys are plain strings (no `${}`); a repeated key is reported and its later value dropped.
    func entries() -> [(key: String, value: ConfigValue)]? {
        guard case .mapping(let pairs) = node.content else {
            fail(.wrongType, "expected a mapping, got \(node.kindDescription)")
            return nil
        }
        var seen: Set<String> = []
        var result: [(key: String, value: ConfigValue)] = []
        for (keyNode, valueNode) in pairs {
            guard case .scalar(let key, _) = keyNode.content, !keyNode.isNull else {
                diagnostics.report(
                    .wrongType, "a key must be a string, got \(keyNode.kindDescription)",
                    at: keyNode.mark, path: path)
                continue
            }
            let child = path.isEmpty ? key : "\(path).\(key)"
            guard seen.insert(key).inserted else {
                diagnostics.report(.duplicateKey, "is given twice", at: keyNode.mark, path: child)
                continue
            }
            result.append((key, ConfigValue(node: valueNode, path: child, diagnostics: diagnostics)))
        }
        return result
    }

    /// A mapping with a fixed set of keys.
    func mapping() -> ConfigMapping? {
        entries().map { ConfigMapping(entries: $0, owner: self) }
    }

    /// The scalar's text for number-like readers, which do not mind quoting.
    private func scalarText(expecting expected: String) -> String? {
        guard case .scalar = node.content, !node.isNull else {
            fail(.wrongType, "expected \(expected), got \(node.kindDescription)")
            return nil
        }
        return string()?.trimmingWhitespace
    }
}

extension String {
    fileprivate var replacingUnderscores: String { String(filter { $0 != "_" }) }

    var trimmingWhitespace: String {
        var text = Substring(self)
        while text.first?.isWhitespace == true { text.removeFirst() }
        while text.last?.isWhitespace == true { text.removeLast() }
        return String(text)
    }
}
