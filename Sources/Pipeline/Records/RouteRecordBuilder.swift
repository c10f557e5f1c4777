import KafkaClient
import KafkaWire
import NIOCore
import PipelineConfig

/// One route compiled: turns a source's lines into the route's Kafka records.
struct RouteRecordBuilder: Sendable {
    let configuration: RouteConfiguration
    private let key: KeyExtractor
    private let headerNames: [String]

    init(_ configuration: RouteConfiguration, sourceKey: KeyExtraction?) throws {
        self.configuration = configuration
        self.key = try KeyExtractor(configuration.key ?? sourceKey)
        self.headerNames = configuration.headers.map(\.name)
    }

    var name: String { configuration.name }

    /// What building one record counted.
    struct Tally {
        var keyFailures = 0
        var deadLettered = 0
        var fallbackTopics = 0
    }

    /// The route's record for one line.
    func record(_ context: LineContext, tally: inout Tally) -> KafkaProducerRecord {
        var failed = false
        let outcome = key.extract(context, failed: &failed)
        if failed { tally.keyFailures += 1 }
        var topic: String
        let recordKey: ByteBuffer?
        switch outcome {
        case .key(let value):
            recordKey = value
            if let rendered = context.render(configuration.topic) {
                topic = rendered
            } else {
                tally.fallbackTopics += 1
                topic = configuration.fallbackTopic ?? ""
            }
        case .deadLetter(let deadLetterTopic):
            tally.deadLettered += 1
            recordKey = nil
            topic = deadLetterTopic
        }
        if !Self.isValidTopic(topic) {
            // A template rendered into something Kafka would refuse: the fallback takes it.
            tally.fallbackTopics += 1
            topic = configuration.fallbackTopic ?? topic
        }
        var headers: [KafkaRecordHeader] = []
        if !configuration.headers.isEmpty {
            headers.reserveCapacity(configuration.headers.count)
            for header in configuration.headers {
                guard let value = context.render(header.value) else { continue }
                headers.append(KafkaRecordHeader(key: header.name, value: ByteBuffer(string: value)))
            }
        }
        let value: ByteBuffer
        switch configuration.format {
        case .raw: value = context.lines.slice(context.line)
        case .json: value = Self.envelope(context)
        }
        return KafkaProducerRecord(
            topic: topic, key: recordKey, value: value, headers: headers, timestamp: context.timestamp)
    }

    /// `{"message":…,"source":…,"host":…,"path":…,"offset":…,"timestamp":…}`; `path` only
    /// when the record has one.
    static func envelope(_ context: LineContext) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(context.line.range.count + 128)
        buffer.writeStaticString("{\"message\":")
        context.lines.withBytes(of: context.line) { JSONWriter.writeString($0, into: &buffer) }
        buffer.writeStaticString(",\"source\":")
        JSONWriter.writeString(context.source, into: &buffer)
        buffer.writeStaticString(",\"host\":")
        JSONWriter.writeString(context.host, into: &buffer)
        if let path = context.path {
            buffer.writeStaticString(",\"path\":")
            JSONWriter.writeString(path, into: &buffer)
        }
        buffer.writeStaticString(",\"offset\":")
        buffer.writeString(String(context.line.offset))
        buffer.writeStaticString(",\"timestamp\":\"")
        buffer.writeString(context.timestampText)
        buffer.writeStaticString("\"}")
        return buffer
    }

    static func isValidTopic(_ topic: String) -> Bool {
        !topic.isEmpty && topic.utf8.count <= 249 && topic != "." && topic != ".."
            && topic.utf8.allSatisfy { byte in
                (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                    || byte == 0x5F || byte == 0x2D || byte == 0x2E
            }
    }
}
