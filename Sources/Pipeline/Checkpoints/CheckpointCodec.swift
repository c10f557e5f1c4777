/// The checkpoint file's text form, versioned: a header line, then one line per file —
/// `device inode offset headLength headCRC tailLength tailCRC path` — with the path last and
/// percent-escaped, so any path fits on one line. A pure codec; `CheckpointStore` does the I/O.
///
/// ```
/// tributary-checkpoints 1
/// 2049 1835023 4096 1024 3735928559 256 305419896 /var/log/nginx/access.log
/// ```
public enum CheckpointCodec {
    public static let header = "tributary-checkpoints 1"

    /// Why a checkpoint file cannot be read.
    public struct DecodingError: Error, Sendable, Hashable, CustomStringConvertible {
        /// The 1-based line, 0 for the whole file.
        public var line: Int
        public var message: String
        public var description: String { line == 0 ? message : "line \(line): \(message)" }
    }

    public static func encode(_ checkpoints: [FileCheckpoint]) -> String {
        var text = header + "\n"
        for checkpoint in checkpoints.sorted(by: { ($0.path, $0.identity.inode) < ($1.path, $1.identity.inode) }) {
            let print =
                checkpoint.fingerprint
                ?? FileFingerprint(headLength: 0, headChecksum: 0, tailLength: 0, tailChecksum: 0)
            text += "\(checkpoint.identity.device) \(checkpoint.identity.inode) \(checkpoint.offset) "
            text += "\(print.headLength) \(print.headChecksum) \(print.tailLength) \(print.tailChecksum) "
            text += escape(checkpoint.path) + "\n"
        }
        return text
    }

    public static func decode(_ text: String) throws(DecodingError) -> [FileCheckpoint] {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        if lines.last == "" { lines.removeLast() }
        guard let first = lines.first else { throw DecodingError(line: 0, message: "the file is empty") }
        guard first == header else {
            if first.hasPrefix("tributary-checkpoints ") {
                throw DecodingError(line: 1, message: "version \(first.dropFirst(22)) is not one this agent reads (1)")
            }
            throw DecodingError(line: 1, message: "not a checkpoint file (no \"\(header)\" header)")
        }
        var result: [FileCheckpoint] = []
        for (index, line) in lines.enumerated().dropFirst() {
            let fields = line.split(separator: " ", maxSplits: 7, omittingEmptySubsequences: false)
            guard fields.count == 8,
                let device = UInt64(fields[0]), let inode = UInt64(fields[1]), let offset = Int64(fields[2]),
                offset >= 0, let headLength = Int(fields[3]), let headChecksum = UInt32(fields[4]),
                let tailLength = Int(fields[5]), let tailChecksum = UInt32(fields[6]),
                (0...FileFingerprint.headSize).contains(headLength),
                (0...FileFingerprint.tailSize).contains(tailLength),
                let path = unescape(fields[7]), !path.isEmpty
            else {
                throw DecodingError(line: index + 1, message: "malformed entry")
            }
            result.append(
                FileCheckpoint(
                    identity: FileIdentity(device: device, inode: inode), offset: offset,
                    fingerprint: FileFingerprint(
                        headLength: headLength, headChecksum: headChecksum, tailLength: tailLength,
                        tailChecksum: tailChecksum),
                    path: path))
        }
        return result
    }

    /// `%`, space, CR, LF and other control bytes as `%XX`.
    static func escape(_ text: String) -> String {
        var result: [UInt8] = []
        let hex = Array("0123456789ABCDEF".utf8)
        for byte in text.utf8 {
            if byte <= 0x20 || byte == 0x25 || byte == 0x7F {
                result += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
            } else {
                result.append(byte)
            }
        }
        return String(decoding: result, as: UTF8.self)
    }

    static func unescape(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8)[...]
        while let byte = iterator.popFirst() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.popFirst(), let low = iterator.popFirst(),
                let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16)
            else { return nil }
            bytes.append(value)
        }
        return String(validating: bytes, as: UTF8.self)
    }
}
