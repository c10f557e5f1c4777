import KafkaWire
import NIOCore

/// The rules of one broker connection, without sockets or clocks: events go in (a request was
/// written, a frame arrived, the timer fired, the channel closed), actions come out (deliver a
/// response, fail these requests, close the channel, arm the timer). `BrokerConnectionHandler`
/// performs the actions.
///
/// `Responder` is whatever completes a request (the handler stores a promise and the response
/// type; tests use plain values). The machine never calls it.
///
/// Invariants:
/// - Correlation ids increase by one per request on the connection, whether or not the request
///   expects a response.
/// - Only requests that expect a response are in flight. Kafka answers in order, so a frame must
///   answer the oldest of them. A frame whose correlation id is not in flight at all is dropped
///   (the librdkafka mock answers acks=0 Produce requests); a frame for another in-flight request
///   is a protocol error that closes the connection.
/// - Every in-flight request has the same timeout, so the oldest one expires first: one timer,
///   armed for the oldest deadline, covers them all. When it fires early (that request was
///   answered) it is re-armed for the new oldest.
/// - Once closed, the machine stays closed; every later request fails with `.connectionFailed`.
struct BrokerConnectionStateMachine<Responder> {
    /// A request that was written and waits for its response.
    struct InFlightRequest {
        var info: BrokerRequestInfo
        var deadline: NIODeadline
        var responder: Responder
    }

    /// Requests to fail, and whether the channel must be closed (it is not when it closed itself).
    struct CloseAction {
        var failures: [(responder: Responder, error: KafkaProducerError)]
        var closeChannel: Bool
    }

    enum PrepareAction {
        /// Encode and write the request with this correlation id.
        case write(correlationId: Int32)
        /// The connection is closed: fail the request at once.
        case fail(KafkaProducerError)
    }

    enum TimerAction: Equatable {
        case none
        /// Schedule the timeout timer for this deadline (no timer is scheduled now).
        case arm(NIODeadline)
    }

    enum FrameAction {
        /// Decode `payload` for `request` and complete `responder`; if that fails, report it with
        /// `responseDecodingFailed`.
        case deliver(Responder, request: BrokerRequestInfo)
        /// A response nobody waits for (an acks=0 echo); log it and go on.
        case drop(correlationId: Int32)
        /// The stream is unusable: fail these requests and close.
        case close(CloseAction)
        /// The connection is already closed; nothing to do.
        case none
    }

    enum TimerFiredAction {
        case none
        case arm(NIODeadline)
        case close(CloseAction)
    }

    private enum State {
        case active
        case closed
    }

    let broker: BrokerIdentity
    let requestTimeout: TimeAmount
    private var state = State.active
    private var inFlight = FIFOQueue<InFlightRequest>()
    private var nextCorrelationId: Int32
    /// The deadline the timer is scheduled for, or nil when none is.
    private var timerDeadline: NIODeadline?
    /// The last request written or response received.
    private(set) var lastActivity: NIODeadline

    init(broker: BrokerIdentity, requestTimeout: TimeAmount, now: NIODeadline, firstCorrelationId: Int32 = 1) {
        self.broker = broker
        self.requestTimeout = requestTimeout
        self.lastActivity = now
        self.nextCorrelationId = firstCorrelationId
    }

    /// Requests written that still wait for a response.
    var inFlightCount: Int { inFlight.count }

    var isActive: Bool {
        if case .active = state { return true }
        return false
    }

    /// Allocates the correlation id for a request about to be encoded. An id whose request then
    /// fails to encode is simply never used.
    mutating func prepareRequest(apiKey: KafkaApiKey, version: Int16) -> PrepareAction {
        guard case .active = state else {
            let info = BrokerRequestInfo(apiKey: apiKey, version: version, correlationId: -1)
            return .fail(
                BrokerConnectionError.connectionClosed(info, broker: broker, reason: "the connection is closed"))
        }
        let id = nextCorrelationId
        nextCorrelationId &+= 1
        return .write(correlationId: id)
    }

    /// A request that expects a response is being written.
    mutating func requestWritten(_ request: BrokerRequestInfo, responder: Responder, now: NIODeadline) -> TimerAction {
        precondition(isActive, "requestWritten on a closed connection")
        lastActivity = now
        let deadline = now + requestTimeout
        inFlight.append(InFlightRequest(info: request, deadline: deadline, responder: responder))
        guard timerDeadline == nil else { return .none }
        timerDeadline = deadline
        return .arm(deadline)
    }

    /// A request that gets no response (acks=0 Produce) is being written.
    mutating func requestWrittenWithoutResponse(now: NIODeadline) {
        lastActivity = now
    }

    /// A complete response frame (header and body, no size prefix) arrived.
    mutating func frameReceived(_ payload: ByteBuffer, now: NIODeadline) -> FrameAction {
        guard case .active = state else { return .none }
        lastActivity = now
        guard let correlationId = payload.getInteger(at: payload.readerIndex, as: Int32.self) else {
            return .close(
                closeWithProtocolError(
                    reason: "a \(payload.readableBytes)-byte frame is too short for a response header"))
        }
        if let oldest = inFlight.first, oldest.info.correlationId == correlationId {
            let request = inFlight.popFirst()!
            return .deliver(request.responder, request: request.info)
        }
        guard let other = inFlight.first(where: { $0.info.correlationId == correlationId }) else {
            return .drop(correlationId: correlationId)
        }
        let expected = inFlight.first!.info
        return .close(
            closeWithProtocolError(
                reason: "got the response to \(other.info) (correlation id \(correlationId)) while waiting for "
                    + "correlation id \(expected.correlationId)"))
    }

    /// The response delivered for `request` could not be decoded. Returns the error for that request
    /// and closes the connection, since the stream can no longer be trusted.
    mutating func responseDecodingFailed(_ request: BrokerRequestInfo, error: any Error & Sendable)
        -> (error: KafkaProducerError, close: CloseAction)
    {
        let failure = BrokerConnectionError.malformedResponse(
            request, broker: broker, reason: "\(error)", cause: error)
        let close = close(reason: "the connection was closed after a malformed response to \(request)", cause: error)
        return (failure, close)
    }

    /// The timeout timer fired.
    mutating func timerFired(now: NIODeadline) -> TimerFiredAction {
        timerDeadline = nil
        guard case .active = state, let oldest = inFlight.first else { return .none }
        guard oldest.deadline <= now else {
            timerDeadline = oldest.deadline
            return .arm(oldest.deadline)
        }
        let request = inFlight.popFirst()!
        let timeoutError = BrokerConnectionError.requestTimedOut(request.info, broker: broker, after: requestTimeout)
        var action = close(reason: "the connection was closed after \(request.info) timed out", cause: timeoutError)
        action.failures.insert((request.responder, timeoutError), at: 0)
        return .close(action)
    }

    /// The client closes the connection.
    mutating func closeRequested() -> CloseAction {
        close(reason: "the connection was closed by the client")
    }

    /// The pipeline reported an error (a read or write failure, an oversized frame).
    mutating func errorCaught(_ error: any Error & Sendable) -> CloseAction {
        if error is KafkaWireError {
            return closeWithProtocolError(reason: "\(error)", cause: error)
        }
        return close(reason: "\(error)", cause: error)
    }

    /// The channel closed (the broker or the network dropped it, or a close finished).
    mutating func channelInactive() -> CloseAction {
        var action = close(reason: "the connection was closed")
        action.closeChannel = false
        return action
    }

    /// Fails the oldest in-flight request with `.protocolError`, the others with
    /// `.connectionFailed`, and closes.
    private mutating func closeWithProtocolError(reason: String, cause: (any Error & Sendable)? = nil)
        -> CloseAction
    {
        guard case .active = state else { return CloseAction(failures: [], closeChannel: false) }
        guard let oldest = inFlight.popFirst() else {
            return close(reason: "the connection was closed after a malformed frame: \(reason)", cause: cause)
        }
        let error = BrokerConnectionError.malformedResponse(oldest.info, broker: broker, reason: reason, cause: cause)
        var action = close(
            reason: "the connection was closed after a malformed response to \(oldest.info)", cause: error)
        action.failures.insert((oldest.responder, error), at: 0)
        return action
    }

    /// Moves to closed and fails every in-flight request with `.connectionFailed`.
    private mutating func close(reason: String, cause: (any Error & Sendable)? = nil) -> CloseAction {
        guard case .active = state else { return CloseAction(failures: [], closeChannel: false) }
        state = .closed
        timerDeadline = nil
        var failures: [(responder: Responder, error: KafkaProducerError)] = []
        failures.reserveCapacity(inFlight.count + 1)
        while let request = inFlight.popFirst() {
            failures.append(
                (
                    request.responder,
                    BrokerConnectionError.connectionClosed(request.info, broker: broker, reason: reason, cause: cause)
                ))
        }
        return CloseAction(failures: failures, closeChannel: true)
    }
}
