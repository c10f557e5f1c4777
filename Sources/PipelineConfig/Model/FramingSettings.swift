/// How a source's bytes are cut into records: at newlines, with a size limit.
public struct FramingSettings: Sendable, Hashable {
    /// What happens to the part of a line beyond `maxRecordBytes`.
    public enum Oversize: String, Sendable, Hashable {
        /// The record keeps the first `maxRecordBytes` bytes; the rest up to the newline is dropped.
        case truncate
        /// The line becomes several records of at most `maxRecordBytes` bytes each.
        case split
    }

    /// `max_record_bytes`: the largest record, in bytes, without its newline. A longer line is
    /// truncated or split and counted; it never stops the source. Default: 512 KiB, so that a
    /// record with its envelope and headers stays below the producer's default
    /// `max.request.size` (1 MiB).
    public var maxRecordBytes: Int = 524_288
    /// `oversize`: `truncate` or `split`. Default: `truncate`, as Filebeat does.
    public var oversize: Oversize = .truncate

    public init() {}
}
