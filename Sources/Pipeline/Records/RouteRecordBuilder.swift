import KafkaClient
import KafkaWire
import NIOCore
import PipelineConfig

/// One route compiled: turns a source's lines into the route's Kafka records.
struct RouteRecordBuilder: Sendable {
    let configuration: RouteConfiguration
    private let key: KeyExtractor
    /// The topic when it does not depend on the record, already checked (or its fallback).
    private let fixedTopic: (name: String, isFallback: Bool)?
    /// Whether the route's records can go as one `KafkaRecordBlock` per read: raw lines, a
    /// fixed topic, no key or a constant one, headers that are the same for a whole read.
    private let isBlockShaped: Bool

    init(_ configuration: RouteConfiguration, sourceKey: KeyExtraction?) throws {
        self.configuration = configuration
        self.key = try KeyExtractor(configuration.key ?? sourceKey)
        if let topic = configuration.topic.constant {
            fixedTopic =
                Self.isValidTopic(topic)
                ? (topic, false) : (configuration.fallbackTopic.map { ($0, true) } ?? (topic, false))
        } else {
            fixedTopic = nil
        }
        // A read comes from one connection, so its peer is the same for all of its lines.
        let perReadFields: Set<RecordField> = [.source, .host, .path, .timestamp, .peerPID, .peerUID, .peerGID]
        isBlockShaped =
            fixedTopic != nil && configuration.format == .raw && key.isConstant
            && configuration.headers.allSatisfy { $0.value.fields.allSatisfy(perReadFields.contains) }
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
            if let fixedTopic {
                if fixedTopic.isFallback { tally.fallbackTopics += 1 }
                topic = fixedTopic.name
            } else if let rendered = context.render(configuration.topic) {
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
        if fixedTopic == nil && !Self.isValidTopic(topic) {
            // A template rendered into something Kafka would refuse: the fallback takes it.
            tally.fallbackTopics += 1
            topic = configuration.fallbackTopic ?? topic
        }
        let headers = self.headers(context)
        let value: ByteBuffer
        switch configuration.format {
        case .raw: value = context.lines.slice(context.line)
        case .json: value = Self.envelope(context)
        }
        return KafkaProducerRecord(
            topic: topic, key: recordKey, value: value, headers: headers, timestamp: context.timestamp)
    }

    private func headers(_ context: LineContext) -> [KafkaRecordHeader] {
        var headers: [KafkaRecordHeader] = []
        if !configuration.headers.isEmpty {
            headers.reserveCapacity(configuration.headers.count)
            for header in configuration.headers {
                guard let value = context.render(header.value) else { continue }
                headers.append(KafkaRecordHeader(key: header.name, value: ByteBuffer(string: value)))
            }
        }
        return headers
    }

    /// The route's records for `lines` of one read as a single block (ranges of the read's
    /// buffer, nothing allocated per record), or nil when the route needs a record per line
    /// (a key, topic or header that depends on the line, the JSON envelope).
    func block(_ context: LineContext, lines: [FramedLines.Line], tally: inout Tally) -> KafkaRecordBlock? {
        guard isBlockShaped, let fixedTopic else { return nil }
        var bytes = context.lines.bytes
        var keyRange: Range<Int>?
        var failed = false
        if case .key(let key?) = key.extract(context, failed: &failed) {
            let start = bytes.readableBytes
            bytes.writeImmutableBuffer(key)
            keyRange = start..<(start + key.readableBytes)
        }
        if fixedTopic.isFallback { tally.fallbackTopics += lines.count }
        var block = KafkaRecordBlock(
            topic: fixedTopic.name, headers: headers(context), timestamp: context.timestamp, bytes: bytes)
        block.records.reserveCapacity(lines.count)
        for line in lines { block.append(key: keyRange, value: line.range) }
        return block
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
