/// A request the mock cluster received while request tracking was on.
public struct TrackedRequest: Sendable, Hashable {
    /// The id of the broker that received it.
    public var broker: Int32
    /// The request's API key (0 = Produce, 3 = Metadata, 18 = ApiVersions, 22 = InitProducerId).
    public var apiKey: Int16
    /// The request's API version. Always `nil` with librdkafka 2.16: its mock exports no accessor
    /// for it.
    public var apiVersion: Int16?
    /// When the broker received it, in microseconds of librdkafka's monotonic clock.
    public var timestampMicroseconds: Int64

    /// Creates a tracked request.
    public init(broker: Int32, apiKey: Int16, apiVersion: Int16?, timestampMicroseconds: Int64) {
        self.broker = broker
        self.apiKey = apiKey
        self.apiVersion = apiVersion
        self.timestampMicroseconds = timestampMicroseconds
    }
}
