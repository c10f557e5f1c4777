import KafkaWire
import NIOCore

/// Which broker a connection talks to, for error messages and log metadata:
/// `broker 2 (127.0.0.1:40123)`.
struct BrokerIdentity: Hashable, Sendable, CustomStringConvertible {
    var nodeId: Int32
    var address: KafkaBrokerAddress

    var description: String { "broker \(nodeId) (\(address))" }
}

/// One request as the connection layer knows it: enough to match its response and to name it in
/// errors (`Produce v9`). Plain values only, so the in-flight queue stores it without allocating.
struct BrokerRequestInfo: Hashable, Sendable, CustomStringConvertible {
    var apiKey: KafkaApiKey
    var version: Int16
    var correlationId: Int32

    var description: String { "\(apiKey) v\(version)" }
}

/// The `KafkaProducerError`s the connection layer raises. Every message names the broker and,
/// where there is one, the request.
enum BrokerConnectionError {
    static func milliseconds(_ amount: TimeAmount) -> Int64 { amount.nanoseconds / 1_000_000 }

    /// The request got no response within `request.timeout.ms`.
    static func requestTimedOut(_ request: BrokerRequestInfo, broker: BrokerIdentity, after timeout: TimeAmount)
        -> KafkaProducerError
    {
        KafkaProducerError(
            .requestTimeout, "\(request) to \(broker) timed out after \(milliseconds(timeout)) ms")
    }

    /// The connection closed (or is being closed) while the request was in flight or about to be sent.
    static func connectionClosed(
        _ request: BrokerRequestInfo, broker: BrokerIdentity, reason: String, cause: (any Error & Sendable)? = nil
    ) -> KafkaProducerError {
        KafkaProducerError(.connectionFailed, "\(request) to \(broker) failed: \(reason)", cause: cause)
    }

    /// The response to the request could not be read.
    static func malformedResponse(
        _ request: BrokerRequestInfo, broker: BrokerIdentity, reason: String, cause: (any Error & Sendable)? = nil
    ) -> KafkaProducerError {
        KafkaProducerError(
            .protocolError, "the response to \(request) from \(broker) could not be read: \(reason)", cause: cause)
    }

    /// The request could not be encoded (a version or a field the message cannot express).
    static func encodingFailed(_ request: BrokerRequestInfo, broker: BrokerIdentity, cause: any Error & Sendable)
        -> KafkaProducerError
    {
        KafkaProducerError(.encodingFailed, "\(request) to \(broker) could not be encoded", cause: cause)
    }

    /// The TCP connection could not be made.
    static func connectFailed(broker: BrokerIdentity, timeout: TimeAmount, cause: any Error & Sendable)
        -> KafkaProducerError
    {
        if let channelError = cause as? ChannelError, case .connectTimeout = channelError {
            return KafkaProducerError(
                .connectionFailed,
                "could not connect to \(broker): no connection within \(milliseconds(timeout)) ms", cause: cause)
        }
        return KafkaProducerError(.connectionFailed, "could not connect to \(broker): \(cause)", cause: cause)
    }
}
