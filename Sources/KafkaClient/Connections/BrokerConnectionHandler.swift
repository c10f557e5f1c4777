import KafkaWire
import Logging
import NIOCore

/// Completes one request with its decoded response. The concrete type holds only a promise, so
/// the existential fits its inline buffer and the in-flight queue stores it without allocating.
protocol BrokerResponseReceiver {
    /// Decodes `payload` (response header and body) at `version` and succeeds; throws when the
    /// payload cannot be decoded, leaving the request to be failed by the caller.
    func succeed(payload: ByteBuffer, version: Int16) throws
    func fail(_ error: KafkaProducerError)
}

/// The receiver for `BrokerConnection.send`: decodes the response type the caller expects.
struct BrokerResponsePromise<Response: KafkaResponseMessage>: BrokerResponseReceiver {
    let promise: EventLoopPromise<Response>

    func succeed(payload: ByteBuffer, version: Int16) throws {
        let (_, body) = try KafkaFrame.readResponse(Response.self, version: version, payload: payload)
        promise.succeed(body)
    }

    func fail(_ error: KafkaProducerError) {
        promise.fail(error)
    }
}

/// The channel handler behind a `BrokerConnection`: it sits after the `KafkaFrameDecoder`,
/// encodes and writes requests, and performs what `BrokerConnectionStateMachine` decides.
///
/// Owned by the connection's event loop: every method runs there.
final class BrokerConnectionHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var machine: BrokerConnectionStateMachine<any BrokerResponseReceiver>
    private let clientId: String
    private let logger: Logger
    private var context: ChannelHandlerContext?
    /// The one request-timeout timer, for the oldest in-flight request's deadline.
    private var timer: Scheduled<Void>?
    /// Requests held back while the connection logs in again (KIP-368), in order; nil when none
    /// are held.
    private var held: [() -> Void]?

    init(broker: BrokerIdentity, clientId: String, requestTimeout: TimeAmount, logger: Logger) {
        self.machine = BrokerConnectionStateMachine(broker: broker, requestTimeout: requestTimeout, now: .now())
        self.clientId = clientId
        self.logger = logger
    }

    /// Requests in flight, and those held back during a new login (they count against
    /// `max.in.flight.requests.per.connection` all the same).
    var inFlightCount: Int { machine.inFlightCount + (held?.count ?? 0) }
    var isActive: Bool { machine.isActive }
    var lastActivity: NIODeadline { machine.lastActivity }

    // MARK: Requests

    /// Encodes and writes a request whose response completes `promise`.
    func send<Request: KafkaRequestMessage, Response: KafkaResponseMessage>(
        _ request: Request, version: Int16, promise: EventLoopPromise<Response>, bypassingHold: Bool = false
    ) {
        if held != nil, !bypassingHold {
            held!.append { [self] in send(request, version: version, promise: promise) }
            return
        }
        guard let (context, buffer) = encode(request, version: version, fail: promise.fail) else { return }
        let info = BrokerRequestInfo(apiKey: Request.apiKey, version: version, correlationId: buffer.correlationId)
        let timerAction = machine.requestWritten(info, responder: BrokerResponsePromise(promise: promise), now: .now())
        if case .arm(let deadline) = timerAction { armTimer(deadline, context: context) }
        context.writeAndFlush(wrapOutboundOut(buffer.frame), promise: nil)
    }

    /// Encodes and writes a request that gets no response; `promise` completes once it is flushed.
    func sendWithoutResponse<Request: KafkaRequestMessage>(
        _ request: Request, version: Int16, promise: EventLoopPromise<Void>
    ) {
        if held != nil {
            held!.append { [self] in sendWithoutResponse(request, version: version, promise: promise) }
            return
        }
        guard let (context, buffer) = encode(request, version: version, fail: promise.fail) else { return }
        machine.requestWrittenWithoutResponse(now: .now())
        let info = BrokerRequestInfo(apiKey: Request.apiKey, version: version, correlationId: buffer.correlationId)
        let broker = machine.broker
        let written = context.eventLoop.makePromise(of: Void.self)
        written.futureResult.whenComplete { result in
            switch result {
            case .success: promise.succeed()
            case .failure(let error):
                promise.fail(
                    BrokerConnectionError.connectionClosed(
                        info, broker: broker, reason: "the request could not be written", cause: error))
            }
        }
        context.writeAndFlush(wrapOutboundOut(buffer.frame), promise: written)
    }

    /// Closes the channel, failing every in-flight request with `.connectionFailed`.
    func close() {
        perform(machine.closeRequested())
    }

    /// Holds back requests sent from now on (only those sent `bypassingHold` go out), until
    /// `releaseRequests()`.
    func holdRequests() {
        if held == nil { held = [] }
    }

    /// Sends the held requests, in the order they came. On a closed connection they fail.
    func releaseRequests() {
        guard let requests = held else { return }
        held = nil
        for send in requests { send() }
    }

    /// Takes a correlation id and encodes the frame, or fails the request and returns nil: every
    /// request is completed, also when the handler has already left the pipeline.
    private func encode<Request: KafkaRequestMessage>(
        _ request: Request, version: Int16, fail: (any Error) -> Void
    ) -> (context: ChannelHandlerContext, buffer: (frame: ByteBuffer, correlationId: Int32))? {
        switch machine.prepareRequest(apiKey: Request.apiKey, version: version) {
        case .fail(let error):
            fail(error)
            return nil
        case .write(let correlationId):
            guard let context else {
                fail(
                    BrokerConnectionError.connectionClosed(
                        BrokerRequestInfo(apiKey: Request.apiKey, version: version, correlationId: correlationId),
                        broker: machine.broker, reason: "the connection is closed"))
                return nil
            }
            var buffer = context.channel.allocator.buffer(
                capacity: Self.estimatedFrameSize(request) + clientId.utf8.count)
            do {
                try KafkaFrame.writeRequest(
                    request, version: version, correlationId: correlationId, clientId: clientId, into: &buffer)
            } catch {
                fail(
                    BrokerConnectionError.encodingFailed(
                        BrokerRequestInfo(apiKey: Request.apiKey, version: version, correlationId: correlationId),
                        broker: machine.broker, cause: error))
                return nil
            }
            return (context, (buffer, correlationId))
        }
    }

    /// A capacity that holds the whole frame, so it is allocated once: for Produce the record
    /// batches plus room for the header and the per-topic and per-partition fields.
    static func estimatedFrameSize<Request: KafkaRequestMessage>(_ request: Request) -> Int {
        guard let produce = request as? ProduceRequest else { return 256 }
        var size = 256 + (produce.transactionalId?.utf8.count ?? 0)
        for topic in produce.topicData {
            size += 16 + topic.name.utf8.count
            for partition in topic.partitionData { size += 16 + (partition.records?.readableBytes ?? 0) }
        }
        return size
    }

    // MARK: Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        perform(machine.channelInactive())
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let payload = unwrapInboundIn(data)
        switch machine.frameReceived(payload, now: .now()) {
        case .deliver(let responder, let request):
            do {
                try responder.succeed(payload: payload, version: request.version)
            } catch {
                let (failure, close) = machine.responseDecodingFailed(request, error: error)
                logger.warning(
                    "Closing the connection after a malformed response.",
                    metadata: ["request": "\(request)", "error": "\(error)"])
                responder.fail(failure)
                perform(close)
            }
        case .drop(let correlationId):
            logger.debug(
                "Dropping a response nobody waits for (an acks=0 answer).",
                metadata: ["correlationId": "\(correlationId)"])
        case .close(let close):
            if let first = close.failures.first {
                logger.warning("Closing the connection after a protocol error.", metadata: ["error": "\(first.error)"])
            }
            perform(close)
        case .none:
            break
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        logger.debug("Connection closed.")
        perform(machine.channelInactive())
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("Connection error.", metadata: ["error": "\(error)"])
        perform(machine.errorCaught(error))
    }

    // MARK: Actions

    private func armTimer(_ deadline: NIODeadline, context: ChannelHandlerContext) {
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            timerFired()
        }
    }

    private func timerFired() {
        timer = nil
        switch machine.timerFired(now: .now()) {
        case .none:
            break
        case .arm(let deadline):
            if let context { armTimer(deadline, context: context) }
        case .close(let close):
            if let first = close.failures.first {
                logger.warning(
                    "Closing the connection after a request timed out.", metadata: ["error": "\(first.error)"])
            }
            perform(close)
        }
    }

    private func perform(_ action: BrokerConnectionStateMachine<any BrokerResponseReceiver>.CloseAction) {
        if action.closeChannel || !machine.isActive {
            timer?.cancel()
            timer = nil
        }
        for (responder, error) in action.failures {
            responder.fail(error)
        }
        // Held requests fail too: sent now, they meet the closed machine.
        if !machine.isActive { releaseRequests() }
        if action.closeChannel, let context {
            context.close(promise: nil)
        }
    }
}
