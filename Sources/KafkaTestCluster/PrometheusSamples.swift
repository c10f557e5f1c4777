/// Samples of a Prometheus text exposition (format 0.0.4), parsed by the tests' own reader:
/// `name{label="value",…} number` lines; `#` lines are kept as each family's TYPE.
public struct PrometheusSamples: Sendable {
    public struct Sample: Sendable, Equatable {
        public var name: String
        public var labels: [String: String]
        public var value: Double
    }

    public private(set) var samples: [Sample] = []
    /// Family name → its `# TYPE` (counter, gauge, histogram, …).
    public private(set) var types: [String: String] = [:]

    public struct ParseError: Error, CustomStringConvertible {
        public var description: String
    }

    public init(parsing text: String) throws {
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: true).enumerated() {
            if line.hasPrefix("# TYPE ") {
                let parts = line.split(separator: " ")
                if parts.count == 4 { types[String(parts[2])] = String(parts[3]) }
                continue
            }
            if line.hasPrefix("#") { continue }
            samples.append(try Self.sample(Substring(line), line: number + 1))
        }
    }

    static func sample(_ line: Substring, line number: Int) throws -> Sample {
        func fail(_ why: String) -> ParseError { ParseError(description: "line \(number): \(why): \(line)") }
        var labels: [String: String] = [:]
        let name: Substring
        var rest: Substring
        if let brace = line.firstIndex(of: "{") {
            name = line[..<brace]
            rest = line[line.index(after: brace)...]
            while !rest.hasPrefix("}") {
                guard let equals = rest.firstIndex(of: "=") else { throw fail("a label without =") }
                let key = String(rest[..<equals])
                rest = rest[rest.index(after: equals)...]
                guard rest.hasPrefix("\"") else { throw fail("an unquoted label value") }
                rest = rest.dropFirst()
                var value = ""
                while let character = rest.first, character != "\"" {
                    rest = rest.dropFirst()
                    if character == "\\", let escaped = rest.first {
                        rest = rest.dropFirst()
                        value.append(escaped == "n" ? "\n" : escaped)
                    } else {
                        value.append(character)
                    }
                }
                guard rest.hasPrefix("\"") else { throw fail("an unterminated label value") }
                rest = rest.dropFirst()
                labels[key] = value
                if rest.hasPrefix(",") { rest = rest.dropFirst() }
            }
            rest = rest.dropFirst()
        } else {
            guard let space = line.firstIndex(of: " ") else { throw fail("no value") }
            name = line[..<space]
            rest = line[space...]
        }
        let fields = rest.split(separator: " ")
        guard let first = fields.first else { throw fail("no value") }
        let value: Double
        switch first {
        case "+Inf": value = .infinity
        case "-Inf": value = -.infinity
        case "NaN": value = .nan
        default:
            guard let number = Double(first) else { throw fail("not a number: \(first)") }
            value = number
        }
        return Sample(name: String(name), labels: labels, value: value)
    }

    /// The sum of the samples named `name` whose labels include `labels`.
    public func sum(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        let matching = samples.filter { sample in
            sample.name == name && labels.allSatisfy { sample.labels[$0.key] == $0.value }
        }
        return matching.isEmpty ? nil : matching.reduce(0) { $0 + $1.value }
    }
}
