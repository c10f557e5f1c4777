/// Finds one field of a JSON object in a line's bytes without building the object.
///
/// Log lines are scanned once per lookup and only as far as the field; values on the way are
/// skipped, not decoded. A string field gives its unescaped text, a number or Boolean its JSON
/// text; an object, an array, `null`, a missing field or a line that is not a JSON object give
/// nil.
public enum JSONFieldScanner {
    /// The value at `path` (`["user", "id"]` for `user.id`) in `bytes`.
    public static func value(at path: [String], in bytes: UnsafeRawBufferPointer) -> String? {
        var scanner = Scanner(bytes: bytes)
        var remaining = path[...]
        while let name = remaining.popFirst() {
            guard scanner.enterObject(), scanner.seekMember(named: Array(name.utf8)) else { return nil }
        }
        return scanner.scalarValue()
    }

    struct Scanner {
        let bytes: UnsafeRawBufferPointer
        var index = 0
        /// Nesting allowed while skipping, so a hostile line cannot exhaust the stack.
        static let maximumDepth = 64

        init(bytes: UnsafeRawBufferPointer) {
            self.bytes = bytes
        }

        mutating func skipWhitespace() {
            while index < bytes.count {
                switch bytes[index] {
                case 0x20, 0x09, 0x0A, 0x0D: index += 1
                default: return
                }
            }
        }

        mutating func enterObject() -> Bool {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "{") else { return false }
            index += 1
            return true
        }

        /// Inside an object: moves to the value of member `name`.
        mutating func seekMember(named name: [UInt8]) -> Bool {
            while true {
                skipWhitespace()
                guard index < bytes.count else { return false }
                if bytes[index] == UInt8(ascii: "}") { return false }
                if bytes[index] == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                guard let key = readString() else { return false }
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { return false }
                index += 1
                if key == name { return true }
                guard skipValue(depth: 0) else { return false }
            }
        }

        /// The value here, if it is a string, number or Boolean.
        mutating func scalarValue() -> String? {
            skipWhitespace()
            guard index < bytes.count else { return nil }
            switch bytes[index] {
            case UInt8(ascii: "\""):
                return readString().map { String(decoding: $0, as: UTF8.self) }
            case UInt8(ascii: "{"), UInt8(ascii: "["), UInt8(ascii: "n"):
                return nil
            default:
                let start = index
                guard skipValue(depth: 0), index > start else { return nil }
                return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
            }
        }

        /// Reads a string at the cursor, unescaped.
        mutating func readString() -> [UInt8]? {
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { return nil }
            index += 1
            var result: [UInt8] = []
            while index < bytes.count {
                let byte = bytes[index]
                index += 1
                switch byte {
                case UInt8(ascii: "\""):
                    return result
                case UInt8(ascii: "\\"):
                    guard index < bytes.count else { return nil }
                    let escape = bytes[index]
                    index += 1
                    switch escape {
                    case UInt8(ascii: "n"): result.append(0x0A)
                    case UInt8(ascii: "t"): result.append(0x09)
                    case UInt8(ascii: "r"): result.append(0x0D)
                    case UInt8(ascii: "b"): result.append(0x08)
                    case UInt8(ascii: "f"): result.append(0x0C)
                    case UInt8(ascii: "u"):
                        guard var scalar = readHex4() else { return nil }
                        if (0xD800..<0xDC00).contains(scalar), index + 1 < bytes.count,
                            bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u")
                        {
                            index += 2
                            guard let low = readHex4(), (0xDC00..<0xE000).contains(low) else { return nil }
                            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        }
                        let character = Unicode.Scalar(scalar) ?? "\u{FFFD}"
                        result.append(contentsOf: Array(String(character).utf8))
                    default: result.append(escape)
                    }
                default:
                    result.append(byte)
                }
            }
            return nil
        }

        private mutating func readHex4() -> UInt32? {
            guard index + 4 <= bytes.count else { return nil }
            var value: UInt32 = 0
            for _ in 0..<4 {
                let byte = bytes[index]
                let digit: UInt32
                switch byte {
                case 0x30...0x39: digit = UInt32(byte - 0x30)
                case 0x41...0x46: digit = UInt32(byte - 0x41 + 10)
                case 0x61...0x66: digit = UInt32(byte - 0x61 + 10)
                default: return nil
                }
                value = value << 4 | digit
                index += 1
            }
            return value
        }

        /// Moves past one value of any kind.
        mutating func skipValue(depth: Int) -> Bool {
            skipWhitespace()
            guard index < bytes.count, depth < Self.maximumDepth else { return false }
            switch bytes[index] {
            case UInt8(ascii: "\""):
                return readString() != nil
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                let close = bytes[index] == UInt8(ascii: "{") ? UInt8(ascii: "}") : UInt8(ascii: "]")
                let isObject = close == UInt8(ascii: "}")
                index += 1
                while true {
                    skipWhitespace()
                    guard index < bytes.count else { return false }
                    if bytes[index] == close {
                        index += 1
                        return true
                    }
                    if bytes[index] == UInt8(ascii: ",") {
                        index += 1
                        continue
                    }
                    if isObject {
                        guard readString() != nil else { return false }
                        skipWhitespace()
                        guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { return false }
                        index += 1
                    }
                    guard skipValue(depth: depth + 1) else { return false }
                }
            default:
                let start = index
                while index < bytes.count {
                    switch bytes[index] {
                    case UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]"), 0x20, 0x09, 0x0A, 0x0D:
                        return index > start
                    default: index += 1
                    }
                }
                return index > start
            }
        }
    }
}
