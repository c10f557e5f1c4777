import ArgumentParser
import Pipeline
import PipelineConfig

/// `tributary validate`: checks a pipeline file as `run` would, without starting anything.
struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check a pipeline file without running it.",
        discussion: """
            Reads the file with the environment's variables, checks every key, value, regular \
            expression, template and producer setting, and the routes against the sources; then \
            what starting would meet on this machine (socket directories, files in a socket's \
            way, owners and groups). Prints one line per problem (file:line:column: key.path: \
            message) and exits 1, or prints a summary and exits 0. systemd's ExecStartPre= and \
            ExecReload= run it.
            """)

    @Option(name: [.short, .long], help: "The pipeline file.")
    var config: String = "/etc/tributary/pipeline.yaml"

    @Flag(name: .shortAndLong, help: "Print nothing when the file is valid.")
    var quiet = false

    func run() throws {
        let configuration = try loadPipeline(config)
        let problems = PipelinePreflight.problems(configuration)
        guard problems.isEmpty else {
            for problem in problems { printError("\(config): \(problem)") }
            throw ExitCode(1)
        }
        guard !quiet else { return }
        print("\(config): valid")
        for source in configuration.sources {
            print("  source \(source.name) (\(source.typeName))")
        }
        for route in configuration.routes {
            print("  route \(route.name): \(route.from.joined(separator: ", ")) → \(route.topic.text)")
        }
    }
}

/// Reads a pipeline file for a command, or prints every problem and exits 1.
func loadPipeline(_ path: String) throws -> PipelineConfiguration {
    do {
        return try PipelineConfiguration.load(path: path)
    } catch {
        printError(error.description)
        throw ExitCode(1)
    }
}

func printError(_ text: String) {
    var text = text + "\n"
    text.withUTF8 { bytes in _ = writeStandardError(bytes) }
}
