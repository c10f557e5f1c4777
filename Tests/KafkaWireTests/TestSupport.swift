import Foundation
import KafkaTestCluster
import NIOCore

/// Paths, fixtures and the reference Python tools the wire tests compare against.
enum TestSupport {
    /// The package root (see `KafkaTestCluster.repositoryRoot`).
    static let repositoryRoot: URL = try! KafkaTestCluster.repositoryRoot()

    /// The known-answer vectors from Kafka's and librdkafka's own tests, committed in
    /// `Tests/Vectors` (provenance in its test-vectors.md).
    static var knownAnswerDirectory: URL { repositoryRoot.appendingPathComponent("Tests/Vectors") }

    /// Parses a JSON file from the repository's test vectors.
    static func vectors(_ name: String) throws -> Any {
        let url = repositoryRoot.appendingPathComponent("Tests/KafkaWireTests/Vectors").appendingPathComponent(name)
        return try JSONSerialization.jsonObject(with: Data(contentsOf: url))
    }

    /// Parses `Tests/Vectors/test-vectors.json`.
    static func knownAnswers() throws -> [String: Any] {
        let url = knownAnswerDirectory.appendingPathComponent("test-vectors.json")
        return try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
    }

    /// Runs a script from `scripts/` with the project's Python environment, feeding `input` on
    /// stdin, and returns its stdout. Throws if it exits non-zero.
    static func runPython(script: String, arguments: [String] = [], input: Data) throws -> Data {
        try ReferencePython.run(script: "scripts/" + script, arguments, input: input)
    }
}

struct TestSupportError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

extension ByteBuffer {
    /// A buffer holding the bytes of a hex string (whitespace ignored).
    init(hex: String) {
        let digits = Array(hex.filter { !$0.isWhitespace }.utf8)
        precondition(digits.count % 2 == 0, "odd-length hex string")
        func nibble(_ c: UInt8) -> UInt8 {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
            default: preconditionFailure("not a hex digit: \(c)")
            }
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        for i in stride(from: 0, to: digits.count, by: 2) {
            bytes.append(nibble(digits[i]) << 4 | nibble(digits[i + 1]))
        }
        self.init(bytes: bytes)
    }

    /// The readable bytes as lowercase hex.
    var hex: String {
        readableBytesView.map { byte in
            let s = String(byte, radix: 16)
            return s.count == 1 ? "0" + s : s
        }.joined()
    }

    /// The readable bytes as base64.
    var base64: String { Data(readableBytesView).base64EncodedString() }
}

/// Decodes optional base64 (JSON null → nil).
func base64Bytes(_ value: Any?) -> [UInt8]? {
    guard let string = value as? String else { return nil }
    return Array(Data(base64Encoded: string)!)
}
