#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

#if canImport(Glibc)
    import Glibc
#endif

extension ConfigValue {
    /// A producer setting's value: a string (with `${VAR}` expanded), or a reference that keeps a
    /// secret out of the file:
    ///
    ///     sasl.password: { file: /etc/tributary/kafka-password }   # the file's contents
    ///     sasl.password: { env: KAFKA_PASSWORD }                    # a variable's value
    ///
    /// A file's one trailing newline is dropped (`echo secret > file` writes one). Errors name the
    /// file or variable, never what it holds.
    func producerSettingValue() -> String? {
        guard case .mapping = node.content else { return string() }
        guard let mapping = mapping() else { return nil }
        mapping.finish(known: ["file", "env"])
        switch (mapping["file"], mapping["env"]) {
        case (let file?, nil):
            guard let path = file.nonEmptyString() else { return nil }
            guard path.hasPrefix("/") else {
                file.fail(.invalidValue, "must be an absolute path")
                return nil
            }
            return Self.readSecret(path, at: file)
        case (nil, let env?):
            guard let name = env.nonEmptyString() else { return nil }
            guard let value = diagnostics.substitution.environment[name] else {
                env.fail(.unsetVariable, "environment variable \(name) is not set")
                return nil
            }
            return value
        case (nil, nil):
            fail(.wrongType, "expected a string, { file: PATH } or { env: NAME }")
            return nil
        case (_?, _?):
            fail(.contradiction, "give either file or env, not both")
            return nil
        }
    }

    private static func readSecret(_ path: String, at place: ConfigValue) -> String? {
        guard let file = fopen(path, "r") else {
            place.fail(.invalidValue, "\(path) cannot be read: \(String(cString: strerror(errno)))")
            return nil
        }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = fread(&buffer, 1, buffer.count, file)
            bytes.append(contentsOf: buffer[0..<count])
            if count < buffer.count { break }
            if bytes.count > 1 << 20 {
                place.fail(.invalidValue, "\(path) is larger than 1 MiB; a secret file holds one value")
                return nil
            }
        }
        if ferror(file) != 0 {
            place.fail(.invalidValue, "\(path) cannot be read: \(String(cString: strerror(errno)))")
            return nil
        }
        if bytes.last == UInt8(ascii: "\n") { bytes.removeLast() }
        if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            place.fail(.invalidValue, "\(path) is not UTF-8 text")
            return nil
        }
        return text
    }
}
