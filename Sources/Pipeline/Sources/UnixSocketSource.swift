import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import PipelineConfig

#if canImport(Glibc)
    import Glibc
#endif

/// `type: unix_socket`: a listening UNIX socket, stream or datagram, created with the configured
/// mode, owner and group (or handed over by systemd), removed again on exit.
///
/// Reads go through `NIOAsyncChannel`, whose inbound stream stops reading the socket while the
/// sink waits: a full producer buffer fills the kernel's socket buffers and then the writers
/// block, and nothing is dropped.
struct UnixSocketSource: RecordSource {
    let configuration: SourceConfiguration
    let settings: UnixSocketSourceSettings
    let group: any EventLoopGroup
    let reader: BlockingReader
    /// The descriptor systemd handed over for `systemd_socket`, if any.
    let activatedDescriptor: CInt?
    let logger: Logger

    var path: String { settings.path ?? "systemd:\(settings.systemdSocket ?? "")" }

    func run(into sink: SourceSink, stop: StopSignal, started: Completion) async throws -> Bool {
        let created = activatedDescriptor == nil ? settings.path : nil
        if let created { try prepare(created) }
        let ownSocket = SocketFile()
        // Only the socket this run created is removed: a successor started by a reload may
        // already have bound a new one at the same path.
        defer { if let created { ownSocket.removeIfStillOurs(created) } }
        switch settings.socketType {
        case .stream:
            try await runStream(sink: sink, stop: stop, started: started, created: created, ownSocket: ownSocket)
        case .datagram:
            try await runDatagram(sink: sink, stop: stop, started: started, created: created, ownSocket: ownSocket)
        }
        return false
    }

    // MARK: Stream

    private func runStream(
        sink: SourceSink, stop: StopSignal, started: Completion, created: String?, ownSocket: SocketFile
    ) async throws {
        let initializer: @Sendable (Channel) -> EventLoopFuture<StreamConnection> = { channel in
            // The credentials are the connecting process's, fixed at connect(2): read once here,
            // they serve every record of the connection.
            let credentials: EventLoopFuture<PeerCredentials.Raw?> =
                (channel as? any SocketOptionProvider).map { provider in
                    provider.unsafeGetSocketOption(level: SocketOptionLevel(SOL_SOCKET), name: SO_PEERCRED)
                        .map { Optional($0) }
                        .recover { _ in nil }
                } ?? channel.eventLoop.makeSucceededFuture(nil)
            return credentials.flatMapThrowing { credentials in
                StreamConnection(
                    channel: try NIOAsyncChannel<ByteBuffer, Never>(wrappingChannelSynchronously: channel),
                    peer: credentials.map { PeerCredentials(raw: $0) })
            }
        }
        let bootstrap = ServerBootstrap(group: group).serverChannelOption(.backlog, value: 128)
        let server: NIOAsyncChannel<StreamConnection, Never>
        if let descriptor = activatedDescriptor {
            server = try await bootstrap.bind(descriptor, childChannelInitializer: initializer)
        } else {
            server = try await bootstrap.bind(
                unixDomainSocketPath: settings.path!, childChannelInitializer: initializer)
            ownSocket.bound(created!)
            do {
                try applyOwnership(created!)
            } catch {
                try? await server.channel.close()
                throw error
            }
        }
        logger.info("Listening", metadata: ["path": "\(path)", "socket_type": "stream"])
        started.signal()
        let serverChannel = server.channel
        stop.onStop { serverChannel.close(promise: nil) }
        let framing = configuration.framing
        let path = self.path
        // Open connections, closed together at a stop; each leaves the set when it ends, so a
        // long-running agent does not accumulate one entry per connection it ever had.
        let open = OpenChannels(maxConnections: settings.maxConnections)
        let logger = self.logger
        let maxConnections = settings.maxConnections
        // At a stop, connections are read until they go quiet (what their writers sent before
        // the stop is taken), then closed.
        stop.onStop { Task { await open.closeWhenIdle(idle: .milliseconds(200), atMost: .seconds(1)) } }
        try await withThrowingDiscardingTaskGroup { group in
            try await server.executeThenClose { connections in
                for try await accepted in connections {
                    let connection = accepted.channel
                    let peer = accepted.peer
                    let channel = connection.channel
                    switch open.insert(channel) {
                    case .closing:
                        channel.close(promise: nil)
                        continue
                    case .refused(let startsBurst):
                        // Closed before anything is read: the writer sees its connection end.
                        channel.close(promise: nil)
                        if startsBurst {
                            logger.warning(
                                "Refusing connections: max_connections are open",
                                metadata: ["path": "\(path)", "max_connections": "\(maxConnections)"])
                        }
                        continue
                    case .kept(let endedBurst):
                        if let endedBurst {
                            logger.warning(
                                "Refused connections while max_connections were open",
                                metadata: [
                                    "path": "\(path)", "max_connections": "\(maxConnections)",
                                    "refused": "\(endedBurst)",
                                ])
                        }
                    }
                    group.addTask {
                        defer { open.remove(channel) }
                        var framer = LineFramer(settings: framing)
                        do {
                            try await connection.executeThenClose { inbound, _ in
                                for try await chunk in inbound {
                                    open.touch(channel)
                                    sink.counters.bytesRead.wrappingIncrement(
                                        by: chunk.readableBytes, ordering: .relaxed)
                                    let lines = framer.feed(chunk)
                                    await sink.accept(
                                        lines, position: SourcePosition(path: path, offset: lines.endOffset),
                                        peer: peer)
                                }
                            }
                        } catch {
                            // A writer that resets the connection ends only its own stream.
                        }
                        if stop.isStopped {
                            // The agent closed the connection: an unfinished line is a fragment.
                            if framer.pendingByteCount > 0 { sink.dropPartialLine(bytes: framer.pendingByteCount) }
                        } else {
                            // The writer closed it: its last line ends there.
                            let rest = framer.finish()
                            await sink.accept(
                                rest, position: SourcePosition(path: path, offset: rest.endOffset), peer: peer)
                        }
                    }
                }
            }
        }
        // A burst still going at the stop was never counted by a connection kept after it.
        if let refused = open.refusedInBurst {
            logger.warning(
                "Refused connections while max_connections were open",
                metadata: ["path": "\(path)", "max_connections": "\(maxConnections)", "refused": "\(refused)"])
        }
    }

    // MARK: Datagram

    /// Datagrams are read with recv(2) on the reader's thread pool rather than NIO, whose
    /// datagram channel cannot take the unnamed peer addresses of typical writers (logger(1),
    /// syslog(3)). One datagram is one read; MSG_TRUNC tells its full length, so an over-long
    /// one is counted even when the kernel cut it.
    private func runDatagram(
        sink: SourceSink, stop: StopSignal, started: Completion, created: String?, ownSocket: SocketFile
    ) async throws {
        let descriptor: CInt
        if let activated = activatedDescriptor {
            descriptor = activated
        } else {
            descriptor = try Self.bindDatagram(settings.path!, source: configuration.name)
            ownSocket.bound(created!)
        }
        defer { close(descriptor) }
        if activatedDescriptor == nil { try applyOwnership(created!) }
        logger.info("Listening", metadata: ["path": "\(path)", "socket_type": "datagram"])
        started.signal()
        let capacity = configuration.framing.maxRecordBytes + 1
        var offset: Int64 = 0
        // After a stop, what is already queued is still read, for up to a second.
        var drainUntil: ContinuousClock.Instant?
        while true {
            if stop.isStopped {
                drainUntil = drainUntil ?? ContinuousClock.now + .seconds(1)
                if ContinuousClock.now >= drainUntil! { break }
            }
            guard let (data, length) = try await reader.receive(descriptor, capacity: capacity) else {
                if stop.isStopped { break }
                continue
            }
            sink.counters.bytesRead.wrappingIncrement(by: length, ordering: .relaxed)
            var framer = LineFramer(settings: configuration.framing, startOffset: offset)
            var lines = framer.feed(data)
            let rest = framer.finish()
            if !rest.isEmpty {
                if !lines.isEmpty {
                    await sink.accept(lines, position: SourcePosition(path: path, offset: lines.endOffset))
                }
                lines = rest
            }
            // The kernel cut what did not fit; the framer only saw the first capacity bytes.
            if length > data.readableBytes && lines.oversizedLines == 0 { lines.oversizedLines = 1 }
            offset += Int64(length)
            lines.endOffset = offset
            await sink.accept(lines, position: SourcePosition(path: path, offset: offset))
        }
    }

    static func bindDatagram(_ path: String, source: String) throws -> CInt {
        let descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else {
            throw SourceError(source: source, "cannot create a datagram socket: \(String(cString: strerror(errno)))")
        }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            let bytes = Array(path.utf8.prefix(raw.count - 1))
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard result == 0 else {
            let reason = String(cString: strerror(errno))
            close(descriptor)
            throw SourceError(source: source, "cannot bind \(path): \(reason)")
        }
        return descriptor
    }

    // MARK: The socket file

    /// Removes a stale socket left by an earlier run; refuses to replace anything else.
    private func prepare(_ path: String) throws {
        var status = stat()
        guard lstat(path, &status) == 0 else { return }
        guard (status.st_mode & S_IFMT) == S_IFSOCK else {
            throw SourceError(source: configuration.name, "\(path) exists and is not a socket; refusing to replace it")
        }
        guard unlink(path) == 0 else {
            throw SourceError(
                source: configuration.name,
                "cannot remove the stale socket \(path): \(String(cString: strerror(errno)))")
        }
    }

    private func applyOwnership(_ path: String) throws {
        guard chmod(path, mode_t(settings.mode)) == 0 else {
            throw SourceError(
                source: configuration.name,
                "cannot set mode \(String(settings.mode, radix: 8)) on \(path): \(String(cString: strerror(errno)))")
        }
        guard settings.owner != nil || settings.group != nil else { return }
        let user: uid_t
        let groupID: gid_t
        do {
            user = try settings.owner.map(Self.userID) ?? uid_t.max
            groupID = try settings.group.map(Self.groupID) ?? gid_t.max
        } catch {
            throw SourceError(source: configuration.name, (error as? SourceError)?.message ?? "\(error)")
        }
        guard chown(path, user, groupID) == 0 else {
            throw SourceError(
                source: configuration.name,
                "cannot give \(path) to owner \(settings.owner ?? "-") group \(settings.group ?? "-"): \(String(cString: strerror(errno)))"
            )
        }
    }

    static func userID(_ name: String) throws -> uid_t {
        if let number = uid_t(name) { return number }
        guard let entry = getpwnam(name) else {
            throw SourceError(source: "", "owner \(name) is not a user of this machine")
        }
        return entry.pointee.pw_uid
    }

    static func groupID(_ name: String) throws -> gid_t {
        if let number = gid_t(name) { return number }
        guard let entry = getgrnam(name) else {
            throw SourceError(source: "", "group \(name) is not a group of this machine")
        }
        return entry.pointee.gr_gid
    }
}

/// An accepted stream connection and who opened it.
struct StreamConnection: Sendable {
    let channel: NIOAsyncChannel<ByteBuffer, Never>
    let peer: PeerCredentials?
}

/// The channels of a stream source's open connections, with when each last delivered data.
final class OpenChannels: Sendable {
    private struct Entry {
        var channel: any Channel
        var lastRead: ContinuousClock.Instant
    }

    private struct State {
        var closed = false
        var entries: [ObjectIdentifier: Entry] = [:]
        var limit: ConnectionLimit
    }

    enum Insertion: Equatable {
        case kept(endedBurst: Int?)
        /// Over `max_connections`; `startsBurst` for the first of a run of refusals.
        case refused(startsBurst: Bool)
        /// The set is closing for a stop.
        case closing
    }

    private let state: NIOLockedValueBox<State>

    init(maxConnections: Int = .max) {
        state = NIOLockedValueBox(State(limit: ConnectionLimit(maximum: maxConnections)))
    }

    /// Adds a channel unless the set is closing or full; the caller closes a channel not kept.
    func insert(_ channel: any Channel) -> Insertion {
        state.withLockedValue { state in
            guard !state.closed else { return .closing }
            switch state.limit.accepted() {
            case .refuse(let startsBurst):
                return .refused(startsBurst: startsBurst)
            case .keep(let endedBurst):
                state.entries[ObjectIdentifier(channel)] = Entry(channel: channel, lastRead: .now)
                return .kept(endedBurst: endedBurst)
            }
        }
    }

    func touch(_ channel: any Channel) {
        state.withLockedValue { $0.entries[ObjectIdentifier(channel)]?.lastRead = .now }
    }

    /// How many connections were refused since the last one kept; nil when none were.
    var refusedInBurst: Int? {
        state.withLockedValue { $0.limit.refusedInBurst > 0 ? $0.limit.refusedInBurst : nil }
    }

    /// Ends a kept channel's stay; its place under `max_connections` is free again.
    func remove(_ channel: any Channel) {
        state.withLockedValue { state in
            state.entries.removeValue(forKey: ObjectIdentifier(channel))
            state.limit.closed()
        }
    }

    /// Closes each channel once nothing came on it for `idle`, and every one after `atMost`.
    func closeWhenIdle(idle: Duration, atMost: Duration) async {
        let deadline = ContinuousClock.now + atMost
        state.withLockedValue { $0.closed = true }
        while true {
            let now = ContinuousClock.now
            let (quiet, remaining) = state.withLockedValue { state -> ([any Channel], Int) in
                let quiet = state.entries.filter { now >= deadline || now - $0.value.lastRead >= idle }
                for key in quiet.keys { state.entries[key] = nil }
                return (quiet.values.map(\.channel), state.entries.count)
            }
            for channel in quiet { channel.close(promise: nil) }
            if remaining == 0 { return }
            try? await Task.sleep(for: .milliseconds(20))
        }
    }
}

/// The socket file one run created, known by its inode.
final class SocketFile: Sendable {
    private let inode = NIOLockedValueBox<UInt64?>(nil)

    func bound(_ path: String) {
        var status = stat()
        if lstat(path, &status) == 0 { inode.withLockedValue { $0 = UInt64(status.st_ino) } }
    }

    func removeIfStillOurs(_ path: String) {
        var status = stat()
        guard let ours = inode.withLockedValue({ $0 }), lstat(path, &status) == 0, UInt64(status.st_ino) == ours
        else { return }
        unlink(path)
    }
}
