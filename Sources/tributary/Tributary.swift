import ArgumentParser

@main
struct Tributary: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tributary",
        abstract: "Ships records from files, UNIX sockets and stdin into Apache Kafka with a pure-Swift producer.",
        version: "0.2.0",
        subcommands: [
            RunCommand.self, ValidateCommand.self, DoctorCommand.self, StateCommand.self, ProduceCommand.self,
        ])
}
