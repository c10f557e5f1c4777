/// `sasl.jaas.config` as the Java client writes it, for the two login modules this client has:
///
///     org.apache.kafka.common.security.scram.ScramLoginModule required username="alice" password="…";
///
/// One entry: the module's class name, a control flag, `key=value` options (values quoted or
/// bare), a closing `;`. Error messages name positions and keys, never values: the text holds a
/// password.
struct JAASConfiguration: Sendable, Hashable {
    var loginModule: String
    var options: [String: String]

    static let controlFlags: Set<String> = ["required", "requisite", "sufficient", "optional"]

    static func parse(_ text: String) throws -> JAASConfiguration {
        var scanner = Scanner(text: Array(text.unicodeScalars))
        func fail(_ reason: String) -> KafkaProducerError {
            KafkaProducerError(
                .invalidConfiguration,
                "sasl.jaas.config: \(reason) (expected: <LoginModule> required username=\"…\" password=\"…\";)")
        }
        scanner.skipWhitespace()
        let module = scanner.word()
        guard !module.isEmpty else { throw fail("no login module class name") }
        scanner.skipWhitespace()
        let flag = scanner.word()
        guard controlFlags.contains(flag) else {
            throw fail(
                "the login module must be followed by a control flag (required, requisite, sufficient, optional)")
        }
        var options: [String: String] = [:]
        while true {
            scanner.skipWhitespace()
            guard let next = scanner.peek() else { throw fail("missing the closing ';'") }
            if next == ";" {
                scanner.advance()
                scanner.skipWhitespace()
                guard scanner.peek() == nil else { throw fail("only one login module entry is supported") }
                break
            }
            let key = scanner.word(stoppingAt: "=")
            guard !key.isEmpty else { throw fail("an option without a name at character \(scanner.position)") }
            scanner.skipWhitespace()
            guard scanner.peek() == "=" else { throw fail("option \(key) has no '='") }
            scanner.advance()
            scanner.skipWhitespace()
            let value: String
            if scanner.peek() == "\"" {
                scanner.advance()
                guard let quoted = scanner.quoted() else {
                    throw fail("the value of option \(key) is not closed by '\"'")
                }
                value = quoted
            } else {
                value = scanner.word(stoppingAt: ";")
                guard !value.isEmpty else { throw fail("option \(key) has no value") }
            }
            guard options[key] == nil else { throw fail("option \(key) is given twice") }
            options[key] = value
        }
        return JAASConfiguration(loginModule: module, options: options)
    }

    private struct Scanner {
        let text: [Unicode.Scalar]
        var position = 0

        func peek() -> Unicode.Scalar? { position < text.count ? text[position] : nil }
        mutating func advance() { position += 1 }

        mutating func skipWhitespace() {
            while let scalar = peek(), scalar.properties.isWhitespace { advance() }
        }

        /// Characters up to whitespace, `stop` or `;`.
        mutating func word(stoppingAt stop: Unicode.Scalar = ";") -> String {
            var result = String.UnicodeScalarView()
            while let scalar = peek(), !scalar.properties.isWhitespace, scalar != stop, scalar != ";" {
                result.append(scalar)
                advance()
            }
            return String(result)
        }

        /// The rest of a double-quoted value (the opening quote consumed); `\"` and `\\` escape.
        mutating func quoted() -> String? {
            var result = String.UnicodeScalarView()
            while let scalar = peek() {
                advance()
                if scalar == "\"" { return String(result) }
                if scalar == "\\", let escaped = peek() {
                    advance()
                    result.append(escaped)
                } else {
                    result.append(scalar)
                }
            }
            return nil
        }
    }
}
