import KafkaClient
import LibYAML

extension PipelineReader {
    struct ReadRoute {
        var configuration: RouteConfiguration
        var value: ConfigValue
        var mapping: ConfigMapping
        var topicConfiguration: KafkaTopicConfiguration?
    }

    static let routeKeys = ["name", "from", "topic", "fallback_topic", "key", "format", "headers", "producer"]

    func readRoutes(_ value: ConfigValue) -> [ReadRoute]? {
        guard let items = value.list() else { return nil }
        if items.isEmpty { value.fail(.missingField, "must define at least one route") }
        return items.enumerated().compactMap { readRoute(index: $0, $1) }
    }

    private func readRoute(index: Int, _ value: ConfigValue) -> ReadRoute? {
        guard let mapping = value.mapping() else { return nil }
        mapping.finish(known: Self.routeKeys)
        let name = mapping["name"]?.nonEmptyString() ?? "routes[\(index)]"
        let fromValue = mapping.required("from", hint: " (the sources this route takes records from)")
        let from = fromValue?.strings()
        if let from, from.isEmpty { fromValue?.fail(.invalidValue, "must name at least one source") }
        var topic: RecordTemplate?
        if let topicValue = mapping.required("topic"), let text = topicValue.nonEmptyString() {
            do {
                let template = try RecordTemplate(parsing: text)
                if let constant = template.constant {
                    if checkTopicName(constant, topicValue) { topic = template }
                } else {
                    topic = template
                }
            } catch {
                topicValue.fail(.badTemplate, error.message)
            }
        }
        var fallback: String?
        if let value = mapping["fallback_topic"], let text = value.string(), checkTopicName(text, value) {
            fallback = text
        }
        let key = mapping["key"].flatMap(readKey)
        let format = mapping["format"]?.choice(["raw": RouteConfiguration.Format.raw, "json": .json])
        var headers: [RouteConfiguration.Header] = []
        if let headersValue = mapping["headers"], let entries = headersValue.entries() {
            for (headerName, item) in entries {
                guard let text = item.string() else { continue }
                do {
                    headers.append(.init(name: headerName, value: try RecordTemplate(parsing: text)))
                } catch {
                    item.fail(.badTemplate, error.message)
                }
            }
        }
        var producer: [String: String] = [:]
        var topicConfiguration: KafkaTopicConfiguration?
        if let producerValue = mapping["producer"], let entries = producerValue.entries() {
            for (property, item) in entries {
                guard let text = item.string() else { continue }
                do {
                    _ = try KafkaTopicConfiguration(properties: [property: text])
                    producer[property] = text
                } catch {
                    let global = KafkaProducerConfiguration.propertyNames.contains(property)
                    if global {
                        item.fail(
                            .unknownSetting,
                            "\(property) is a producer-wide setting; set it under kafka.producer (a route may set "
                                + KafkaTopicConfiguration.propertyNames.sorted().joined(separator: ", ") + ")")
                    } else {
                        item.fail(.unknownSetting, Self.producerMessage(error, key: property))
                    }
                }
            }
            if producer.count == entries.count {
                do {
                    topicConfiguration = try KafkaTopicConfiguration(properties: producer)
                } catch {
                    producerValue.fail(.contradiction, Self.producerMessage(error, key: ""))
                }
            }
        }
        guard let from, let topic else { return nil }
        var route = RouteConfiguration(name: name, from: from, topic: topic)
        route.fallbackTopic = fallback
        route.key = key
        if let format { route.format = format }
        route.headers = headers
        route.producer = producer
        return ReadRoute(configuration: route, value: value, mapping: mapping, topicConfiguration: topicConfiguration)
    }
}
