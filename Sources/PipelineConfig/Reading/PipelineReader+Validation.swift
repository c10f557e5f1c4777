import KafkaClient
import LibYAML

extension PipelineReader {
    /// The checks that need more than one section: sources named by routes, sources that feed
    /// nothing, topics that need a fallback, settings that disagree between routes, and the
    /// producer's own `validate()` over the whole.
    func validate(
        _ configuration: PipelineConfiguration, kafka: ReadKafka,
        sources: (value: ConfigValue, items: [ReadSource]), routes: (value: ConfigValue, items: [ReadRoute])
    ) {
        let names = sources.items.map(\.configuration.name)
        var used: Set<String> = []
        var routeNames: [String: Int] = [:]
        for (index, route) in routes.items.enumerated() {
            let config = route.configuration
            if let earlier = routeNames.updateValue(index, forKey: config.name), route.mapping["name"] != nil {
                route.mapping["name"]?.fail(.duplicateKey, "route name \"\(config.name)\" is also routes[\(earlier)]'s")
            }
            if let fromValue = route.mapping["from"] {
                for source in config.from {
                    if names.contains(source) {
                        used.insert(source)
                    } else {
                        fromValue.fail(
                            .invalidValue,
                            "no source is named \"\(source)\"" + KeySuggestion.hint(for: source, in: names)
                                + " (sources: \(names.joined(separator: ", ")))")
                    }
                }
            }
            if let topicValue = route.mapping["topic"] {
                let unfit = config.topic.fields.filter { !$0.fitsTopicNames }
                if !unfit.isEmpty {
                    topicValue.fail(
                        .contradiction,
                        "a topic name cannot hold \(unfit.map { "{{ \($0) }}" }.joined(separator: ", ")) (it has characters Kafka refuses in topic names); use source, host or json fields"
                    )
                    continue
                }
                let missable = config.topic.fields.filter { !$0.isAlwaysPresent }
                if !missable.isEmpty && config.fallbackTopic == nil {
                    topicValue.fail(
                        .contradiction,
                        "the topic uses \(missable.map { "{{ \($0) }}" }.joined(separator: ", ")), which a record may lack; "
                            + "set fallback_topic for those records")
                }
                if config.topic.constant == nil && !config.producer.isEmpty {
                    route.mapping["producer"]?.fail(
                        .contradiction,
                        "per-route producer settings need a fixed topic; a templated topic (\(config.topic.text)) "
                            + "takes kafka.producer's settings")
                }
            }
            if config.fallbackTopic != nil && config.topic.constant != nil {
                route.mapping["fallback_topic"]?.fail(
                    .contradiction, "fallback_topic applies only when topic is a template with {{ fields }}")
            }
        }
        for source in sources.items where !used.contains(source.configuration.name) {
            source.value.fail(
                .contradiction, "source \"\(source.configuration.name)\" feeds no route (name it in a route's from)")
        }
        checkPeerFields(routes.items, sources: sources.items)
        checkSourceConflicts(sources.items)
        let topics = checkTopicSettings(routes.items)
        checkProducer(configuration, kafka: kafka, topics: topics, sources: sources.items)
    }

    /// A route's key and headers may use the peer fields only when every source it takes
    /// records from has them.
    private func checkPeerFields(_ routes: [ReadRoute], sources: [ReadSource]) {
        let kinds = Dictionary(sources.map { ($0.configuration.name, $0.configuration.kind) }) { first, _ in first }
        for route in routes {
            var uses: [(place: ConfigValue, fields: [RecordField])] = []
            if case .template(let template) = route.configuration.key?.method, let place = route.mapping["key"] {
                uses.append((place, template.fields))
            }
            if let headersValue = route.mapping["headers"], !route.configuration.headers.isEmpty {
                uses.append((headersValue, route.configuration.headers.flatMap(\.value.fields)))
            }
            for use in uses where use.fields.contains(where: \.isPeerCredential) {
                for source in route.configuration.from {
                    guard let kind = kinds[source], let problem = Self.peerFieldProblem(use.fields, sourceKind: kind)
                    else { continue }
                    use.place.fail(.contradiction, "route takes records from \(source): " + problem)
                    break
                }
            }
        }
    }

    private func checkSourceConflicts(_ sources: [ReadSource]) {
        var stdin: String?
        var socketPaths: [String: String] = [:]
        for source in sources {
            let name = source.configuration.name
            switch source.configuration.kind {
            case .stdin:
                if let first = stdin {
                    source.value.fail(.contradiction, "sources \(first) and \(name) both read stdin; only one may")
                }
                stdin = stdin ?? name
            case .unixSocket(let settings):
                guard settings.systemdSocket == nil, let path = settings.path else { continue }
                if let first = socketPaths.updateValue(name, forKey: path) {
                    source.value.fail(.contradiction, "sources \(first) and \(name) both listen on \(path)")
                }
            case .file:
                continue
            }
        }
    }

    /// Routes that write one fixed topic must agree on its settings; returns each topic's.
    private func checkTopicSettings(_ routes: [ReadRoute]) -> [String: KafkaTopicConfiguration] {
        var topics: [String: (route: String, producer: [String: String], configuration: KafkaTopicConfiguration?)] = [:]
        for route in routes {
            guard let topic = route.configuration.topic.constant else { continue }
            let producer = route.configuration.producer
            if let earlier = topics[topic] {
                if earlier.producer != producer {
                    (route.mapping["producer"] ?? route.value).fail(
                        .contradiction,
                        "routes \(earlier.route) and \(route.configuration.name) both write topic \(topic) with different producer settings; a topic has one set"
                    )
                }
                continue
            }
            topics[topic] = (route.configuration.name, producer, route.topicConfiguration)
        }
        return topics.compactMapValues(\.configuration)
    }

    private func checkProducer(
        _ configuration: PipelineConfiguration, kafka: ReadKafka, topics: [String: KafkaTopicConfiguration],
        sources: [ReadSource]
    ) {
        let producer: KafkaProducerConfiguration
        do {
            producer = try configuration.kafka.producerConfiguration(topics: topics)
        } catch {
            let place =
                kafka.producerEntries.isEmpty ? kafka.value : (kafka.value.mapping()?["producer"] ?? kafka.value)
            place.fail(.contradiction, Self.producerMessage(error, key: ""))
            return
        }
        for source in sources where source.configuration.framing.maxRecordBytes >= producer.maxRequestSize {
            let place = source.value.mapping()?["max_record_bytes"] ?? source.value
            place.fail(
                .contradiction,
                "max_record_bytes (\(source.configuration.framing.maxRecordBytes)) must be below max.request.size (\(producer.maxRequestSize)), or records that long cannot be sent"
            )
        }
    }
}
