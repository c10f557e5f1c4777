/// What one drain of an inotify descriptor says, decoded from the kernel's `struct
/// inotify_event` records (a 16-byte header: watch, mask, cookie, name length; then the name,
/// NUL-padded). Pure, so the tests feed it bytes.
struct FileWatchChanges: Equatable, Sendable {
    /// Watches of files that were written, truncated, renamed, deleted or had their link count
    /// changed: the files to look at now.
    var files: Set<CInt> = []
    /// A name appeared, left or changed in a watched directory: the globs are matched again.
    var namesChanged = false
    /// The kernel dropped events (its queue was full): everything is looked at, as if there
    /// were no inotify.
    var overflowed = false
    /// Watches the kernel removed (their file or directory is gone).
    var removed: Set<CInt> = []

    static let headerSize = 16
    static let queueOverflow: UInt32 = 0x0000_4000
    static let ignored: UInt32 = 0x0000_8000
    static let isDirectory: UInt32 = 0x4000_0000
    /// IN_MOVED_FROM | IN_MOVED_TO | IN_CREATE | IN_DELETE, as reported by a directory's watch.
    static let nameEvents: UInt32 = 0x0000_0040 | 0x0000_0080 | 0x0000_0100 | 0x0000_0200
    /// IN_DELETE_SELF | IN_MOVE_SELF: a watched directory itself went away.
    static let selfEvents: UInt32 = 0x0000_0400 | 0x0000_0800

    /// Adds the events in `bytes` (whole records, as one read() returns them); `directories`
    /// tells directory watches from file watches. A truncated record ends the decoding.
    mutating func absorb(_ bytes: UnsafeRawBufferPointer, directories: Set<CInt>) {
        var offset = 0
        while offset + Self.headerSize <= bytes.count {
            let watch = bytes.loadUnaligned(fromByteOffset: offset, as: Int32.self)
            let mask = bytes.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self)
            let nameLength = Int(bytes.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self))
            guard offset + Self.headerSize + nameLength <= bytes.count else { return }
            offset += Self.headerSize + nameLength
            if mask & Self.queueOverflow != 0 {
                overflowed = true
                continue
            }
            if mask & Self.ignored != 0 {
                removed.insert(watch)
                if directories.contains(watch) { namesChanged = true }
                continue
            }
            if directories.contains(watch) {
                if mask & (Self.nameEvents | Self.selfEvents) != 0 { namesChanged = true }
            } else {
                files.insert(watch)
            }
        }
    }

    /// Whether there is anything to look at.
    var isEmpty: Bool { files.isEmpty && !namesChanged && !overflowed && removed.isEmpty }
}
