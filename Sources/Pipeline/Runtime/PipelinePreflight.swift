import KafkaClient
import PipelineConfig

#if canImport(Glibc)
    import Glibc
#endif

/// The checks of a pipeline against this machine that `run` would fail on at start, so that
/// `validate` (systemd's ExecStartPre= and ExecReload=) finds them first: socket directories,
/// files in a socket's way, owners and groups, the TLS files of the producer settings.
public enum PipelinePreflight {
    /// One line per problem, naming the source; empty when the pipeline can start here.
    public static func problems(_ configuration: PipelineConfiguration) -> [String] {
        var problems: [String] = []
        if configuration.sources.contains(where: { if case .file = $0.kind { true } else { false } }) {
            // File sources keep checkpoints there; run creates it if its parent allows.
            let directory = configuration.agent.stateDirectory
            let parent = String(directory[..<(directory.lastIndex(of: "/") ?? directory.startIndex)])
            var status = stat()
            let existing = stat(directory, &status) == 0 ? directory : (parent.isEmpty ? "/" : parent)
            if stat(existing, &status) != 0 || (status.st_mode & S_IFMT) != S_IFDIR {
                problems.append("agent.state_dir: \(directory) cannot be created (\(existing) is not a directory)")
            } else if access(existing, W_OK | X_OK) != 0 {
                problems.append("agent.state_dir: no write permission in \(existing) (file checkpoints are kept there)")
            }
        }
        for source in configuration.sources {
            guard case .unixSocket(let settings) = source.kind, settings.systemdSocket == nil,
                let path = settings.path
            else { continue }
            let place = "source \(source.name)"
            let directory = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
            var status = stat()
            if stat(directory.isEmpty ? "/" : directory, &status) != 0 || (status.st_mode & S_IFMT) != S_IFDIR {
                problems.append("\(place): the directory of \(path) does not exist")
            } else if access(directory.isEmpty ? "/" : directory, W_OK | X_OK) != 0 {
                problems.append("\(place): cannot create \(path): no write permission in \(directory)")
            }
            if lstat(path, &status) == 0, (status.st_mode & S_IFMT) != S_IFSOCK {
                problems.append("\(place): \(path) exists and is not a socket; refusing to replace it")
            }
            if let owner = settings.owner, (try? UnixSocketSource.userID(owner)) == nil {
                problems.append("\(place): owner \(owner) is not a user of this machine")
            }
            if let group = settings.group, (try? UnixSocketSource.groupID(group)) == nil {
                problems.append("\(place): group \(group) is not a group of this machine")
            }
        }
        // The TLS files of kafka.producer: a missing CA bundle or a wrong key passphrase.
        if let producer = try? configuration.producerConfiguration() {
            do {
                try producer.checkSecurityMaterial()
            } catch let error as KafkaProducerError {
                problems.append("kafka.producer: \(error.message)")
            } catch {
                problems.append("kafka.producer: \(error)")
            }
        }
        return problems
    }
}
