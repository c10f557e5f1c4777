import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import PipelineConfig

#if canImport(Glibc)
    import Glibc
#endif

/// `type: file`: follows the files the globs match, reading each from where it was left.
///
/// Files are found by glob and read to their end. inotify says which files grew and when names
/// changed in the globs' directories, so an idle file costs nothing; every `glob_interval` (or
/// always, without inotify) every file is looked at and the globs matched again. A file replaced
/// under its path (rename rotation) is read to its end and the new one started at 0; a file that
/// shrank (copytruncate) is read again from 0; positions resume from checkpoints by identity and
/// fingerprint.
struct FileSource: RecordSource {
    let configuration: SourceConfiguration
    let settings: FileSourceSettings
    let reader: BlockingReader
    /// Where each file was left, kept across reloads so a restarted source neither skips nor
    /// repeats lines.
    let positions: FilePositions
    /// The acknowledged positions the state directory held at start, by file identity.
    let checkpoints: [FileIdentity: FileCheckpoint]
    let logger: Logger

    /// One open file.
    final class OpenFile {
        /// The name it was found under; for a rotated file, the name it has now.
        var path: String
        /// When it last grew (for files renamed away or deleted, which are read until quiet).
        var lastGrowth = ContinuousClock.now
        /// When it was found deleted.
        var deletedSince: ContinuousClock.Instant?
        let identity: FileIdentity
        let descriptor: CInt
        var framer: LineFramer
        var offset: Int64
        /// Joins continuation lines when the source has `multiline`.
        var multiline: MultilineAggregator?
        /// Where the framer's last complete line ended (what an open multi-line record's flush
        /// reaches).
        var framedEnd: Int64
        /// Its inotify watch; nil when it has none (it is then looked at every turn).
        var watch: CInt?
        var isWatchTried = false
        /// Looked at next turn whatever inotify says: just opened, or its last read found data
        /// (there may be more than one turn reads).
        var needsRead = true
        /// Its path names another file, but it is not read to its end yet.
        var isReplacementPending = false

        init(
            path: String, identity: FileIdentity, descriptor: CInt, framing: FramingSettings, offset: Int64,
            multiline: MultilineAggregator?
        ) {
            self.path = path
            self.identity = identity
            self.descriptor = descriptor
            self.framer = LineFramer(settings: framing, startOffset: offset)
            self.offset = offset
            self.multiline = multiline
            self.framedEnd = offset
        }

        deinit { close(descriptor) }
    }

    func run(into sink: SourceSink, stop: StopSignal, started: Completion) async throws -> Bool {
        sink.seedCheckpoints(Array(checkpoints.values))
        var open: [String: OpenFile] = [:]
        // Files renamed away from their glob or deleted: still read (their writer may not have
        // reopened its log yet) until quiet for rotate_wait, checkpointed under their new name.
        var rotated: [OpenFile] = []
        // Idle files closed to stay within max_open_files, by path: watched with a stat, reopened
        // (at their position, by identity) when they grow.
        var parked: [String: FileIdentity] = [:]
        let watcher = settings.usesInotify ? FileWatcher() : nil
        if settings.usesInotify && watcher == nil {
            logger.notice("inotify is not available; every open file is polled")
        }
        // File watches, to the files they are on (open, rotated or parked).
        var watched: [CInt: FileIdentity] = [:]
        var nextGlob = ContinuousClock.now
        // start_at applies to the files there at the agent's start; a source restarted by a
        // reload treats every file it does not know as new.
        var isFirstScan = positions.beginScanning(configuration.name)
        defer {
            sink.counters.filesOpen.store(0, ordering: .relaxed)
            sink.counters.filesDeletedOpen.store(0, ordering: .relaxed)
        }
        while !stop.isStopped {
            let changes = watcher?.drain() ?? FileWatchChanges()
            for watch in changes.removed { watched[watch] = nil }
            // The safety-net rescan (or, without inotify, the only one): the globs are matched
            // again and every file is looked at. Without inotify's word (none, or its queue
            // overflowed) every file is looked at every turn.
            let isRescan = ContinuousClock.now >= nextGlob || changes.overflowed
            let isSweep = isRescan || watcher == nil
            let namesChanged = isRescan || changes.namesChanged
            if namesChanged {
                for pattern in settings.include { watcher?.watch(directory: FileWatcher.fixedDirectory(of: pattern)) }
                discover(
                    into: &open, rotated: &rotated, parked: &parked, isFirstScan: isFirstScan, watcher: watcher,
                    sink: sink)
                if isFirstScan { resumeRotated(into: &rotated, open: open, sink: sink) }
                isFirstScan = false
                started.signal()
                if isRescan { nextGlob = ContinuousClock.now + settings.globInterval }
            }
            let dirty = Set(changes.files.compactMap { watched[$0] })
            var progressed = false
            unpark(&parked, into: &open, rotated: &rotated, only: isSweep || namesChanged ? nil : dirty, sink: sink)
            if let watcher {
                for file in Array(open.values) + rotated where !file.isWatchTried {
                    file.isWatchTried = true
                    file.watch = watcher.watch(openFile: file.descriptor)
                    if let watch = file.watch { watched[watch] = file.identity }
                }
            }
            for path in open.keys.sorted() {
                guard let file = open[path], !stop.isStopped else { continue }
                if isSweep || file.needsRead || file.watch == nil || dirty.contains(file.identity) {
                    file.needsRead = try await readAvailable(file, sink: sink, stop: stop)
                    if file.needsRead { progressed = true }
                }
                guard isSweep || namesChanged || file.isReplacementPending else { continue }
                if let replacement = replacementCheck(file, sink: sink) {
                    // The path names a new file: it is read from its start, while the old one
                    // goes on being read under its new name until it is quiet.
                    open[path] = replacement
                    rotated.append(file)
                    progressed = true
                }
            }
            for file in rotated where !stop.isStopped {
                if try await readAvailable(file, sink: sink, stop: stop) { progressed = true }
            }
            await retireRotated(&rotated, watcher: watcher, sink: sink)
            park(&open, into: &parked, rotated: rotated.count)
            sink.counters.filesOpen.store(open.count + rotated.count, ordering: .relaxed)
            sink.counters.filesDeletedOpen.store(
                rotated.count(where: { $0.deletedSince != nil }), ordering: .relaxed)
            let now = ContinuousClock.now
            if let timeout = settings.partialLineTimeout {
                for file in Array(open.values) + rotated
                where file.framer.pendingByteCount > 0 && now - file.lastGrowth >= timeout {
                    await sendPartialLine(file, sink: sink)
                }
            }
            for file in Array(open.values) + rotated where file.multiline?.isDue(now: now) == true {
                await flushMultiline(file, sink: sink)
            }
            if !progressed {
                try? await Task.sleep(for: min(settings.pollInterval, settings.multiline?.timeout ?? .seconds(3600)))
            }
        }
        return false
    }

    /// Reads a file to its current end (at most 64 reads per turn, so other files get theirs).
    private func readAvailable(_ file: OpenFile, sink: SourceSink, stop: StopSignal) async throws -> Bool {
        var progressed = false
        var status = stat()
        if fstat(file.descriptor, &status) == 0, Int64(status.st_size) < file.offset {
            logger.warning(
                "The file shrank; reading it again from the start (copytruncate?)",
                metadata: ["path": "\(file.path)", "size": "\(status.st_size)", "offset": "\(file.offset)"])
            await flushMultiline(file, sink: sink)
            lseek(file.descriptor, 0, SEEK_SET)
            file.offset = 0
            file.framedEnd = 0
            file.framer = LineFramer(settings: configuration.framing)
        }
        // An idle file costs this fstat, not a read on the thread pool.
        guard Int64(status.st_size) > file.offset else { return false }
        for _ in 0..<64 where !stop.isStopped {
            guard
                case .data(let chunk) = try await reader.read(file.descriptor, waitForData: false, pollInterval: .zero)
            else { break }
            progressed = true
            file.lastGrowth = .now
            file.offset += Int64(chunk.readableBytes)
            sink.counters.bytesRead.wrappingIncrement(by: chunk.readableBytes, ordering: .relaxed)
            var lines = file.framer.feed(chunk)
            file.framedEnd = lines.endOffset
            if file.multiline != nil { lines = file.multiline!.feed(lines) }
            await handOver(lines, of: file, to: sink)
        }
        return progressed
    }

    /// Gives a file's records to the sink, with their position and the content fingerprint there.
    /// The position is recorded before the hand-over: a successor started by a reload while this
    /// read still waits for room must begin after it, and this read is delivered regardless.
    private func handOver(_ lines: FramedLines, of file: OpenFile, to sink: SourceSink) async {
        positions.set(file.identity, lines.endOffset)
        let fingerprint = FileFingerprint.read(descriptor: file.descriptor, offset: lines.endOffset)
        await sink.accept(
            lines,
            position: SourcePosition(
                path: file.path, file: file.identity, offset: lines.endOffset, fingerprint: fingerprint))
    }

    /// Sends a file's last line, still without its newline, as a record (partial_line_timeout).
    private func sendPartialLine(_ file: OpenFile, sink: SourceSink) async {
        var lines = file.framer.finish()
        file.framedEnd = lines.endOffset
        if file.multiline != nil { lines = file.multiline!.feed(lines) }
        await handOver(lines, of: file, to: sink)
    }

    /// Sends a file's open multi-line record (its timeout passed, or the file is done).
    private func flushMultiline(_ file: OpenFile, sink: SourceSink) async {
        guard file.multiline?.hasPendingRecord == true else { return }
        let lines = file.multiline!.flush(endOffset: file.framedEnd)
        await handOver(lines, of: file, to: sink)
    }

    /// When the path now names another file (or none), the open one is done once read to its
    /// end: returns the new file to follow, opened at 0.
    private func replacementCheck(_ file: OpenFile, sink: SourceSink) -> OpenFile? {
        file.isReplacementPending = false
        var status = stat()
        guard stat(file.path, &status) == 0 else { return nil }
        let identity = FileIdentity(device: UInt64(status.st_dev), inode: UInt64(status.st_ino))
        guard identity != file.identity else { return nil }
        file.isReplacementPending = true
        var current = stat()
        guard fstat(file.descriptor, &current) == 0, Int64(current.st_size) <= file.offset else { return nil }
        file.isReplacementPending = false
        logger.info("The file was replaced; following the new one", metadata: ["path": "\(file.path)"])
        return openFile(file.path, startAtEnd: false, sink: sink)
    }

    /// Closes the longest-idle files until at most max_open_files are open (rotated ones count
    /// but are not parked: they are on their way out). A file holding half a line or an open
    /// multi-line record stays open.
    private func park(_ open: inout [String: OpenFile], into parked: inout [String: FileIdentity], rotated: Int) {
        let excess = open.count + rotated - settings.maxOpenFiles
        guard excess > 0 else { return }
        let idle = open.values.filter { $0.framer.pendingByteCount == 0 && $0.multiline?.hasPendingRecord != true }
            .sorted { $0.lastGrowth < $1.lastGrowth }
        for file in idle.prefix(excess) {
            open[file.path] = nil
            parked[file.path] = file.identity
        }
    }

    /// Reopens parked files that grew (or were replaced under their name), as far as
    /// max_open_files allows; the position comes back by identity. With `only`, just the files
    /// inotify named are looked at.
    private func unpark(
        _ parked: inout [String: FileIdentity], into open: inout [String: OpenFile], rotated: inout [OpenFile],
        only: Set<FileIdentity>?, sink: SourceSink
    ) {
        for (path, identity) in parked.sorted(by: { $0.key < $1.key }) where only?.contains(identity) ?? true {
            var status = stat()
            let exists = stat(path, &status) == 0
            let sameFile = exists && UInt64(status.st_dev) == identity.device && UInt64(status.st_ino) == identity.inode
            // Unchanged size: still idle. Grown, or shrunk (copytruncate): reopen.
            if sameFile, Int64(status.st_size) == (positions.get(identity) ?? 0) { continue }
            if sameFile && open.count + rotated.count >= settings.maxOpenFiles {
                // Make room: the longest-idle open file that is read to its end is parked.
                let evictable = open.values.filter { file in
                    var current = stat()
                    return file.framer.pendingByteCount == 0 && file.multiline?.hasPendingRecord != true
                        && fstat(file.descriptor, &current) == 0 && Int64(current.st_size) == file.offset
                }.min { $0.lastGrowth < $1.lastGrowth }
                guard let evicted = evictable else { continue }
                open[evicted.path] = nil
                parked[evicted.path] = evicted.identity
            }
            parked[path] = nil
            if sameFile {
                if let file = openFile(path, startAtEnd: false, sink: sink) { open[path] = file }
            } else if let moved = Self.find(identity, near: path),
                let file = openFile(moved, startAtEnd: false, sink: sink)
            {
                // Rotated while parked: finished under its new name; the glob finds the new file.
                rotated.append(file)
            }
        }
    }

    /// Closes rotated files that stayed quiet for rotate_wait (their open multi-line record
    /// sent), and deleted files held past deleted_hold_limit, counting what was not read.
    private func retireRotated(_ rotated: inout [OpenFile], watcher: FileWatcher?, sink: SourceSink) async {
        let now = ContinuousClock.now
        var kept: [OpenFile] = []
        for file in rotated {
            var status = stat()
            let isDeleted = fstat(file.descriptor, &status) == 0 && status.st_nlink == 0
            if isDeleted && file.deletedSince == nil { file.deletedSince = now }
            if !isDeleted, let current = Self.currentPath(of: file.descriptor) { file.path = current }
            let quiet = now - file.lastGrowth >= settings.rotateWait && Int64(status.st_size) <= file.offset
            let heldTooLong = file.deletedSince.map { now - $0 >= settings.deletedHoldLimit } ?? false
            guard quiet || heldTooLong else {
                kept.append(file)
                continue
            }
            await flushMultiline(file, sink: sink)
            if heldTooLong && !quiet {
                let unread = max(0, Int64(status.st_size) - file.offset)
                sink.counters.bytesLostDeleted.wrappingIncrement(by: Int(unread), ordering: .relaxed)
                logger.error(
                    "A deleted file was held open past deleted_hold_limit and is closed; what is written to it from now on is lost",
                    metadata: ["path": "\(file.path)", "unreadBytes": "\(unread)"])
            }
            if isDeleted {
                positions.remove(file.identity)
                sink.dropCheckpoint(file.identity)
            }
            if let watch = file.watch { watcher?.unwatch(watch) }
            logger.info("Closed a rotated file", metadata: ["path": "\(file.path)", "offset": "\(file.offset)"])
        }
        rotated = kept
    }

    /// At start: files with a checkpoint that the globs no longer match (renamed away by a
    /// rotation while the agent was stopped, or before their records were acknowledged) are read
    /// to their end from the checkpoint.
    private func resumeRotated(into rotated: inout [OpenFile], open: [String: OpenFile], sink: SourceSink) {
        let openIdentities = Set(open.values.map(\.identity))
        for checkpoint in checkpoints.values where !openIdentities.contains(checkpoint.identity) {
            // Under its checkpointed name, or renamed within its directory (logrotate's way).
            guard let path = Self.find(checkpoint.identity, near: checkpoint.path) else { continue }
            var status = stat()
            guard stat(path, &status) == 0, Int64(status.st_size) > checkpoint.offset,
                let file = openFile(path, startAtEnd: false, sink: sink), file.offset == checkpoint.offset
            else { continue }
            logger.info(
                "Reading the rest of a rotated file", metadata: ["path": "\(path)", "offset": "\(file.offset)"])
            rotated.append(file)
        }
    }

    /// The path of the regular file with `identity`: `path` itself, or a file in its directory.
    static func find(_ identity: FileIdentity, near path: String) -> String? {
        func matches(_ candidate: String) -> Bool {
            var status = stat()
            return stat(candidate, &status) == 0 && (status.st_mode & S_IFMT) == S_IFREG
                && UInt64(status.st_dev) == identity.device && UInt64(status.st_ino) == identity.inode
        }
        if matches(path) { return path }
        let directory = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
        return glob((directory.isEmpty ? "" : directory) + "/*").first(where: matches)
    }

    /// The name an open file has now (after renames), from /proc; nil once it is deleted.
    static func currentPath(of descriptor: CInt) -> String? {
        var buffer = [CChar](repeating: 0, count: 4097)
        let count = readlink("/proc/self/fd/\(descriptor)", &buffer, 4096)
        guard count > 0 else { return nil }
        let path = String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return path.hasSuffix(" (deleted)") || !path.hasPrefix("/") ? nil : path
    }

    private func discover(
        into open: inout [String: OpenFile], rotated: inout [OpenFile], parked: inout [String: FileIdentity],
        isFirstScan: Bool, watcher: FileWatcher?, sink: SourceSink
    ) {
        let matches = Set(settings.include.flatMap(Self.glob)).filter { !isExcluded($0) }
        if let watcher {
            // Matches under a wildcard directory: their directories are watched too.
            for directory in Set(matches.map(FileWatcher.parent)) { watcher.watch(directory: directory) }
        }
        for path in matches.sorted() where open[path] == nil && parked[path] == nil {
            // One file under two matching names (a rotated name, a link): read it once.
            var status = stat()
            guard stat(path, &status) == 0 else { continue }
            let identity = FileIdentity(device: UInt64(status.st_dev), inode: UInt64(status.st_ino))
            guard !open.values.contains(where: { $0.identity == identity }),
                !rotated.contains(where: { $0.identity == identity })
            else { continue }
            // Files present at start follow start_at; files that appear later are new, and
            // every line of theirs is wanted.
            let startAtEnd = isFirstScan && settings.startAt == .end
            if let file = openFile(path, startAtEnd: startAtEnd, sink: sink) {
                logger.info("Reading file", metadata: ["path": "\(path)", "offset": "\(file.offset)"])
                open[path] = file
            }
        }
        for path in open.keys where !matches.contains(path) {
            // Deleted or renamed away from the globs: read on as a rotated file until quiet
            // (retireRotated closes it, and forgets a deleted one's offset, whose inode a new
            // file may reuse).
            guard let file = open[path] else { continue }
            open[path] = nil
            rotated.append(file)
        }
    }

    private func openFile(_ path: String, startAtEnd: Bool, sink: SourceSink) -> OpenFile? {
        // O_NONBLOCK: a FIFO matched by a glob must not block the open (it is then refused as
        // not a regular file); on regular files the flag changes nothing.
        let descriptor = Glibc.open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard descriptor >= 0 else {
            logger.warning(
                "Cannot open file", metadata: ["path": "\(path)", "error": "\(String(cString: strerror(errno)))"])
            return nil
        }
        var status = stat()
        guard fstat(descriptor, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG else {
            close(descriptor)
            return nil
        }
        let identity = FileIdentity(device: UInt64(status.st_dev), inode: UInt64(status.st_ino))
        var offset: Int64 = startAtEnd ? Int64(status.st_size) : 0
        if let known = positions.get(identity), known <= Int64(status.st_size) {
            offset = known
        } else if let checkpoint = checkpoints[identity] {
            // Acknowledged before a restart: resume there, unless the content says the inode now
            // holds another file (or this one was truncated and rewritten meanwhile).
            if checkpoint.offset <= Int64(status.st_size),
                checkpoint.fingerprint?.matches(descriptor: descriptor, offset: checkpoint.offset) ?? true
            {
                offset = checkpoint.offset
            } else {
                logger.warning(
                    "The file does not hold what its checkpoint saw; reading it as a new file",
                    metadata: ["path": "\(path)", "checkpoint": "\(checkpoint.offset)", "size": "\(status.st_size)"])
                offset = 0
            }
        }
        positions.set(identity, offset)
        lseek(descriptor, off_t(offset), SEEK_SET)
        // Known from the moment it is opened: if it is renamed away and the agent restarts
        // before any of its records is acknowledged, the checkpoint still leads back to it.
        sink.noteOpened(
            FileCheckpoint(
                identity: identity, offset: offset,
                fingerprint: FileFingerprint.read(descriptor: descriptor, offset: offset), path: path))
        let multiline = settings.multiline.flatMap {
            try? MultilineAggregator(settings: $0, maxRecordBytes: configuration.framing.maxRecordBytes)
        }
        return OpenFile(
            path: path, identity: identity, descriptor: descriptor, framing: configuration.framing, offset: offset,
            multiline: multiline)
    }

    private func isExcluded(_ path: String) -> Bool {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        return settings.exclude.contains { pattern in
            fnmatch(pattern, pattern.contains("/") ? path : name, 0) == 0
        }
    }

    static func glob(_ pattern: String) -> [String] {
        var result = glob_t()
        defer { globfree(&result) }
        guard Glibc.glob(pattern, 0, nil, &result) == 0 else { return [] }
        return (0..<Int(result.gl_pathc)).compactMap { index in
            result.gl_pathv[index].map { String(cString: $0) }
        }
    }
}

/// Read positions by file identity, shared by the file sources of one agent run: a source
/// restarted by a reload resumes where its predecessor left each file.
final class FilePositions: Sendable {
    private let state = NIOLockedValueBox<(offsets: [FileIdentity: Int64], scanned: Set<String>)>(([:], []))

    func get(_ identity: FileIdentity) -> Int64? { state.withLockedValue { $0.offsets[identity] } }
    func set(_ identity: FileIdentity, _ offset: Int64) { state.withLockedValue { $0.offsets[identity] = offset } }
    func remove(_ identity: FileIdentity) { _ = state.withLockedValue { $0.offsets.removeValue(forKey: identity) } }

    /// Whether this is the first time a source of this name scans its globs in this run.
    func beginScanning(_ source: String) -> Bool { state.withLockedValue { $0.scanned.insert(source).inserted } }
}
