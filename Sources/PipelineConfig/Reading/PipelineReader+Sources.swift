import LibYAML

extension PipelineReader {
    struct ReadSource {
        var configuration: SourceConfiguration
        var value: ConfigValue
    }

    static let commonSourceKeys = ["type", "max_record_bytes", "oversize", "include_lines", "exclude_lines", "key"]
    static let fileSourceKeys = [
        "include", "exclude", "start_at", "poll_interval", "glob_interval", "rotate_wait", "deleted_hold_limit",
        "partial_line_timeout", "max_open_files", "multiline", "inotify",
    ]
    static let socketSourceKeys = [
        "path", "systemd_socket", "socket_type", "mode", "owner", "group", "max_connections",
    ]

    func readSources(_ value: ConfigValue) -> [ReadSource]? {
        guard let entries = value.entries() else { return nil }
        if entries.isEmpty { value.fail(.missingField, "must define at least one source") }
        return entries.compactMap { name, item in
            if !Self.isName(name) {
                item.fail(.invalidValue, "a source name may only use letters, digits, \"_\", \"-\" and \".\"")
            }
            return readSource(name: name, item)
        }
    }

    static func isName(_ text: String) -> Bool {
        !text.isEmpty
            && text.utf8.allSatisfy { byte in
                (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                    || byte == 0x5F || byte == 0x2D || byte == 0x2E
            }
    }

    private func readSource(name: String, _ value: ConfigValue) -> ReadSource? {
        guard let mapping = value.mapping() else { return nil }
        guard let type = mapping.required("type", hint: " (file, unix_socket or stdin)") else { return nil }
        guard let typeName = type.choice(["file": "file", "unix_socket": "unix_socket", "stdin": "stdin"]) else {
            return nil
        }
        let kind: SourceConfiguration.Kind?
        var elsewhere: [String: String] = [:]
        switch typeName {
        case "file":
            mapping.finish(
                known: Self.commonSourceKeys + Self.fileSourceKeys,
                elsewhere: Dictionary(uniqueKeysWithValues: Self.socketSourceKeys.map { ($0, "unix_socket sources") }))
            kind = readFileSource(mapping).map { .file($0) }
        case "unix_socket":
            for key in Self.fileSourceKeys { elsewhere[key] = "file sources" }
            mapping.finish(known: Self.commonSourceKeys + Self.socketSourceKeys, elsewhere: elsewhere)
            kind = readSocketSource(mapping).map { .unixSocket($0) }
        default:
            for key in Self.fileSourceKeys { elsewhere[key] = "file sources" }
            for key in Self.socketSourceKeys { elsewhere[key] = "unix_socket sources" }
            mapping.finish(known: Self.commonSourceKeys, elsewhere: elsewhere)
            kind = .stdin
        }
        var source = SourceConfiguration(name: name, kind: kind ?? .stdin)
        if let size = mapping["max_record_bytes"]?.byteCount(in: 1...(64 << 20)) {
            source.framing.maxRecordBytes = size
        }
        if let oversize = mapping["oversize"]?.choice(["truncate": FramingSettings.Oversize.truncate, "split": .split])
        {
            source.framing.oversize = oversize
        }
        source.includeLines = mapping["include_lines"].flatMap(readRegexList) ?? []
        source.excludeLines = mapping["exclude_lines"].flatMap(readRegexList) ?? []
        source.key = mapping["key"].flatMap(readKey)
        if case .template(let template) = source.key?.method, let keyValue = mapping["key"],
            let problem = Self.peerFieldProblem(template.fields, sourceKind: kind)
        {
            keyValue.fail(.contradiction, problem)
        }
        guard kind != nil else { return nil }
        return ReadSource(configuration: source, value: value)
    }

    /// Why `fields` cannot be used with a source of `sourceKind`, if they cannot: the peer
    /// fields exist only where the kernel can tell who connected.
    static func peerFieldProblem(_ fields: [RecordField], sourceKind: SourceConfiguration.Kind?) -> String? {
        let peer = fields.filter(\.isPeerCredential)
        guard let first = peer.first else { return nil }
        if case .unixSocket(let settings) = sourceKind, settings.socketType == .stream { return nil }
        let kind: String
        switch sourceKind {
        case .file: kind = "a file source"
        case .stdin: kind = "a stdin source"
        case .unixSocket: kind = "a datagram socket"
        case nil: return nil
        }
        return "{{ \(first) }} is known only for unix_socket sources with socket_type: stream; \(kind) has no peer"
    }

    private func readFileSource(_ mapping: ConfigMapping) -> FileSourceSettings? {
        guard let includeValue = mapping.required("include", hint: " (glob patterns of files to read)"),
            let include = includeValue.strings()
        else { return nil }
        if include.isEmpty { includeValue.fail(.invalidValue, "must list at least one glob pattern") }
        for pattern in include where !pattern.hasPrefix("/") {
            includeValue.fail(.invalidValue, "\"\(pattern)\" must be an absolute path or glob")
        }
        var settings = FileSourceSettings(include: include)
        if let exclude = mapping["exclude"]?.strings() { settings.exclude = exclude }
        if let start = mapping["start_at"]?.choice([
            "beginning": FileSourceSettings.StartPosition.beginning, "end": .end,
        ]) {
            settings.startAt = start
        }
        if let interval = mapping["poll_interval"], let duration = interval.duration() {
            if duration >= .milliseconds(10) {
                settings.pollInterval = duration
            } else {
                interval.fail(.invalidValue, "must be at least 10ms")
            }
        }
        if let value = mapping["multiline"] { settings.multiline = readMultiline(value) }
        if let wait = mapping["rotate_wait"]?.duration() { settings.rotateWait = wait }
        if let timeout = mapping["partial_line_timeout"]?.duration() { settings.partialLineTimeout = timeout }
        if let limit = mapping["max_open_files"]?.int(in: 1...1_000_000) { settings.maxOpenFiles = limit }
        if let value = mapping["inotify"]?.bool() { settings.usesInotify = value }
        if let value = mapping["deleted_hold_limit"], let limit = value.duration() {
            if limit >= settings.rotateWait {
                settings.deletedHoldLimit = limit
            } else {
                value.fail(.contradiction, "deleted_hold_limit must be at least rotate_wait (\(settings.rotateWait))")
            }
        }
        if let interval = mapping["glob_interval"], let duration = interval.duration() {
            if duration >= .milliseconds(100) {
                settings.globInterval = duration
            } else {
                interval.fail(.invalidValue, "must be at least 100ms")
            }
        }
        return settings
    }

    private func readSocketSource(_ mapping: ConfigMapping) -> UnixSocketSourceSettings? {
        let path = mapping["path"]?.nonEmptyString()
        let systemd = mapping["systemd_socket"]?.nonEmptyString()
        if mapping["path"] == nil && mapping["systemd_socket"] == nil {
            mapping.owner.fail(
                .missingField, "missing required key \"path\" (or \"systemd_socket\" for socket activation)")
            return nil
        }
        if let path, !path.hasPrefix("/") { mapping["path"]?.fail(.invalidValue, "must be an absolute path") }
        if let path, path.utf8.count > 107 {
            mapping["path"]?.fail(.invalidValue, "is \(path.utf8.count) bytes; a UNIX socket path has at most 107")
        }
        var settings = UnixSocketSourceSettings(path: path)
        settings.systemdSocket = systemd
        if let type = mapping["socket_type"]?.choice([
            "stream": UnixSocketSourceSettings.SocketType.stream, "datagram": .datagram,
        ]) {
            settings.socketType = type
        }
        if let modeValue = mapping["mode"], let text = modeValue.string() {
            if let mode = UInt32(text, radix: 8), mode <= 0o777, (3...4).contains(text.count) {
                settings.mode = mode
            } else {
                modeValue.fail(.invalidValue, "expected octal permissions such as \"0660\", got \"\(text)\"")
            }
        }
        settings.owner = mapping["owner"]?.nonEmptyString()
        settings.group = mapping["group"]?.nonEmptyString()
        if let value = mapping["max_connections"], let limit = value.int(in: 1...1_000_000) {
            if settings.socketType == .stream {
                settings.maxConnections = limit
            } else {
                value.fail(.contradiction, "max_connections applies only to socket_type: stream")
            }
        }
        return settings
    }

    private func readMultiline(_ value: ConfigValue) -> MultilineSettings? {
        guard let mapping = value.mapping() else { return nil }
        mapping.finish(known: ["start_pattern", "continuation_pattern", "negate", "max_lines", "max_bytes", "timeout"])
        let given = ["start_pattern", "continuation_pattern"].filter { mapping[$0] != nil }
        guard given.count == 1, let name = given.first, let patternValue = mapping[name],
            let pattern = patternValue.string()
        else {
            if given.isEmpty {
                value.fail(.missingField, "multiline needs start_pattern or continuation_pattern")
            } else if given.count > 1 {
                value.fail(.contradiction, "multiline takes start_pattern or continuation_pattern, not both")
            }
            return nil
        }
        if let problem = RegexCheck.problem(pattern) {
            patternValue.fail(.badRegex, "invalid regular expression \"\(pattern)\": \(problem)")
            return nil
        }
        var settings = MultilineSettings(rule: name == "start_pattern" ? .start(pattern) : .continuation(pattern))
        if let negate = mapping["negate"]?.bool() { settings.negate = negate }
        if let lines = mapping["max_lines"]?.int(in: 1...100_000) { settings.maxLines = lines }
        if let bytes = mapping["max_bytes"]?.byteCount(in: 1...(64 << 20)) { settings.maxBytes = bytes }
        if let timeout = mapping["timeout"], let duration = timeout.duration() {
            if duration >= .milliseconds(10) {
                settings.timeout = duration
            } else {
                timeout.fail(.invalidValue, "must be at least 10ms")
            }
        }
        return settings
    }

    func readRegexList(_ value: ConfigValue) -> [String]? {
        let items: [ConfigValue]
        if case .scalar = value.node.content { items = [value] } else { items = value.list() ?? [] }
        var patterns: [String] = []
        for item in items {
            guard let pattern = item.string() else { continue }
            if let problem = RegexCheck.problem(pattern) {
                item.fail(.badRegex, "invalid regular expression \"\(pattern)\": \(problem)")
            } else {
                patterns.append(pattern)
            }
        }
        return patterns
    }
}
