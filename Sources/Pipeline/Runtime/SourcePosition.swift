/// Where a source has got to: the file (or socket) and the stream offset just past the last
/// record handed on. Every read's records carry one, so acknowledgements can be turned into
/// checkpoints.
public struct SourcePosition: Sendable, Hashable {
    /// The file or socket path; nil for stdin.
    public var path: String?
    /// The file's identity, when it is a file: device and inode.
    public var file: FileIdentity?
    public var offset: Int64
    /// For files: the content at `offset`, so a checkpoint of it can be verified later.
    public var fingerprint: FileFingerprint?

    public init(path: String?, file: FileIdentity? = nil, offset: Int64, fingerprint: FileFingerprint? = nil) {
        self.path = path
        self.file = file
        self.offset = offset
        self.fingerprint = fingerprint
    }
}

/// A file as the kernel knows it, which a rename does not change.
public struct FileIdentity: Sendable, Hashable {
    public var device: UInt64
    public var inode: UInt64

    public init(device: UInt64, inode: UInt64) {
        self.device = device
        self.inode = inode
    }
}
