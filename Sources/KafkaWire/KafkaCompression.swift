/// The compression of a record batch's records section, with the codec's level.
///
/// Kafka's names and defaults (`compression.type`, `compression.gzip.level`,
/// `compression.lz4.level`, `compression.zstd.level`, KIP-390). The codec goes into attribute
/// bits 0–2 of the batch; only the records after the 61-byte header are compressed.
public struct KafkaCompression: Hashable, Sendable, CustomStringConvertible {
    /// The codec, numbered as in the batch attributes.
    public enum Codec: Int16, CaseIterable, Sendable, CustomStringConvertible {
        case none = 0
        case gzip = 1
        case snappy = 2
        case lz4 = 3
        case zstd = 4

        /// The `compression.type` spelling.
        public var description: String {
            switch self {
            case .none: "none"
            case .gzip: "gzip"
            case .snappy: "snappy"
            case .lz4: "lz4"
            case .zstd: "zstd"
            }
        }

        /// Parses a `compression.type` value.
        public init?(name: String) {
            guard let codec = Codec.allCases.first(where: { $0.description == name.lowercased() }) else {
                return nil
            }
            self = codec
        }

        /// The level Kafka uses when none is configured; nil for codecs without levels.
        public var defaultLevel: Int? {
            switch self {
            case .none, .snappy: nil
            case .gzip: -1  // zlib's default, which is 6
            case .lz4: 9  // Java's default; it selects the fast (non-HC) compressor
            case .zstd: 3
            }
        }

        /// The accepted levels, as in the Java client's validators.
        public var levelRange: ClosedRange<Int>? {
            switch self {
            case .none, .snappy: nil
            case .gzip: -1...9
            case .lz4: 1...17
            case .zstd: -131_072...22
            }
        }
    }

    /// The codec. Default: `.none`.
    public var codec: Codec
    /// The codec's level. Default: the codec's `defaultLevel`.
    public var level: Int?

    public init(codec: Codec, level: Int? = nil) {
        self.codec = codec
        self.level = level ?? codec.defaultLevel
    }

    public static let none = KafkaCompression(codec: .none)
    public static let gzip = KafkaCompression(codec: .gzip)
    public static let snappy = KafkaCompression(codec: .snappy)
    public static let lz4 = KafkaCompression(codec: .lz4)
    public static let zstd = KafkaCompression(codec: .zstd)

    /// Rejects a level outside the codec's range, or a level on a codec that has none.
    public func validate() throws {
        guard let level else { return }
        guard let range = codec.levelRange else {
            throw KafkaWireError(.invalidValue, "compression.type=\(codec) takes no level, got \(level)")
        }
        guard range.contains(level) else {
            throw KafkaWireError(
                .invalidValue,
                "compression.\(codec).level=\(level) is outside \(range.lowerBound)...\(range.upperBound)")
        }
    }

    public var description: String {
        level.map { "\(codec)(level \($0))" } ?? codec.description
    }
}
