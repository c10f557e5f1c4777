import Foundation
import KafkaTestCluster
import NIOCore

/// `shared/kafka-protocol/test-vectors.json`, which lies beside the repository: the package
/// root is the nearest directory above this file holding Package.swift, and the pack is at
/// `<root>/../shared/kafka-protocol` (or `$TRIBUTARY_SHARED/kafka-protocol`).
enum SharedVectors {
    static let repositoryRoot: URL = try! KafkaTestCluster.repositoryRoot()

    static var directory: URL {
        if let path = ProcessInfo.processInfo.environment["TRIBUTARY_SHARED"] {
            return URL(fileURLWithPath: path).appendingPathComponent("kafka-protocol")
        }
        return repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared/kafka-protocol")
    }

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
