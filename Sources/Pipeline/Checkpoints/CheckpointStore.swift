#if canImport(Glibc)
    import Glibc
#endif

/// The checkpoint files of a state directory: `<state_dir>/checkpoints/<source>.txt`, one per
/// file source, written atomically (a temporary file, fsync, rename, fsync of the directory),
/// so a crash leaves the old checkpoints or the new ones, never a torn file.
public struct CheckpointStore: Sendable {
    public let stateDirectory: String

    public init(stateDirectory: String) {
        self.stateDirectory = stateDirectory
    }

    public var directory: String { stateDirectory + "/checkpoints" }

    public func path(for source: String) -> String { "\(directory)/\(source).txt" }

    /// Why checkpoints could not be read or written.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var path: String
        public var message: String
        public var description: String { "\(path): \(message)" }
    }

    /// The source's checkpoints; none when it has no file yet.
    ///
    /// - Throws: `Failure` when the file cannot be read or is not a checkpoint file. The caller
    ///   decides what is safe (the agent moves it aside and reads its files from the start:
    ///   records may repeat, none are lost).
    public func load(source: String) throws(Failure) -> [FileCheckpoint] {
        let path = path(for: source)
        guard let file = fopen(path, "rb") else {
            if errno == ENOENT { return [] }
            throw Failure(path: path, message: "cannot read: \(String(cString: strerror(errno)))")
        }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = fread(&chunk, 1, chunk.count, file)
            bytes += chunk[0..<count]
            if count < chunk.count { break }
        }
        if ferror(file) != 0 { throw Failure(path: path, message: "cannot read: \(String(cString: strerror(errno)))") }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw Failure(path: path, message: "not a checkpoint file (not UTF-8)")
        }
        do {
            return try CheckpointCodec.decode(text)
        } catch {
            throw Failure(path: path, message: "corrupt: \(error.description)")
        }
    }

    /// Writes the source's checkpoints atomically.
    public func save(source: String, _ checkpoints: [FileCheckpoint]) throws(Failure) {
        try makeDirectories()
        let path = path(for: source)
        let temporary = path + ".tmp"
        let text = CheckpointCodec.encode(checkpoints)
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o640)
        guard descriptor >= 0 else { throw failure(temporary, "cannot create") }
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else {
                let error = failure(temporary, "cannot write")
                close(descriptor)
                throw error
            }
            bytes = bytes.dropFirst(written)
        }
        guard fsync(descriptor) == 0 else {
            let error = failure(temporary, "cannot fsync")
            close(descriptor)
            throw error
        }
        close(descriptor)
        guard rename(temporary, path) == 0 else { throw failure(path, "cannot rename \(temporary) to it") }
        let directoryDescriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directoryDescriptor >= 0 {
            _ = fsync(directoryDescriptor)
            close(directoryDescriptor)
        }
    }

    /// Moves an unreadable checkpoint file aside (kept for inspection), returning where.
    public func quarantine(source: String) -> String? {
        let path = path(for: source)
        var stamp = timespec()
        clock_gettime(CLOCK_REALTIME, &stamp)
        let aside = "\(path).corrupt-\(stamp.tv_sec)"
        return rename(path, aside) == 0 ? aside : nil
    }

    /// Creates the state and checkpoint directories (mode 0750) if they are missing.
    public func makeDirectories() throws(Failure) {
        for path in [stateDirectory, directory] {
            if mkdir(path, 0o750) != 0 && errno != EEXIST { throw failure(path, "cannot create the directory") }
        }
        guard access(directory, W_OK | X_OK) == 0 else { throw failure(directory, "cannot write in the directory") }
    }

    private func failure(_ path: String, _ what: String) -> Failure {
        Failure(path: path, message: "\(what): \(String(cString: strerror(errno)))")
    }
}
