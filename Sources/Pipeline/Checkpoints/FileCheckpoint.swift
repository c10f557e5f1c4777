/// How far one file's records are acknowledged by Kafka: every record before `offset`, and all
/// records before them, are stored.
public struct FileCheckpoint: Sendable, Hashable {
    public var identity: FileIdentity
    /// The offset just past the last acknowledged record (where reading resumes).
    public var offset: Int64
    /// The file's content at the checkpoint, to tell it from another file that reuses the inode.
    public var fingerprint: FileFingerprint?
    /// The path the file had when it was last read (for `tributary state` and logs).
    public var path: String

    public init(identity: FileIdentity, offset: Int64, fingerprint: FileFingerprint?, path: String) {
        self.identity = identity
        self.offset = offset
        self.fingerprint = fingerprint
        self.path = path
    }
}
