import Foundation
import KafkaWire
import NIOCore
import Testing

@Suite("CRC-32C")
struct CRC32CTests {
    struct Vector: CustomTestStringConvertible, Sendable {
        var source: String
        var input: [UInt8]
        var crc: UInt32
        var testDescription: String { "\(source) (\(input.count) bytes)" }
    }

    /// The CRC-32C groups of Tests/Vectors/test-vectors.json: Kafka's Crc32CTest,
    /// librdkafka's unit test, the standard check value and RFC 3720's iSCSI vectors.
    static func vectors() throws -> [Vector] {
        let groups = try TestSupport.knownAnswers()["crc32c"] as! [String: [String: Any]]
        return groups.sorted { $0.key < $1.key }.flatMap { name, group in
            (group["cases"] as! [[String: Any]]).map { row in
                let input: [UInt8] =
                    if let hex = row["input_hex"] as? String { Array(ByteBuffer(hex: hex).readableBytesView) } else {
                        Array((row["input"] as! String).utf8)
                    }
                let crc = UInt32((row["crc32c_hex"] as! String).dropFirst(2), radix: 16)!
                return Vector(source: name, input: input, crc: crc)
            }
        }
    }

    @Test func vectorsCoverTheUpstreamCases() throws {
        let vectors = try Self.vectors()
        #expect(vectors.count >= 8)
        #expect(vectors.contains { $0.crc == 0x2445_290F })  // Kafka Crc32CTest "Some String"
        #expect(vectors.contains { $0.crc == 0x7DCD_E113 })  // librdkafka unittest_rd_crc32c
    }

    @Test(arguments: try CRC32CTests.vectors())
    func knownAnswer(_ vector: Vector) {
        vector.input.withUnsafeBytes { bytes in
            #expect(CRC32C.checksum(bytes) == vector.crc)
            #expect(CRC32C.portableChecksum(bytes) == vector.crc)
            if let hardware = CRC32C.hardwareChecksum(bytes) {
                #expect(hardware == vector.crc)
            }
        }
    }

    @Test func continuationEqualsWholeAtEverySplitAndAlignment() {
        var generator = SystemRandomNumberGenerator()
        let data = (0..<301).map { _ in UInt8.random(in: 0...255, using: &generator) }
        data.withUnsafeBytes { all in
            for offset in 0..<9 {
                let part = UnsafeRawBufferPointer(rebasing: all[offset...])
                let whole = CRC32C.portableChecksum(part)
                #expect(CRC32C.checksum(part) == whole)
                for split in stride(from: 0, through: part.count, by: 7) {
                    let head = UnsafeRawBufferPointer(rebasing: part[..<split])
                    let tail = UnsafeRawBufferPointer(rebasing: part[split...])
                    #expect(CRC32C.checksum(tail, continuing: CRC32C.checksum(head)) == whole)
                    #expect(CRC32C.portableChecksum(tail, continuing: CRC32C.portableChecksum(head)) == whole)
                }
            }
        }
    }

    @Test func hardwarePathIsUsedWhereTheCPUHasIt() throws {
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        #if arch(x86_64)
            #expect(CRC32C.isHardwareAccelerated == cpuinfo.contains(" sse4_2"))
        #endif
    }
}
