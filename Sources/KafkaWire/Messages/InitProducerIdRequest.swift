import NIOCore

/// InitProducerId request (key 22), v0–v5: obtains a producer id and epoch for an idempotent or
/// transactional producer.
///
/// v2+ is flexible. `producerId`/`producerEpoch` exist from v3 (KIP-360, to bump the epoch of an
/// existing id); below v3 they must keep their defaults (−1), else `.invalidValue` is thrown.
/// v6 (2PC, KIP-939) is unstable in Kafka 4.3 and not implemented. Kafka 4.0 and 4.3 agree on
/// v0–v5.
public struct InitProducerIdRequest: KafkaRequestMessage, Hashable {
    public static let apiKey = KafkaApiKey.initProducerId
    public static let supportedVersions: ClosedRange<Int16> = 0...5
    public static let firstFlexibleVersion: Int16? = 2

    /// `TransactionalId`: the transactional id, or nil for an idempotent-only producer.
    public var transactionalId: String?
    /// `TransactionTimeoutMs`: idle time before the broker aborts a transaction, in ms.
    public var transactionTimeoutMs: Int32
    /// `ProducerId` (v3+): the current producer id, or −1 for a new one.
    public var producerId: Int64
    /// `ProducerEpoch` (v3+): the current producer epoch, or −1.
    public var producerEpoch: Int16

    /// Creates a request; defaults are those of an idempotent producer asking for a new id
    /// (the Java client sends `Int32.max` as the timeout when there is no transactional id).
    public init(
        transactionalId: String? = nil, transactionTimeoutMs: Int32 = .max, producerId: Int64 = -1,
        producerEpoch: Int16 = -1
    ) {
        self.transactionalId = transactionalId
        self.transactionTimeoutMs = transactionTimeoutMs
        self.producerId = producerId
        self.producerEpoch = producerEpoch
    }

    public func write(into buffer: inout ByteBuffer, version: Int16) throws {
        try Self.checkVersion(version)
        let flexible = Self.isFlexible(version)
        try buffer.writeKafkaString(
            transactionalId, flexible: flexible, nullable: true,
            at: "InitProducerIdRequest v\(version) .TransactionalId")
        buffer.writeInteger(transactionTimeoutMs)
        if version >= 3 {
            buffer.writeInteger(producerId)
            buffer.writeInteger(producerEpoch)
        } else if producerId != -1 || producerEpoch != -1 {
            throw KafkaWireError(
                .invalidValue, "an existing producer id/epoch can only be sent from v3",
                location: "InitProducerIdRequest v\(version) .ProducerId")
        }
        buffer.writeKafkaTaggedFieldsIfFlexible(flexible)
    }
}
