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

    /// The next records, in order; nil at the end of input. A last record without a trailing
    /// delimiter is returned too; a trailing delimiter does not make an empty last record.
    mutating func nextRecords() throws -> [ByteBuffer]? {
        while true {
            if isAtEnd {
                guard carry.readableBytes > 0 else { return nil }
                defer { carry = ByteBuffer() }
                return [carry]
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
            let records = split(&chunk)
            carry = chunk
            if !records.isEmpty { return records }
        }
    }

    /// Cuts complete records off the front of `chunk`, leaving the incomplete rest.
    private func split(_ chunk: inout ByteBuffer) -> [ByteBuffer] {
        var records: [ByteBuffer] = []
        let delimiter = self.delimiter
        let ends: [Int] = chunk.withUnsafeReadableBytes { bytes in
            var ends: [Int] = []
            guard let base = bytes.baseAddress else { return ends }
            var offset = 0
            let count = bytes.count
            while offset < count {
                guard let hit = memchr(base + offset, Int32(delimiter[0]), count - offset) else { break }
                let position = base.distance(to: UnsafeRawPointer(hit))
                if delimiter.count == 1 {
                    ends.append(position)
                    offset = position + 1
                } else if position + delimiter.count <= count,
                    memcmp(base + position, delimiter, delimiter.count) == 0
                {
                    ends.append(position)
                    offset = position + delimiter.count
                } else if position + delimiter.count > count {
                    break
                } else {
                    offset = position + 1
                }
            }
            return ends
        }
        records.reserveCapacity(ends.count)
        var start = 0
        let base = chunk.readerIndex
        for end in ends {
            records.append(chunk.getSlice(at: base + start, length: end - start)!)
            start = end + delimiter.count
        }
        chunk.moveReaderIndex(forwardBy: start)
        return records
    }

    struct ReadError: Error, CustomStringConvertible {
        var errno: Int32
        var description: String { "reading standard input failed: \(String(cString: strerror(errno)))" }
    }
}
