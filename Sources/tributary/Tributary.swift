import ArgumentParser

@main
struct Tributary: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tributary",
        abstract: "Ships records into Apache Kafka with a pure-Swift producer.",
        version: "0.1.0",
        subcommands: [ProduceCommand.self])
}
