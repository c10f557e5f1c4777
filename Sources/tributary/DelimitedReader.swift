import NIOCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Reads a file descriptor in large chunks and cuts it into delimited records, handing out
/// ByteBuffer slices of the chunk: no allocation per record. A record split across two reads is
/// carried over into the next chunk.
struct DelimitedReader {
    let fileDescriptor: Int32
    let delimiter: [UInt8]
    let chunkSize: Int
    private var carry = ByteBuffer()
    private var isAtEnd = false

    init(fileDescriptor: Int32, delimiter: [UInt8], chunkSize: Int = 1 << 20) {
        precondition(!delimiter.isEmpty, "the delimiter must not be empty")
        self.fileDescriptor = fileDescriptor
        self.delimiter = delimiter
        self.chunkSize = chunkSize
    }

    /// The next chunk of input and the byte ranges of the complete records in it, in order;
    /// nil at the end of input. A last record without a trailing delimiter is returned too; a
    /// trailing delimiter does not make an empty last record. Ranges are offsets from the
    /// chunk's reader index.
    mutating func nextRecords() throws -> (bytes: ByteBuffer, records: [Range<Int>])? {
        while true {
            if isAtEnd {
                guard carry.readableBytes > 0 else { return nil }
                defer { carry = ByteBuffer() }
                return (carry, [0..<carry.readableBytes])
            }
            var chunk = ByteBufferAllocator().buffer(capacity: chunkSize + carry.readableBytes)
            chunk.writeBuffer(&carry)
            let n = try chunk.writeWithUnsafeMutableBytes(minimumWritableBytes: chunkSize) { buffer in
                while true {
                    let n = read(fileDescriptor, buffer.baseAddress, chunkSize)
                    if n >= 0 { return n }
                    if errno == EINTR { continue }
                    throw ReadError(errno: errno)
                }
            }
            if n == 0 { isAtEnd = true }
            let (records, consumed) = split(chunk)
            carry = chunk.getSlice(at: chunk.readerIndex + consumed, length: chunk.readableBytes - consumed)!
            if !records.isEmpty {
                return (chunk.getSlice(at: chunk.readerIndex, length: consumed)!, records)
            }
        }
    }

    /// The ranges of the complete records at the front of `chunk`, and how many bytes they
    /// (with their delimiters) take.
    private func split(_ chunk: ByteBuffer) -> ([Range<Int>], Int) {
        let delimiter = self.delimiter
        return chunk.withUnsafeReadableBytes { bytes in
            var records: [Range<Int>] = []
            guard let base = bytes.baseAddress else { return (records, 0) }
            var start = 0
            var offset = 0
            let count = bytes.count
            while offset < count {
                guard let hit = memchr(base + offset, Int32(delimiter[0]), count - offset) else { break }
                let position = base.distance(to: UnsafeRawPointer(hit))
                if delimiter.count == 1 {
                    records.append(start..<position)
                    offset = position + 1
                    start = offset
                } else if position + delimiter.count > count {
                    break
                } else if memcmp(base + position, delimiter, delimiter.count) == 0 {
                    records.append(start..<position)
                    offset = position + delimiter.count
                    start = offset
                } else {
                    offset = position + 1
                }
            }
            return (records, start)
        }
    }

    struct ReadError: Error, CustomStringConvertible {
        var errno: Int32
        var description: String { "reading standard input failed: \(String(cString: strerror(errno)))" }
    }
}
