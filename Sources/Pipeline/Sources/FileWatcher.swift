#if canImport(Glibc)
    import Glibc
#endif

/// The kernel's inotify for one file source: watches on the files it follows (by their open
/// descriptor, so a watch is on the file read and follows it through renames) and on the
/// directories its globs look in. Idle files then cost nothing between rescans; the source's
/// slow rescan (`glob_interval`) stays as the safety net for what inotify cannot see (network
/// file systems, a full watch table, symlinked directories).
///
/// Not thread-safe: owned by the source's read loop.
final class FileWatcher {
    private let descriptor: CInt
    /// Directory watches, by watch; and the directories watched, by path.
    private var directories: [CInt: String] = [:]
    private var directoryWatches: [String: CInt] = [:]
    private var buffer = [UInt8](repeating: 0, count: 65_536)

    /// Nil when inotify is not available (the source then polls every file).
    init?() {
        descriptor = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        if descriptor < 0 { return nil }
    }

    deinit { close(descriptor) }

    /// Watches the open file `fileDescriptor` for writes, truncation, renames and deletion. Nil
    /// when the kernel refuses (e.g. the watch limit, fs.inotify.max_user_watches): that file
    /// is then polled.
    func watch(openFile fileDescriptor: CInt) -> CInt? {
        let mask = UInt32(IN_MODIFY | IN_ATTRIB | IN_MOVE_SELF | IN_DELETE_SELF | IN_CLOSE_WRITE)
        let watch = inotify_add_watch(descriptor, "/proc/self/fd/\(fileDescriptor)", mask)
        return watch >= 0 ? watch : nil
    }

    /// Watches `path` for names appearing and leaving, or, while it does not exist, its nearest
    /// existing ancestor (whose change then leads to `path` being watched at the next rescan).
    /// Returns whether `path` itself is watched.
    @discardableResult
    func watch(directory path: String) -> Bool {
        var candidate = path.isEmpty ? "/" : path
        while true {
            if directoryWatches[candidate] != nil { return candidate == path }
            let mask = UInt32(
                IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)
            let watch = inotify_add_watch(descriptor, candidate, mask)
            if watch >= 0 {
                directories[watch] = candidate
                directoryWatches[candidate] = watch
                return candidate == path
            }
            let parent = Self.parent(of: candidate)
            guard errno == ENOENT || errno == ENOTDIR, parent != candidate else { return false }
            candidate = parent
        }
    }

    func unwatch(_ watch: CInt) {
        inotify_rm_watch(descriptor, watch)
    }

    /// Reads every event queued so far, without waiting.
    func drain() -> FileWatchChanges {
        var changes = FileWatchChanges()
        let directoryIDs = Set(directories.keys)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            buffer.withUnsafeBytes {
                changes.absorb(UnsafeRawBufferPointer(rebasing: $0[0..<count]), directories: directoryIDs)
            }
        }
        for watch in changes.removed {
            if let path = directories.removeValue(forKey: watch) { directoryWatches[path] = nil }
        }
        return changes
    }

    /// The directories a glob pattern's matches can appear in, as far as it is fixed: the part
    /// before the first component with a wildcard.
    static func fixedDirectory(of pattern: String) -> String {
        let components = pattern.split(separator: "/", omittingEmptySubsequences: false)
        var fixed: [Substring] = []
        for component in components.dropLast() {
            if component.contains(where: { "*?[".contains($0) }) { break }
            fixed.append(component)
        }
        let path = fixed.joined(separator: "/")
        return path.isEmpty ? (pattern.hasPrefix("/") ? "/" : ".") : path
    }

    static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}
