/// The idempotence fields of a batch: producer id, epoch and the sequence of its first record.
/// `.none` (−1, −1, −1) marks a batch from a producer without idempotence.
public struct KafkaProducerState: Hashable, Sendable {
    public var producerId: Int64
    public var producerEpoch: Int16
    public var baseSequence: Int32
    public var isTransactional: Bool

    public init(producerId: Int64, producerEpoch: Int16, baseSequence: Int32, isTransactional: Bool = false) {
        self.producerId = producerId
        self.producerEpoch = producerEpoch
        self.baseSequence = baseSequence
        self.isTransactional = isTransactional
    }

    /// No producer id: a non-idempotent batch.
    public static let none = KafkaProducerState(producerId: -1, producerEpoch: -1, baseSequence: -1)
}
