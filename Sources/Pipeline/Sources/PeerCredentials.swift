#if canImport(Glibc)
    import Glibc
#endif

/// Who wrote to a stream UNIX socket connection, as the kernel recorded it when the writer
/// connected (SO_PEERCRED). Read once per connection; the texts are formatted then too, so
/// records that use the peer fields take them without a system call or a conversion.
public struct PeerCredentials: Sendable, Hashable {
    public var pid: Int32
    public var uid: UInt32
    public var gid: UInt32
    let pidText: String
    let uidText: String
    let gidText: String

    public init(pid: Int32, uid: UInt32, gid: UInt32) {
        self.pid = pid
        self.uid = uid
        self.gid = gid
        pidText = String(pid)
        uidText = String(uid)
        gidText = String(gid)
    }

    /// `struct ucred` as SO_PEERCRED fills it: pid, uid, gid, 32 bits each. Glibc declares the
    /// struct only under _GNU_SOURCE, which Swift's Glibc module is not built with; a
    /// homogeneous tuple has the same layout.
    typealias Raw = (UInt32, UInt32, UInt32)

    init(raw: Raw) {
        self.init(pid: Int32(bitPattern: raw.0), uid: raw.1, gid: raw.2)
    }
}
