/// `${VAR}` and `${VAR:-default}` in scalar values, as shells and docker-compose write them.
///
/// Substitution happens per scalar after parsing, not on the raw text: a value can then never
/// change the file's structure (a variable holding `"a: b"` stays one string), and every error
/// still points at the scalar it came from. `$${` is a literal `${`.
struct EnvironmentSubstitution: Sendable {
    /// The variables, usually the process environment.
    var environment: [String: String]
    /// What `${HOSTNAME}` means when the environment does not set it: shells and systemd do not
    /// export it, yet it is the variable people reach for in a log shipper's file.
    var hostName: String

    enum Failure: Error, Equatable {
        case unset(String)
        case malformed(String)
    }

    /// The text with every reference replaced.
    func expand(_ text: String) throws(Failure) -> String {
        guard text.contains("$") else { return text }
        var output = ""
        var rest = Substring(text)
        while let dollar = rest.firstIndex(of: "$") {
            output += rest[..<dollar]
            let after = rest[rest.index(after: dollar)...]
            if after.hasPrefix("${") {
                output += "${"
                rest = after.dropFirst(2)
                continue
            }
            guard after.hasPrefix("{") else {
                output += "$"
                rest = after
                continue
            }
            guard let close = after.firstIndex(of: "}") else {
                throw .malformed("\"${\" without a closing \"}\"")
            }
            let reference = after[after.index(after: after.startIndex)..<close]
            output += try value(of: reference)
            rest = after[after.index(after: close)...]
        }
        return output + rest
    }

    private func value(of reference: Substring) throws(Failure) -> String {
        let name: Substring
        let fallback: Substring?
        if let separator = reference.firstRange(of: ":-") {
            name = reference[..<separator.lowerBound]
            fallback = reference[separator.upperBound...]
        } else {
            name = reference
            fallback = nil
        }
        guard let first = name.first, first == "_" || first.isLetter,
            name.allSatisfy({ $0 == "_" || ($0.isASCII && ($0.isLetter || $0.isNumber)) })
        else {
            throw .malformed("\"${\(reference)}\" is not a variable reference (${NAME} or ${NAME:-default})")
        }
        if let value = environment[String(name)], !(value.isEmpty && fallback != nil) { return value }
        if let fallback { return String(fallback) }
        if name == "HOSTNAME" { return hostName }
        throw .unset(String(name))
    }
}
