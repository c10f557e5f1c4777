import KafkaClient

/// One entry of `routes`: which sources go to which topic, how, and with which settings.
public struct RouteConfiguration: Sendable, Hashable {
    /// The record value's form.
    public enum Format: String, Sendable, Hashable {
        /// The line as read.
        case raw
        /// A JSON object: `message`, `source`, `host`, `path` (when there is one), `offset`,
        /// `timestamp`.
        case json
    }

    /// A header: a name and a template for its value.
    public struct Header: Sendable, Hashable {
        public var name: String
        public var value: RecordTemplate
    }

    /// `name`: how logs and metrics call the route. Default: `routes[N]` by position.
    public var name: String
    /// `from`: the names of the sources whose records this route takes, every one of them.
    /// Required.
    public var from: [String]
    /// `topic`: a topic name or a template (`logs-{{ source }}`). Required.
    public var topic: RecordTemplate
    /// `fallback_topic`: the topic for records whose template field is missing. Required when
    /// `topic` uses a field that can be missing (`path`, `json.…`).
    public var fallbackTopic: String?
    /// `key`: overrides the sources' `key`. Default: the source's, else a null key.
    public var key: KeyExtraction?
    /// `format`: `raw` or `json`. Default: `raw`.
    public var format: Format = .raw
    /// `headers`: Kafka record headers, name to template (`host: "${HOSTNAME}"`,
    /// `file: "{{ path }}"`). A header whose template field is missing is left out. Default: none.
    public var headers: [Header] = []
    /// `producer`: per-topic Java producer properties (`acks`, `compression.type`,
    /// `compression.<codec>.level`, `linger.ms`, `batch.size`, `partitioner`,
    /// `partitioner.ignore.keys`, `enable.idempotence`). Default: none (the `kafka.producer` ones).
    public var producer: [String: String] = [:]

    public init(name: String, from: [String], topic: RecordTemplate) {
        self.name = name
        self.from = from
        self.topic = topic
    }
}
