import Foundation
import KafkaTestCluster
import NIOCore

/// `Tests/Vectors/test-vectors.json`: known answers from Kafka's and librdkafka's own tests,
/// committed with their provenance (Tests/Vectors/test-vectors.md).
enum KnownAnswers {
    static let repositoryRoot: URL = try! KafkaTestCluster.repositoryRoot()

    static var directory: URL { repositoryRoot.appendingPathComponent("Tests/Vectors") }

    /// The whole file, parsed.
    static func load() throws -> [String: Any] {
        let url = directory.appendingPathComponent("test-vectors.json")
        return try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
    }

    /// The `cases` array of a section.
    static func cases(_ section: String) throws -> [[String: Any]] {
        let object = try load()[section] as! [String: Any]
        return object["cases"] as! [[String: Any]]
    }

    /// Parses "0x…" as an unsigned 32-bit number.
    static func hex(_ text: String) -> UInt32 {
        UInt32(text.dropFirst(2), radix: 16)!
    }
}

extension ByteBuffer {
    /// A buffer holding the UTF-8 bytes of `string`.
    init(utf8 string: String) {
        self.init(string: string)
    }
}
