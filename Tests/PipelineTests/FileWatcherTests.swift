import Foundation
import Testing

@testable import Pipeline

#if canImport(Glibc)
    import Glibc
#endif

@Suite("inotify")
struct FileWatcherTests {
    /// One `struct inotify_event` as the kernel lays it out (inotify(7)): int wd, uint32 mask,
    /// uint32 cookie, uint32 len, then len bytes of NUL-padded name.
    static func event(watch: Int32, mask: UInt32, name: String = "", padTo: Int = 16) -> [UInt8] {
        var bytes: [UInt8] = []
        func append<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
        let nameBytes = name.isEmpty ? [] : Array(name.utf8) + [UInt8](repeating: 0, count: padTo - name.utf8.count)
        append(watch)
        append(mask)
        append(UInt32(0))
        append(UInt32(nameBytes.count))
        return bytes + nameBytes
    }

    @Test func decodesTheKernelsRecords() {
        // Masks from <sys/inotify.h>: IN_MODIFY 0x2, IN_CREATE 0x100, IN_MOVED_TO 0x80,
        // IN_Q_OVERFLOW 0x4000, IN_IGNORED 0x8000, IN_ATTRIB 0x4, IN_ISDIR 0x40000000.
        let bytes =
            Self.event(watch: 3, mask: 0x2) + Self.event(watch: 1, mask: 0x100, name: "new.log")
            + Self.event(watch: 4, mask: 0x4) + Self.event(watch: 7, mask: 0x8000)
        var changes = FileWatchChanges()
        bytes.withUnsafeBytes { changes.absorb($0, directories: [1]) }
        #expect(changes.files == [3, 4])
        #expect(changes.namesChanged)
        #expect(!changes.overflowed)
        #expect(changes.removed == [7])

        var overflow = FileWatchChanges()
        Self.event(watch: -1, mask: 0x4000).withUnsafeBytes { overflow.absorb($0, directories: []) }
        #expect(overflow.overflowed && overflow.files.isEmpty)

        // A directory watch's own events other than names (none subscribed) leave names alone;
        // a subdirectory created counts as a name.
        var subdirectory = FileWatchChanges()
        Self.event(watch: 1, mask: 0x4000_0100, name: "d").withUnsafeBytes {
            subdirectory.absorb($0, directories: [1])
        }
        #expect(subdirectory.namesChanged && subdirectory.files.isEmpty)

        // A record cut short ends decoding without reading past the bytes.
        var cut = FileWatchChanges()
        let whole = Self.event(watch: 3, mask: 0x2)
        let partial = Array(Self.event(watch: 1, mask: 0x100, name: "x.log").prefix(20))
        (whole + partial).withUnsafeBytes { cut.absorb($0, directories: [1]) }
        #expect(cut.files == [3] && !cut.namesChanged)
    }

    @Test func fixedDirectoryIsThePartBeforeTheFirstWildcard() {
        #expect(FileWatcher.fixedDirectory(of: "/var/log/nginx/*.log") == "/var/log/nginx")
        #expect(FileWatcher.fixedDirectory(of: "/var/log/*/app.log") == "/var/log")
        #expect(FileWatcher.fixedDirectory(of: "/var/log/app.log") == "/var/log")
        #expect(FileWatcher.fixedDirectory(of: "/srv/[ab]pp/x.log") == "/srv")
        #expect(FileWatcher.fixedDirectory(of: "/*.log") == "/")
        #expect(FileWatcher.fixedDirectory(of: "logs/*.log") == "logs")
        #expect(FileWatcher.fixedDirectory(of: "*.log") == ".")
    }

    /// The real kernel: names in a watched directory, writes, renames and deletion of a watched
    /// open file, and a directory that does not exist yet.
    @Test func reportsWhatTheKernelSees() throws {
        let directory = "/tmp/trib-inotify-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let watcher = try #require(FileWatcher())
        #expect(watcher.watch(directory: directory))
        #expect(watcher.drain().isEmpty)

        let path = directory + "/app.log"
        _ = FileManager.default.createFile(atPath: path, contents: Data("one\n".utf8))
        #expect(watcher.drain().namesChanged)

        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        defer { close(descriptor) }
        let watch = try #require(watcher.watch(openFile: descriptor))
        #expect(watcher.drain().isEmpty, "watching is not a change")
        let handle = try #require(FileHandle(forWritingAtPath: path))
        handle.seekToEndOfFile()
        handle.write(Data("two\n".utf8))
        try handle.close()
        let written = watcher.drain()
        #expect(written.files == [watch] && !written.namesChanged)

        // Renamed: the file's watch follows it, and the directory reports the names.
        #expect(rename(path, path + ".1") == 0)
        let renamed = watcher.drain()
        #expect(renamed.files == [watch] && renamed.namesChanged)

        // Deleted while open: its link count changes (IN_ATTRIB).
        #expect(unlink(path + ".1") == 0)
        let deleted = watcher.drain()
        #expect(deleted.files.contains(watch) && deleted.namesChanged)

        // A directory that is not there yet: its parent is watched, and its creation shows.
        let later = directory + "/later/logs"
        #expect(!watcher.watch(directory: later))
        try FileManager.default.createDirectory(atPath: directory + "/later", withIntermediateDirectories: false)
        #expect(watcher.drain().namesChanged)
    }
}
