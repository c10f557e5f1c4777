/// Compiles the regular expressions of a pipeline file, so bad ones are found by `validate`.
///
/// The syntax is Swift's `Regex` (Perl/PCRE-like: `\S`, `\d`, `(?<name>…)`, `(?i)`), which
/// covers what Filebeat's and Vector's users write.
enum RegexCheck {
    /// What is wrong with `pattern`, or nil when it compiles.
    static func problem(_ pattern: String) -> String? {
        do {
            _ = try Regex(pattern)
            return nil
        } catch {
            return "\(error)"
        }
    }

    /// The number of capture groups, counting `(` that open a group: not escaped, not in a
    /// character class, and not `(?:`, `(?=`, `(?!`, `(?<=`, `(?<!`, `(?>` or a flag group.
    static func captureCount(_ pattern: String) -> Int {
        let characters = Array(pattern)
        var count = 0
        var index = 0
        var inClass = false
        while index < characters.count {
            let character = characters[index]
            if character == "\\" {
                index += 2
                continue
            }
            if inClass {
                if character == "]" { inClass = false }
            } else if character == "[" {
                inClass = true
                if index + 1 < characters.count, characters[index + 1] == "]" { index += 1 }
            } else if character == "(" {
                if index + 1 < characters.count, characters[index + 1] == "?" {
                    let rest = String(characters[(index + 2)...].prefix(2))
                    if rest.hasPrefix("<") && !rest.hasPrefix("<=") && !rest.hasPrefix("<!") { count += 1 }
                    if rest.hasPrefix("P<") || rest.hasPrefix("'") { count += 1 }
                } else {
                    count += 1
                }
            }
            index += 1
        }
        return count
    }
}
