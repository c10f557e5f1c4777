import Foundation
import KafkaWire
import NIOCore
import Testing

/// Kafka's ByteUtilsTest tables (Tests/Vectors/test-vectors.json).
@Suite("Varints")
struct VarintTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var value: Int64
        var hex: String
        var testDescription: String { "\(value) ↔ \(hex)" }
    }

    static func cases(_ group: String) throws -> [Case] {
        let table = try TestSupport.knownAnswers()[group] as! [String: Any]
        return (table["cases"] as! [[String: Any]]).map { row in
            Case(value: (row["value"] as! NSNumber).int64Value, hex: row["bytes_hex"] as! String)
        }
    }

    @Test(arguments: try VarintTests.cases("unsigned_varint32"))
    func unsignedVarint(_ c: Case) throws {
        let value = UInt32(bitPattern: Int32(c.value))
        var buffer = ByteBuffer()
        let written = buffer.writeUnsignedVarint(value)
        #expect(buffer.hex == c.hex)
        #expect(written == c.hex.count / 2)
        #expect(Varint.size(unsigned: value) == written)
        var input = ByteBuffer(hex: c.hex)
        #expect(try input.readUnsignedVarint() == value)
        #expect(input.readableBytes == 0)
    }

    @Test(arguments: try VarintTests.cases("signed_varint32_zigzag"))
    func signedVarint(_ c: Case) throws {
        let value = Int32(c.value)
        var buffer = ByteBuffer()
        let written = buffer.writeVarint(value)
        #expect(buffer.hex == c.hex)
        #expect(Varint.size(value) == written)
        var input = ByteBuffer(hex: c.hex)
        #expect(try input.readVarint() == value)
        #expect(input.readableBytes == 0)
    }

    @Test(arguments: try VarintTests.cases("signed_varlong64_zigzag"))
    func signedVarlong(_ c: Case) throws {
        var buffer = ByteBuffer()
        let written = buffer.writeVarlong(c.value)
        #expect(buffer.hex == c.hex)
        #expect(Varint.size(c.value) == written)
        var input = ByteBuffer(hex: c.hex)
        #expect(try input.readVarlong() == c.value)
        #expect(input.readableBytes == 0)
    }

    @Test(arguments: try VarintTests.cases("signed_varlong64_zigzag"))
    func everyStrictPrefixNeedsMoreBytes(_ c: Case) throws {
        let whole = ByteBuffer(hex: c.hex)
        for length in 0..<whole.readableBytes {
            var prefix = whole.getSlice(at: 0, length: length)!
            #expect(try prefix.readVarlong() == nil)
            #expect(prefix.readerIndex == 0, "the reader index must not move when more bytes are needed")
        }
    }

    @Test func overlongVarintsThrow() {
        var six = ByteBuffer(bytes: [0x80, 0x80, 0x80, 0x80, 0x80, 0x01])
        #expect(throws: KafkaWireError.self) { try six.readUnsignedVarint() }
        var fifthTooBig = ByteBuffer(bytes: [0xFF, 0xFF, 0xFF, 0xFF, 0x1F])
        #expect(throws: KafkaWireError.self) { try fifthTooBig.readVarint() }
        var eleven = ByteBuffer(bytes: Array(repeating: 0xFF, count: 10) + [0x01])
        #expect(throws: KafkaWireError.self) { try eleven.readVarlong() }
        var tenthTooBig = ByteBuffer(bytes: Array(repeating: 0xFF, count: 9) + [0x02])
        #expect(throws: KafkaWireError.self) { try tenthTooBig.readVarlong() }
    }

    @Test func messageReadersNameTheFieldWhenTruncated() {
        var buffer = ByteBuffer(bytes: [0x00, 0x05, 0x61])
        #expect {
            try buffer.readKafkaString(flexible: false, at: "Test .Name")
        } throws: { error in
            let error = error as! KafkaWireError
            return error.code == .truncated && error.location == "Test .Name"
        }
        var absurd = ByteBuffer(bytes: [0x7F, 0xFF, 0xFF, 0xFF, 0x00])
        #expect(throws: KafkaWireError.self) {
            try absurd.readKafkaArrayCount(flexible: false, minimumElementSize: 4, at: "Test .Items")
        }
    }
}
