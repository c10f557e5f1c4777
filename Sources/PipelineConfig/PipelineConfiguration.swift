import LibYAML

#if canImport(Glibc)
    import Glibc
#endif

/// A pipeline file, read and checked: the Kafka cluster, the agent's settings, the sources and
/// the routes. Everything `tributary run` needs, and nothing it still has to check.
///
/// Reading is pure: the text, the environment and the host name go in, the configuration or
/// every problem with it (`PipelineConfigErrors`) comes out.
public struct PipelineConfiguration: Sendable, Hashable {
    /// `kafka`. Required.
    public var kafka: KafkaSettings
    /// `agent`. Default: `AgentSettings()`.
    public var agent = AgentSettings()
    /// `sources`, in file order. Required: at least one.
    public var sources: [SourceConfiguration]
    /// `routes`, in file order. Required: at least one.
    public var routes: [RouteConfiguration]

    public init(kafka: KafkaSettings, sources: [SourceConfiguration], routes: [RouteConfiguration]) {
        self.kafka = kafka
        self.sources = sources
        self.routes = routes
    }

    /// The routes that take records from `source`, in file order.
    public func routes(from source: String) -> [RouteConfiguration] {
        routes.filter { $0.from.contains(source) }
    }

    /// Reads and checks pipeline text.
    ///
    /// - Parameters:
    ///   - text: the file's contents.
    ///   - file: the name errors give for the file.
    ///   - environment: the variables `${VAR}` takes values from.
    ///   - hostName: what `${HOSTNAME}` means when `environment` does not set it.
    /// - Throws: `PipelineConfigErrors` listing every problem, each naming `file:line:column`
    ///   and its key path.
    public static func parse(
        _ text: String, file: String, environment: [String: String], hostName: String
    ) throws(PipelineConfigErrors) -> PipelineConfiguration {
        let root: YAMLNode?
        do {
            root = try YAMLParser.parse(text)
        } catch {
            throw PipelineConfigErrors([
                PipelineConfigError(
                    .syntax, "invalid YAML: \(error.description)", file: file, mark: error.mark, keyPath: "")
            ])
        }
        let diagnostics = ConfigDiagnostics(
            file: file, substitution: EnvironmentSubstitution(environment: environment, hostName: hostName))
        guard let root else {
            throw PipelineConfigErrors([
                PipelineConfigError(
                    .missingField, "the file is empty; it needs kafka, sources and routes", file: file, mark: nil,
                    keyPath: "")
            ])
        }
        let configuration = PipelineReader(diagnostics: diagnostics).read(
            ConfigValue(node: root, path: "", diagnostics: diagnostics))
        guard diagnostics.errors.isEmpty, let configuration else {
            throw PipelineConfigErrors(diagnostics.errors)
        }
        return configuration
    }

    /// Reads and checks a pipeline file, with the process's environment and host name.
    public static func load(path: String) throws(PipelineConfigErrors) -> PipelineConfiguration {
        let text: String
        do {
            text = try readFile(path)
        } catch {
            throw PipelineConfigErrors([
                PipelineConfigError(
                    .unreadable, "cannot read the file: \(error.reason)", file: path, mark: nil, keyPath: "")
            ])
        }
        return try parse(text, file: path, environment: processEnvironment(), hostName: machineHostName())
    }

    /// The process's environment variables.
    public static func processEnvironment() -> [String: String] {
        var result: [String: String] = [:]
        var entry = environ
        while let pointer = entry.pointee {
            let pair = String(cString: pointer)
            if let equals = pair.firstIndex(of: "=") {
                result[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
            }
            entry += 1
        }
        return result
    }

    /// gethostname(2), or `localhost` if it fails.
    public static func machineHostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        let name = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: name, as: UTF8.self)
    }

    struct ReadFailure: Error {
        var reason: String
    }

    private static func readFile(_ path: String) throws(ReadFailure) -> String {
        guard let file = fopen(path, "rb") else { throw ReadFailure(reason: String(cString: strerror(errno))) }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = fread(&chunk, 1, chunk.count, file)
            if count > 0 { bytes.append(contentsOf: chunk[0..<count]) }
            if count < chunk.count {
                if ferror(file) != 0 { throw ReadFailure(reason: String(cString: strerror(errno))) }
                break
            }
            guard bytes.count <= 16 << 20 else { throw ReadFailure(reason: "larger than 16 MiB") }
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw ReadFailure(reason: "not UTF-8 text")
        }
        return text
    }
}
