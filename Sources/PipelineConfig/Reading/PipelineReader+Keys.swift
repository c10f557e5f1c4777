import LibYAML

extension PipelineReader {
    static let keyMethods = ["static", "regex", "json", "template"]
    static let keyKeys = keyMethods + ["group", "on_failure", "default", "dead_letter_topic"]

    func readKey(_ value: ConfigValue) -> KeyExtraction? {
        guard let mapping = value.mapping() else { return nil }
        mapping.finish(known: Self.keyKeys)
        let given = Self.keyMethods.filter { mapping[$0] != nil }
        guard given.count == 1, let methodName = given.first, let methodValue = mapping[methodName] else {
            if given.isEmpty {
                value.fail(.missingField, "a key needs one of static, regex, json or template")
            } else {
                value.fail(
                    .contradiction,
                    "a key takes one of static, regex, json or template, not \(given.joined(separator: " and "))")
            }
            return nil
        }
        if methodName != "regex", let group = mapping["group"] {
            group.fail(.contradiction, "group applies to a regex key, not a \(methodName) key")
        }
        var method: KeyExtraction.Method?
        switch methodName {
        case "static":
            method = methodValue.string().map { .constant($0) }
        case "regex":
            if let pattern = methodValue.string() {
                let group = mapping["group"]?.int(in: 0...999) ?? 1
                if let problem = RegexCheck.problem(pattern) {
                    methodValue.fail(.badRegex, "invalid regular expression \"\(pattern)\": \(problem)")
                } else if group > RegexCheck.captureCount(pattern) {
                    let count = RegexCheck.captureCount(pattern)
                    (mapping["group"] ?? methodValue).fail(
                        .invalidValue,
                        "the key is capture group \(group), but \"\(pattern)\" has \(count == 0 ? "no" : "only \(count)") capture group\(count == 1 ? "" : "s")"
                            + (count == 0 ? " (put the key's part in parentheses)" : ""))
                } else {
                    method = .regex(pattern: pattern, group: group)
                }
            }
        case "json":
            if let path = methodValue.nonEmptyString() {
                let parts = path.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
                if parts.contains(where: \.isEmpty) {
                    methodValue.fail(.invalidValue, "\"\(path)\" is not a field path such as user.id")
                } else {
                    method = .json(path: parts)
                }
            }
        default:
            if let text = methodValue.string() {
                do {
                    method = .template(try RecordTemplate(parsing: text))
                } catch {
                    methodValue.fail(.badTemplate, error.message)
                }
            }
        }
        let policy = readKeyPolicy(mapping)
        guard let method, let policy else { return nil }
        return KeyExtraction(method: method, onFailure: policy)
    }

    private func readKeyPolicy(_ mapping: ConfigMapping) -> KeyExtraction.FailurePolicy? {
        // `on_failure: null` unquoted is YAML's null, and means the null key all the same.
        let choice =
            mapping["on_failure"]?.node.isNull == true
            ? "null"
            : mapping["on_failure"]?.choice(["null": "null", "default": "default", "dead_letter": "dead_letter"])
        if mapping["on_failure"] != nil && choice == nil { return nil }
        let name = choice ?? "null"
        if name != "default", let value = mapping["default"] {
            value.fail(.contradiction, "default applies only with on_failure: default")
        }
        if name != "dead_letter", let value = mapping["dead_letter_topic"] {
            value.fail(.contradiction, "dead_letter_topic applies only with on_failure: dead_letter")
        }
        switch name {
        case "default":
            guard let value = mapping.required("default", hint: " (the key for records whose key cannot be extracted)")
            else { return nil }
            return value.string().map { .defaultKey($0) }
        case "dead_letter":
            guard let value = mapping.required("dead_letter_topic", hint: " (where records without a key go)"),
                let topic = value.string()
            else { return nil }
            guard checkTopicName(topic, value) else { return nil }
            return .deadLetter(topic: topic)
        default:
            return .nullKey
        }
    }

    /// Kafka's rule for topic names: 1 to 249 of `[A-Za-z0-9._-]`, not `.` or `..`.
    @discardableResult
    func checkTopicName(_ topic: String, _ value: ConfigValue) -> Bool {
        if topic.isEmpty || topic.utf8.count > 249 || topic == "." || topic == ".." || !Self.isName(topic) {
            value.fail(
                .invalidValue,
                "\"\(topic)\" is not a valid topic name (1 to 249 of letters, digits, \".\", \"_\", \"-\")")
            return false
        }
        return true
    }
}
