import KafkaClient
import LibYAML

/// Reads the sections of a pipeline file into `PipelineConfiguration`, reporting every problem
/// to the diagnostics, then checks the sections against each other (`validate`).
struct PipelineReader {
    let diagnostics: ConfigDiagnostics

    static let rootKeys = ["kafka", "agent", "sources", "routes"]

    func read(_ root: ConfigValue) -> PipelineConfiguration? {
        guard let mapping = root.mapping() else { return nil }
        mapping.finish(known: Self.rootKeys)
        let kafka = mapping.required("kafka").flatMap(readKafka)
        let agent = mapping["agent"].flatMap(readAgent) ?? AgentSettings()
        let sourcesValue = mapping.required("sources")
        let sources = sourcesValue.flatMap(readSources) ?? []
        let routesValue = mapping.required("routes")
        let routes = routesValue.flatMap(readRoutes) ?? []
        guard let kafka, let sourcesValue, let routesValue else { return nil }
        var configuration = PipelineConfiguration(
            kafka: kafka.settings, sources: sources.map(\.configuration), routes: routes.map(\.configuration))
        configuration.agent = agent
        guard diagnostics.errors.isEmpty else { return configuration }
        validate(configuration, kafka: kafka, sources: (sourcesValue, sources), routes: (routesValue, routes))
        return configuration
    }

    // MARK: kafka

    struct ReadKafka {
        var settings: KafkaSettings
        var value: ConfigValue
        var producerEntries: [(key: String, value: ConfigValue)]
    }

    private func readKafka(_ value: ConfigValue) -> ReadKafka? {
        guard let mapping = value.mapping() else { return nil }
        mapping.finish(known: ["bootstrap_servers", "client_id", "producer"])
        var servers = mapping.required("bootstrap_servers").flatMap { $0.strings() }
        if let list = servers, let place = mapping["bootstrap_servers"] {
            if list.isEmpty {
                place.fail(.invalidValue, "must list at least one host:port")
                servers = nil
            }
            for server in list where !Self.isHostPort(server) {
                place.fail(.invalidValue, "\"\(server)\" is not host:port (kafka-1:9092)")
                servers = nil
            }
        }
        let clientID = mapping["client_id"].flatMap { $0.string() }
        var entries: [(key: String, value: ConfigValue)] = []
        var producer: [String: String] = [:]
        if let producerValue = mapping["producer"], let pairs = producerValue.entries() {
            for (key, item) in pairs {
                guard let text = item.producerSettingValue() else { continue }
                switch key {
                case "bootstrap.servers", "client.id":
                    let own = key == "client.id" ? "kafka.client_id" : "kafka.bootstrap_servers"
                    item.fail(.contradiction, "set \(own) instead of \(key) under kafka.producer")
                    continue
                default:
                    var probe = KafkaProducerConfiguration(bootstrapServers: [])
                    do {
                        try probe.set(key, text)
                    } catch {
                        item.fail(.unknownSetting, Self.producerMessage(error, key: key))
                        continue
                    }
                }
                producer[key] = text
                entries.append((key, item))
            }
        }
        guard let servers else { return nil }
        var settings = KafkaSettings(bootstrapServers: servers)
        if let clientID { settings.clientID = clientID }
        settings.producer = producer
        return ReadKafka(settings: settings, value: value, producerEntries: entries)
    }

    static func isHostPort(_ text: String) -> Bool {
        guard let colon = text.lastIndex(of: ":"), colon != text.startIndex,
            let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port)
        else { return false }
        return !text[..<colon].contains(where: \.isWhitespace)
    }

    /// The engine's message for a rejected property, with a suggestion for a misspelled name.
    static func producerMessage(_ error: any Error, key: String) -> String {
        let message = (error as? KafkaProducerError)?.message ?? "\(error)"
        guard message.contains("Unknown") || message.contains("unknown") else { return message }
        let names = KafkaProducerConfiguration.propertyNames
        return message + KeySuggestion.hint(for: key, in: names.sorted())
    }

    // MARK: agent

    private func readAgent(_ value: ConfigValue) -> AgentSettings? {
        guard let mapping = value.mapping() else { return nil }
        mapping.finish(known: ["state_dir", "shutdown_timeout", "status_interval", "metrics_listen", "stall_timeout"])
        var agent = AgentSettings()
        if let dir = mapping["state_dir"], let text = dir.nonEmptyString() {
            if text.hasPrefix("/") {
                agent.stateDirectory = text
            } else {
                dir.fail(.invalidValue, "must be an absolute path")
            }
        }
        if let timeout = mapping["shutdown_timeout"]?.duration() {
            if timeout > .zero {
                agent.shutdownTimeout = timeout
            } else {
                mapping["shutdown_timeout"]?.fail(.invalidValue, "must be above 0")
            }
        }
        if let interval = mapping["status_interval"]?.duration() {
            if interval >= .milliseconds(100) {
                agent.statusInterval = interval
            } else {
                mapping["status_interval"]?.fail(.invalidValue, "must be at least 100ms")
            }
        }
        if let listen = mapping["metrics_listen"], let text = listen.nonEmptyString() {
            switch ListenAddress.parse(text) {
            case .success(let address): agent.metricsListen = address
            case .failure(let error): listen.fail(.invalidValue, error.message)
            }
        }
        if let timeout = mapping["stall_timeout"]?.duration() {
            if timeout >= .seconds(1) {
                agent.stallTimeout = timeout
            } else {
                mapping["stall_timeout"]?.fail(.invalidValue, "must be at least 1s")
            }
        }
        return agent
    }
}
