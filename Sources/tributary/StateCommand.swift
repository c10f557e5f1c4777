import ArgumentParser
import Pipeline
import PipelineConfig

#if canImport(Glibc)
    import Glibc
#endif

/// `tributary state`: the file checkpoints, read-only — "did everything get shipped?".
struct StateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "state",
        abstract: "List the file checkpoints: how far each file is acknowledged by Kafka.",
        discussion: """
            For every file source of the pipeline: each file with a checkpoint, its identity \
            (device:inode), the acknowledged offset, the file's size now and the lag in bytes \
            (what is not acknowledged yet). A file whose path now names another file, or that \
            is gone, says so. Reads the state directory only; safe while the agent runs.
            """)

    @Option(name: [.short, .long], help: "The pipeline file.")
    var config: String = "/etc/tributary/pipeline.yaml"

    func run() throws {
        let configuration = try loadPipeline(config)
        let store = CheckpointStore(stateDirectory: configuration.agent.stateDirectory)
        var failed = false
        print("source\tfile\tidentity\tacknowledged\tsize\tlag")
        for source in configuration.sources {
            guard case .file = source.kind else { continue }
            let checkpoints: [FileCheckpoint]
            do {
                checkpoints = try store.load(source: source.name)
            } catch {
                printError("source \(source.name): \(error.description)")
                failed = true
                continue
            }
            for checkpoint in checkpoints.sorted(by: { $0.path < $1.path }) {
                var status = stat()
                let identity = "\(checkpoint.identity.device):\(checkpoint.identity.inode)"
                var size = "gone"
                var lag = "-"
                if stat(checkpoint.path, &status) == 0 {
                    if UInt64(status.st_dev) == checkpoint.identity.device
                        && UInt64(status.st_ino) == checkpoint.identity.inode
                    {
                        size = "\(status.st_size)"
                        lag = "\(max(0, Int64(status.st_size) - checkpoint.offset))"
                    } else {
                        size = "replaced"
                    }
                }
                print("\(source.name)\t\(checkpoint.path)\t\(identity)\t\(checkpoint.offset)\t\(size)\t\(lag)")
            }
        }
        if failed { throw ExitCode(1) }
    }
}
