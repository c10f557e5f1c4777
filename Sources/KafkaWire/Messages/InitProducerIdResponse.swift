import NIOCore

/// InitProducerId response (key 22), v0–v5: the producer id and epoch to stamp on batches.
public struct InitProducerIdResponse: KafkaResponseMessage, Hashable {
    public static let apiKey = KafkaApiKey.initProducerId
    public static let supportedVersions: ClosedRange<Int16> = 0...5
    public static let firstFlexibleVersion: Int16? = 2

    /// `ThrottleTimeMs`: how long the request was throttled by a quota, in ms.
    public var throttleTimeMs: Int32
    /// `ErrorCode`: the error code, or 0.
    public var errorCode: Int16
    /// `ProducerId`: the producer id, −1 on error.
    public var producerId: Int64
    /// `ProducerEpoch`: the epoch that goes with `producerId`.
    public var producerEpoch: Int16

    /// Creates a response.
    public init(throttleTimeMs: Int32 = 0, errorCode: Int16 = 0, producerId: Int64 = -1, producerEpoch: Int16) {
        self.throttleTimeMs = throttleTimeMs
        self.errorCode = errorCode
        self.producerId = producerId
        self.producerEpoch = producerEpoch
    }

    public static func read(from buffer: inout ByteBuffer, version: Int16) throws -> InitProducerIdResponse {
        try checkVersion(version)
        return try withKafkaLocation("InitProducerIdResponse v\(version) ") {
            let throttleTimeMs = try buffer.readKafkaInteger(as: Int32.self, at: ".ThrottleTimeMs")
            let errorCode = try buffer.readKafkaInteger(as: Int16.self, at: ".ErrorCode")
            let producerId = try buffer.readKafkaInteger(as: Int64.self, at: ".ProducerId")
            let producerEpoch = try buffer.readKafkaInteger(as: Int16.self, at: ".ProducerEpoch")
            if isFlexible(version) { try buffer.readKafkaTaggedFields(at: "") }
            return InitProducerIdResponse(
                throttleTimeMs: throttleTimeMs, errorCode: errorCode, producerId: producerId,
                producerEpoch: producerEpoch)
        }
    }
}
