/// A Kafka UUID (topic ids): 16 bytes, most significant half first. All zero means "none".
public struct KafkaUUID: Hashable, Sendable, CustomStringConvertible {
    public var mostSignificantBits: UInt64
    public var leastSignificantBits: UInt64

    public init(mostSignificantBits: UInt64, leastSignificantBits: UInt64) {
        self.mostSignificantBits = mostSignificantBits
        self.leastSignificantBits = leastSignificantBits
    }

    /// The all-zero UUID Kafka uses for "no topic id".
    public static let zero = KafkaUUID(mostSignificantBits: 0, leastSignificantBits: 0)

    public var description: String {
        func hex(_ v: UInt64) -> String {
            let s = String(v, radix: 16)
            return String(repeating: "0", count: 16 - s.count) + s
        }
        return hex(mostSignificantBits) + hex(leastSignificantBits)
    }
}
