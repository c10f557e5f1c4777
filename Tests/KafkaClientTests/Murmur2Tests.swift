import NIOCore
import Testing

@testable import KafkaClient

@Suite("Murmur2 and CRC-32 against the known-answer vectors")
struct Murmur2Tests {
    @Test("every Kafka UtilsTest.testMurmur2 vector")
    func kafkaVectors() throws {
        let cases = try KnownAnswers.cases("murmur2_kafka")
        #expect(cases.count == 6)
        for entry in cases {
            let input = entry["input"] as! String
            let expected = Int32(entry["murmur2_int32"] as! Int)
            #expect(Murmur2.hash(ByteBuffer(utf8: input)) == expected, "murmur2(\(input))")
            #expect(UInt32(bitPattern: expected) == KnownAnswers.hex(entry["murmur2_hex"] as! String))
            #expect(Murmur2.hash(Array(input.utf8)) == expected)
        }
    }

    @Test("every librdkafka unittest_murmur2 vector, including unaligned tails and the empty key")
    func librdkafkaVectors() throws {
        let cases = try KnownAnswers.cases("murmur2_librdkafka")
        #expect(cases.count == 11)
        for entry in cases {
            let input = entry["input"] as! String
            let expected = KnownAnswers.hex(entry["murmur2_hex"] as! String)
            #expect(UInt32(bitPattern: Murmur2.hash(ByteBuffer(utf8: input))) == expected, "murmur2(\(input))")
            #expect(Murmur2.hash(ByteBuffer(utf8: input)) == Int32(entry["murmur2_int32"] as! Int))
        }
    }

    @Test("a buffer slice hashes only its readable bytes")
    func readableBytesOnly() {
        var buffer = ByteBuffer(string: "xxkafka")
        buffer.moveReaderIndex(forwardBy: 2)
        #expect(UInt32(bitPattern: Murmur2.hash(buffer)) == 0xd067_cf64)
    }

    @Test("Java partition-for-key table")
    func javaPartitionForKey() throws {
        let cases = try KnownAnswers.cases("java_partition_for_key")
        var checked = 0
        for entry in cases {
            let key = ByteBuffer(utf8: entry["key"] as! String)
            for (count, partition) in entry["partitions"] as! [String: Int] {
                #expect(
                    Murmur2.partition(forKey: key, partitionCount: Int32(count)!) == Int32(partition),
                    "key \(entry["key"]!) n=\(count)")
                checked += 1
            }
        }
        #expect(checked == 42)
    }

    @Test("toPositive clears the sign bit; it is not abs")
    func toPositive() {
        #expect(Murmur2.toPositive(Int32.min) == 0)
        #expect(Murmur2.toPositive(-1) == Int32.max)
        #expect(Murmur2.toPositive(42) == 42)
        #expect(Murmur2.toPositive(-973_932_308) == 0x45f2_f8ec)
    }

    @Test("librdkafka 0048 murmur2 constants are toPositive(murmur2(key))")
    func librdkafka0048Murmur2() throws {
        let section = try KnownAnswers.load()["librdkafka_partitioner_test_0048"] as! [String: Any]
        for (key, hex) in section["murmur2_positive"] as! [String: String] where key != "NULL" {
            #expect(UInt32(Murmur2.toPositive(Murmur2.hash(ByteBuffer(utf8: key)))) == KnownAnswers.hex(hex))
        }
    }

    @Test("every CRC-32 vector used by librdkafka's consistent partitioner")
    func crc32Vectors() throws {
        let cases = try KnownAnswers.cases("crc32_ieee_librdkafka_consistent")
        #expect(cases.count == 4)
        for entry in cases {
            let input = entry["input"] as! String
            #expect(
                CRC32.checksum(ByteBuffer(utf8: input)) == KnownAnswers.hex(entry["crc32_hex"] as! String),
                "crc32(\(input))")
        }
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xcbf4_3926)  // the standard check value
    }
}
