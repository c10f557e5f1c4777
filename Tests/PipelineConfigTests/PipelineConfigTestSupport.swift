import PipelineConfig

/// Parses pipeline text the way `load(path:)` does, with a fixed environment and host name.
func parse(
    _ text: String, environment: [String: String] = ["BROKER": "kafka-9:9092"], hostName: String = "web01"
) throws(PipelineConfigErrors) -> PipelineConfiguration {
    try PipelineConfiguration.parse(text, file: "pipeline.yaml", environment: environment, hostName: hostName)
}

/// The error lines for `text`, or [] when it is valid.
func errors(_ text: String, environment: [String: String] = [:]) -> [String] {
    do {
        _ = try parse(text, environment: environment)
        return []
    } catch {
        return error.errors.map(\.description)
    }
}

/// A valid minimal pipeline around a changed part.
enum Minimal {
    static let kafka = """
        kafka:
          bootstrap_servers: [127.0.0.1:9092]
        """
    static let sources = """
        sources:
          console:
            type: stdin
        """
    static let routes = """
        routes:
          - from: [console]
            topic: logs
        """
    static var all: String { [kafka, sources, routes].joined(separator: "\n") }
}
