import Foundation
import KafkaWire
import NIOCore
import Testing

@testable import KafkaClient

@Suite("Serializers")
struct KafkaSerializerTests {
    struct LogLine: Codable, Equatable {
        var host: String
        var level: Int
        var message: String
    }

    @Test("strings are written as UTF-8")
    func string() throws {
        var buffer = ByteBuffer()
        KafkaStringSerializer().serialize("grüße ✓", into: &buffer)
        #expect(Array(buffer.readableBytesView) == Array("grüße ✓".utf8))
    }

    @Test("bytes and buffers pass through, appended after what the buffer holds")
    func bytes() {
        var buffer = ByteBuffer(string: "x")
        KafkaBytesSerializer().serialize([1, 2, 3], into: &buffer)
        var slice = ByteBuffer(bytes: [9, 9, 4, 5])
        slice.moveReaderIndex(forwardBy: 2)
        KafkaByteBufferSerializer().serialize(slice, into: &buffer)
        #expect(Array(buffer.readableBytesView) == [UInt8(ascii: "x"), 1, 2, 3, 4, 5])
    }

    @Test("JSON of a Codable value decodes back with JSONDecoder")
    func json() throws {
        let line = LogLine(host: "web-1", level: 3, message: "disk \"full\"")
        var buffer = ByteBuffer()
        try KafkaJSONSerializer<LogLine>().serialize(line, into: &buffer)
        let decoded = try JSONDecoder().decode(LogLine.self, from: Data(buffer.readableBytesView))
        #expect(decoded == line)

        let sorted = KafkaJSONSerializer<LogLine> {
            let encoder = JSONEncoder()
            encoder.outputFormatting = .sortedKeys
            return encoder
        }
        var sortedBuffer = ByteBuffer()
        try sorted.serialize(line, into: &sortedBuffer)
        #expect(sortedBuffer.getString(at: 0, length: 7) == "{\"host\"")
    }

    @Test("a JSON encoding failure is a serializationFailed error")
    func jsonFailure() {
        var buffer = ByteBuffer()
        #expect {
            try KafkaJSONSerializer<Double>().serialize(.nan, into: &buffer)
        } throws: { error in
            (error as? KafkaProducerError)?.code == .serializationFailed
        }
    }

    @Test("closures serialize")
    func closure() throws {
        let serializer = KafkaClosureSerializer<UInt32> { value, buffer in buffer.writeInteger(value) }
        var buffer = ByteBuffer()
        try serializer.serialize(0x0102_0304, into: &buffer)
        #expect(Array(buffer.readableBytesView) == [1, 2, 3, 4])
    }

    struct Boom: Error {}

    @Test("records from typed keys and values; nil stays null; failures name key or value")
    func record() throws {
        let record = try KafkaProducerRecord(
            topic: "logs", key: "host-1", keySerializer: KafkaStringSerializer(),
            value: LogLine(host: "h", level: 1, message: "m"), valueSerializer: KafkaJSONSerializer<LogLine>(),
            timestamp: 42)
        #expect(record.key == ByteBuffer(string: "host-1"))
        #expect(try JSONDecoder().decode(LogLine.self, from: Data(record.value!.readableBytesView)).message == "m")
        #expect(record.timestamp == 42)

        let tombstone = try KafkaProducerRecord(
            topic: "logs", key: nil, keySerializer: KafkaStringSerializer(), value: nil,
            valueSerializer: KafkaBytesSerializer())
        #expect(tombstone.key == nil && tombstone.value == nil)

        let failing = KafkaClosureSerializer<Int> { _, _ in throw Boom() }
        #expect {
            _ = try KafkaProducerRecord(
                topic: "logs", key: "k", keySerializer: KafkaStringSerializer(), value: 1, valueSerializer: failing)
        } throws: { error in
            guard let error = error as? KafkaProducerError else { return false }
            return error.code == .serializationFailed && error.message.contains("value")
                && error.message.contains("logs") && error.cause is Boom
        }
    }
}
