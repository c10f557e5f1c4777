import Foundation
import Testing

@testable import Pipeline

@Suite("JSON field lookup")
struct JSONFieldScannerTests {
    static func lookup(_ path: String, _ line: String) -> String? {
        let parts = path.split(separator: ".").map(String.init)
        return Array(line.utf8).withUnsafeBytes { JSONFieldScanner.value(at: parts, in: $0) }
    }

    @Test func findsStringsNumbersAndBooleans() {
        let line = #"{"a": 1, "user": {"name": "x", "id": "u-17", "n": -2.5e3}, "ok": true, "z": "\u00e9\n\"q\""}"#
        #expect(Self.lookup("user.id", line) == "u-17")
        #expect(Self.lookup("a", line) == "1")
        #expect(Self.lookup("user.n", line) == "-2.5e3")
        #expect(Self.lookup("ok", line) == "true")
        #expect(Self.lookup("z", line) == "é\n\"q\"")
    }

    @Test func missingAndNonScalarValuesAreNotFound() {
        let line = #"{"a": {"b": [1, {"c": 2}]}, "n": null, "s": "x"}"#
        #expect(Self.lookup("a", line) == nil)
        #expect(Self.lookup("a.b", line) == nil)
        #expect(Self.lookup("n", line) == nil)
        #expect(Self.lookup("missing", line) == nil)
        #expect(Self.lookup("s.deeper", line) == nil)
        #expect(Self.lookup("a", "not json") == nil)
        #expect(Self.lookup("a", "[1, 2]") == nil)
        #expect(Self.lookup("a", #"{"a": "unterminated"#) == nil)
    }

    /// Skipping over nested values, escapes and surrogate pairs lands on the right member;
    /// checked against Foundation's JSON parser on generated objects.
    @Test func agreesWithFoundationOnGeneratedObjects() throws {
        var generator = SystemRandomNumberGenerator()
        let pieces: [Any] = [
            "plain", "quote \" and \\ backslash", "emoji 😀 and é", 42, -7.5, true, false, NSNull(),
            ["x": [1, 2, ["deep": "v"]]], [["a": 1], "b"],
        ]
        for round in 0..<300 {
            var object: [String: Any] = [:]
            for index in 0..<Int.random(in: 1...6, using: &generator) {
                object["k\(index)"] = pieces.randomElement(using: &generator)!
            }
            object["target"] = "value-\(round) \"ü\""
            var inner = object
            inner["id"] = round
            object["nested"] = inner
            let data = try JSONSerialization.data(withJSONObject: object)
            let line = String(decoding: data, as: UTF8.self)
            #expect(Self.lookup("target", line) == "value-\(round) \"ü\"")
            #expect(Self.lookup("nested.id", line) == "\(round)")
            #expect(Self.lookup("nested.target", line) == "value-\(round) \"ü\"")
        }
    }

    /// Deep nesting in a hostile line ends the lookup, not the process.
    @Test func deepNestingIsRefused() {
        let line =
            #"{"a": "# + String(repeating: "[", count: 100_000) + "1" + String(repeating: "]", count: 100_000)
            + #", "b": "x"}"#
        #expect(Self.lookup("b", line) == nil)
    }
}
