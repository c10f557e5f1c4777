import KafkaWire

#if canImport(Glibc)
    import Glibc
#endif

/// What a checkpoint knows of a file's content besides its identity: CRC-32C of its first bytes
/// and of the bytes just before the checkpointed offset. A file whose inode was reused, or that
/// was truncated and rewritten while the agent was stopped, no longer matches, and is read as a
/// new file instead of being resumed in the middle of other data.
public struct FileFingerprint: Sendable, Hashable {
    /// How many bytes of the head are covered (fewer than `headSize` for a small file).
    public var headLength: Int
    public var headChecksum: UInt32
    /// How many bytes before the offset are covered.
    public var tailLength: Int
    public var tailChecksum: UInt32

    /// The head a fingerprint covers at most.
    public static let headSize = 1024
    /// The bytes before the offset a fingerprint covers at most.
    public static let tailSize = 256

    public init(headLength: Int, headChecksum: UInt32, tailLength: Int, tailChecksum: UInt32) {
        self.headLength = headLength
        self.headChecksum = headChecksum
        self.tailLength = tailLength
        self.tailChecksum = tailChecksum
    }

    /// The fingerprint of an open file for `offset`, read with pread(2) (the file position is
    /// not moved). Nil when the file is shorter than the bytes it should cover.
    public static func read(descriptor: CInt, offset: Int64, headLength: Int? = nil) -> FileFingerprint? {
        let head = headLength ?? Int(min(Int64(headSize), offset))
        let tail = Int(min(Int64(tailSize), offset))
        guard let headSum = checksum(descriptor, at: 0, count: head),
            let tailSum = checksum(descriptor, at: offset - Int64(tail), count: tail)
        else { return nil }
        return FileFingerprint(headLength: head, headChecksum: headSum, tailLength: tail, tailChecksum: tailSum)
    }

    /// Whether the open file still holds the bytes this fingerprint was taken of, `offset`
    /// being the offset it was taken at.
    public func matches(descriptor: CInt, offset: Int64) -> Bool {
        guard let head = Self.checksum(descriptor, at: 0, count: headLength),
            let tail = Self.checksum(descriptor, at: offset - Int64(tailLength), count: tailLength)
        else { return false }
        return head == headChecksum && tail == tailChecksum
    }

    static func checksum(_ descriptor: CInt, at offset: Int64, count: Int) -> UInt32? {
        guard offset >= 0 else { return nil }
        if count == 0 { return 0 }
        var buffer = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let read = buffer.withUnsafeMutableBytes {
                pread(descriptor, $0.baseAddress! + done, count - done, off_t(offset) + off_t(done))
            }
            if read < 0 && errno == EINTR { continue }
            guard read > 0 else { return nil }
            done += read
        }
        return buffer.withUnsafeBytes { CRC32C.checksum($0) }
    }
}
