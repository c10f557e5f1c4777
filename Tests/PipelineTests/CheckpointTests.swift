import Foundation
import Testing

@testable import Pipeline

@Suite("checkpoints")
struct CheckpointTests {
    static func temporaryDirectory() throws -> String {
        let path = "/tmp/trib-ck-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test func codecRoundTripsAnyPath() throws {
        let checkpoints = [
            FileCheckpoint(
                identity: FileIdentity(device: 2049, inode: 77), offset: 4096,
                fingerprint: FileFingerprint(
                    headLength: 1024, headChecksum: 1, tailLength: 256, tailChecksum: 4_000_000_000),
                path: "/var/log/with space/100%\nnewline/é.log"),
            FileCheckpoint(
                identity: FileIdentity(device: 1, inode: 2), offset: 0,
                fingerprint: FileFingerprint(headLength: 0, headChecksum: 0, tailLength: 0, tailChecksum: 0), path: "/a"
            ),
        ]
        let text = CheckpointCodec.encode(checkpoints)
        #expect(text.split(separator: "\n").count == 3)
        #expect(text.hasPrefix("tributary-checkpoints 1\n1 2 0 0 0 0 0 /a\n"))
        #expect(text.hasSuffix("\n2049 77 4096 1024 1 256 4000000000 /var/log/with%20space/100%25%0Anewline/é.log\n"))
        #expect(Set(try CheckpointCodec.decode(text)) == Set(checkpoints))
    }

    @Test func decodingErrorsSayWhere() {
        func failure(_ text: String) -> String? {
            do {
                _ = try CheckpointCodec.decode(text)
                return nil
            } catch {
                return error.description
            }
        }
        #expect(failure("") == "the file is empty")
        #expect(failure("something else\n") == "line 1: not a checkpoint file (no \"tributary-checkpoints 1\" header)")
        #expect(failure("tributary-checkpoints 2\n") == "line 1: version 2 is not one this agent reads (1)")
        #expect(
            failure("tributary-checkpoints 1\n1 2 3 4 5 6 7 /ok\n1 2 -3 0 0 0 0 /negative\n")
                == "line 3: malformed entry")
        #expect(failure("tributary-checkpoints 1\n1 2 3 4 5 6\n") == "line 2: malformed entry")
    }

    @Test func storeWritesAtomicallyAndQuarantinesCorruptFiles() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = CheckpointStore(stateDirectory: directory + "/state")
        #expect(try store.load(source: "web").isEmpty)
        let checkpoint = FileCheckpoint(
            identity: FileIdentity(device: 1, inode: 2), offset: 10,
            fingerprint: FileFingerprint(headLength: 10, headChecksum: 3, tailLength: 10, tailChecksum: 3), path: "/x")
        try store.save(source: "web", [checkpoint])
        #expect(try store.load(source: "web") == [checkpoint])
        #expect(!FileManager.default.fileExists(atPath: store.path(for: "web") + ".tmp"))
        try "garbage".write(toFile: store.path(for: "web"), atomically: true, encoding: .utf8)
        #expect(throws: CheckpointStore.Failure.self) { try store.load(source: "web") }
        let aside = try #require(store.quarantine(source: "web"))
        #expect(FileManager.default.fileExists(atPath: aside) && aside.contains(".corrupt-"))
        #expect(try store.load(source: "web").isEmpty)
    }

    /// The fingerprint tells the same content from other content under the same inode.
    @Test func fingerprintsDetectRewrittenFiles() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/app.log"
        try (0..<100).map { "line \($0)\n" }.joined().write(toFile: path, atomically: false, encoding: .utf8)
        let descriptor = open(path, O_RDONLY)
        defer { close(descriptor) }
        let offset: Int64 = 500
        let print = try #require(FileFingerprint.read(descriptor: descriptor, offset: offset))
        #expect(print.headLength == 500 && print.tailLength == 256)
        #expect(print.matches(descriptor: descriptor, offset: offset))
        #expect(!print.matches(descriptor: descriptor, offset: offset + 1))
        // Rewritten in place with other lines of the same length: the inode stays, the bytes do not.
        try (0..<100).map { "LINE \($0)\n" }.joined().write(toFile: path, atomically: false, encoding: .utf8)
        #expect(!print.matches(descriptor: descriptor, offset: offset))
        // Truncated below the offset: no match either.
        ftruncate(descriptor, 10)
        let writable = open(path, O_WRONLY | O_TRUNC)
        close(writable)
        #expect(!print.matches(descriptor: descriptor, offset: offset))
    }

    /// A retriable failure holds its file's checkpoint at the last position before it, even
    /// when later records of the file are acknowledged.
    @Test func retriableFailuresBlockTheirFile() {
        var acknowledger = SourceAcknowledger<Int>()
        _ = acknowledger.register(count: 1, position: 10)
        _ = acknowledger.register(count: 1, position: 20)
        _ = acknowledger.register(count: 1, position: 30)
        acknowledger.acknowledge([0], failed: false)
        acknowledger.acknowledge([1], failed: true, retriable: true)
        acknowledger.acknowledge([2], failed: false)
        let completed = acknowledger.takeCompleted()
        #expect(completed.map(\.position) == [10, 20, 30])
        #expect(completed.map(\.isBlocked) == [false, true, false])
        #expect(acknowledger.takeCompleted().isEmpty)
    }
}
