import KafkaWire
import Logging
import NIOCore
import NIOPosix
import NIOSSL

/// One TCP connection to one broker, with its negotiated API versions: the thin I/O shell over
/// `BrokerConnectionHandler` (and through it `BrokerConnectionStateMachine`).
///
/// Everything of the connection runs on `eventLoop`. Requests may be sent from anywhere (they hop
/// to the loop), but `inFlightCount` and `lastActivity` are read on the loop only.
final class BrokerConnection: Sendable {
    /// What a connection needs from the producer configuration.
    struct Settings: Sendable {
        /// The `client.id` sent in every request header.
        var clientId: String
        /// `request.timeout.ms`: how long a request may wait for its response.
        var requestTimeout: TimeAmount
        /// `socket.connection.setup.timeout.ms`: how long the TCP connect may take.
        var connectTimeout: TimeAmount
        /// `max.in.flight.requests.per.connection`; kept by the sender, not enforced here.
        var maxInFlightRequests: Int
        /// The largest response frame accepted; larger ones close the connection.
        var maxFrameSize: Int = KafkaFrame.defaultMaximumSize
        /// TLS and SASL, from `security.protocol`.
        var security: BrokerSecurity

        init(
            clientId: String, requestTimeout: TimeAmount, connectTimeout: TimeAmount, maxInFlightRequests: Int,
            maxFrameSize: Int = KafkaFrame.defaultMaximumSize, security: BrokerSecurity = .plaintext
        ) {
            self.clientId = clientId
            self.requestTimeout = requestTimeout
            self.connectTimeout = connectTimeout
            self.maxInFlightRequests = maxInFlightRequests
            self.maxFrameSize = maxFrameSize
            self.security = security
        }

        /// The settings of `configuration`, without security (set `security` to the producer's).
        init(configuration: KafkaProducerConfiguration) {
            self.init(
                clientId: configuration.clientId, requestTimeout: TimeAmount(configuration.requestTimeout),
                connectTimeout: TimeAmount(configuration.socketConnectionSetupTimeout),
                maxInFlightRequests: configuration.maxInFlightRequestsPerConnection)
        }
    }

    /// The name and version sent in ApiVersions v3+.
    static let clientSoftwareName = "tributary"
    static let clientSoftwareVersion = "0.1.0"
    /// How many times ApiVersions is re-sent after UNSUPPORTED_VERSION.
    static let maximumApiVersionsRetries = 2

    let nodeId: Int32
    let address: KafkaBrokerAddress
    let eventLoop: any EventLoop
    /// The version to use per API: the highest both this client and the broker support. APIs the
    /// broker does not offer in a common version are absent.
    let apiVersions: [KafkaApiKey: Int16]
    /// The ApiVersions versions sent until one was accepted (`[4, 0]` against the librdkafka mock).
    let apiVersionsAttempts: [Int16]

    private let channel: any Channel
    let handler: NIOLoopBound<BrokerConnectionHandler>
    let logger: Logger
    /// The credentials to log in again with when the broker's session runs out (KIP-368).
    let sasl: KafkaSASLConfiguration?

    private init(
        broker: BrokerIdentity, apiVersions: [KafkaApiKey: Int16], apiVersionsAttempts: [Int16], channel: any Channel,
        handler: NIOLoopBound<BrokerConnectionHandler>, sasl: KafkaSASLConfiguration?, logger: Logger
    ) {
        self.nodeId = broker.nodeId
        self.address = broker.address
        self.eventLoop = channel.eventLoop
        self.apiVersions = apiVersions
        self.apiVersionsAttempts = apiVersionsAttempts
        self.channel = channel
        self.handler = handler
        self.sasl = sasl
        self.logger = logger
    }

    /// The negotiated version for `apiKey`, or nil when the broker offers none this client speaks.
    func version(for apiKey: KafkaApiKey) -> Int16? {
        apiVersions[apiKey]
    }

    /// The negotiated version for `Request`'s API.
    func version<Request: KafkaRequestMessage>(for request: Request.Type) -> Int16? {
        apiVersions[Request.apiKey]
    }

    /// Requests written that still wait for a response. Read on `eventLoop` only.
    var inFlightCount: Int { handler.value.inFlightCount }

    /// Whether requests can still be sent.
    var isActive: Bool {
        eventLoop.inEventLoop ? handler.value.isActive : channel.isActive
    }

    /// The last request written or response received, for `connections.max.idle.ms`. Read on
    /// `eventLoop` only.
    var lastActivity: NIODeadline { handler.value.lastActivity }

    /// Completes when the connection is closed, for any reason.
    var closeFuture: EventLoopFuture<Void> { channel.closeFuture }

    // MARK: Connecting

    /// Connects (the TCP connect bounded by `settings.connectTimeout`; then the TLS handshake when
    /// `settings.security` has a TLS context), then negotiates API versions: ApiVersions at our
    /// newest version with our software name and version; on UNSUPPORTED_VERSION again at the
    /// version `ApiVersionsResponse.readNegotiating` gives, at most twice. With SASL it then logs in
    /// (`BrokerConnection+SASL.swift`) and, when the broker gives the session a lifetime, logs in
    /// again before it ends.
    ///
    /// Fails with `.connectionFailed` when the broker cannot be reached or refuses ApiVersions,
    /// `.authenticationFailed` when the TLS handshake or the SASL login fails, `.requestTimeout`
    /// when ApiVersions is not answered, `.protocolError` when its answer cannot be read or
    /// negotiation does not settle. Everything runs on `eventLoop`; the returned future completes
    /// there.
    static func connect(
        to address: KafkaBrokerAddress, nodeId: Int32, settings: Settings, on eventLoop: any EventLoop,
        logger: Logger = Logger(label: "tributary.connection")
    ) -> EventLoopFuture<BrokerConnection> {
        let broker = BrokerIdentity(nodeId: nodeId, address: address)
        let logger = {
            var logger = logger
            logger[metadataKey: "broker"] = "\(nodeId)"
            logger[metadataKey: "address"] = "\(address)"
            return logger
        }()
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(settings.connectTimeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls = settings.security.tlsContext {
                        try channel.pipeline.syncOperations.addHandler(
                            try NIOSSLClientHandler(context: tls, serverHostname: serverName(for: address.host)))
                    }
                    try channel.pipeline.syncOperations.addHandlers(
                        ByteToMessageHandler(KafkaFrameDecoder(maximumFrameSize: settings.maxFrameSize)),
                        BrokerConnectionHandler(
                            broker: broker, clientId: settings.clientId, requestTimeout: settings.requestTimeout,
                            logger: logger))
                }
            }
        logger.debug("Connecting.")
        return bootstrap.connect(host: address.host, port: address.port)
            .flatMapErrorThrowing { error in
                logger.debug("Connect failed.", metadata: ["error": "\(error)"])
                throw BrokerConnectionError.connectFailed(
                    broker: broker, timeout: settings.connectTimeout, cause: error)
            }
            .flatMap { channel in
                let handler: NIOLoopBound<BrokerConnectionHandler>
                do {
                    handler = NIOLoopBound(
                        try channel.pipeline.syncOperations.handler(type: BrokerConnectionHandler.self),
                        eventLoop: channel.eventLoop)
                } catch {
                    channel.close(promise: nil)
                    return channel.eventLoop.makeFailedFuture(
                        BrokerConnectionError.connectFailed(
                            broker: broker, timeout: settings.connectTimeout, cause: error))
                }
                let sasl = settings.security.sasl
                return negotiate(
                    handler: handler, broker: broker,
                    version: ApiVersionsRequest.supportedVersions.upperBound, attempts: []
                )
                .flatMap { versions, attempts in
                    guard let sasl else {
                        return channel.eventLoop.makeSucceededFuture((versions, attempts, Int64(0)))
                    }
                    return authenticate(handler: handler, broker: broker, sasl: sasl, apiVersions: versions)
                        .map { lifetime in (versions, attempts, lifetime) }
                }
                .map { versions, attempts, sessionLifetimeMs in
                    logger.debug(
                        "Connected.",
                        metadata: [
                            "apiVersions": "\(attempts.last ?? -1)",
                            "produce": "\(versions[.produce].map { "\($0)" } ?? "none")",
                        ])
                    let connection = BrokerConnection(
                        broker: broker, apiVersions: versions, apiVersionsAttempts: attempts, channel: channel,
                        handler: handler, sasl: sasl, logger: logger)
                    connection.scheduleReauthentication(sessionLifetimeMs: sessionLifetimeMs)
                    return connection
                }
                .flatMapErrorThrowing { error in
                    logger.debug("Connection setup failed.", metadata: ["error": "\(error)"])
                    channel.close(promise: nil)
                    throw securityFailure(error, broker: broker, tls: settings.security.tlsContext != nil) ?? error
                }
            }
    }

    /// Sends ApiVersions at `version` and follows UNSUPPORTED_VERSION answers.
    private static func negotiate(
        handler: NIOLoopBound<BrokerConnectionHandler>, broker: BrokerIdentity, version: Int16, attempts: [Int16]
    ) -> EventLoopFuture<(versions: [KafkaApiKey: Int16], attempts: [Int16])> {
        let eventLoop = handler.eventLoop
        let attempts = attempts + [version]
        let promise = eventLoop.makePromise(of: ApiVersionsNegotiationResponse.self)
        handler.value.send(
            ApiVersionsRequest(clientSoftwareName: clientSoftwareName, clientSoftwareVersion: clientSoftwareVersion),
            version: version, promise: promise)
        return promise.futureResult.flatMap { answer in
            let request = BrokerRequestInfo(apiKey: .apiVersions, version: version, correlationId: -1)
            switch answer.outcome {
            case .accepted(let response):
                guard response.errorCode == 0 else {
                    let code = KafkaErrorCode(rawValue: response.errorCode)
                    return eventLoop.makeFailedFuture(
                        KafkaProducerError(
                            .connectionFailed, "\(request) to \(broker) was refused with \(code)",
                            brokerErrorCode: code))
                }
                return eventLoop.makeSucceededFuture((response.negotiatedVersions(), attempts))
            case .retry(let retryVersion, _):
                guard attempts.count <= maximumApiVersionsRetries else {
                    return eventLoop.makeFailedFuture(
                        BrokerConnectionError.malformedResponse(
                            request, broker: broker,
                            reason:
                                "UNSUPPORTED_VERSION after \(attempts.count) attempts (v\(attempts.map { "\($0)" }.joined(separator: ", v")))"
                        ))
                }
                return negotiate(handler: handler, broker: broker, version: retryVersion, attempts: attempts)
            }
        }
    }

    // MARK: Requests

    /// Sends a request expecting a response. Requests are pipelined; the future fails with
    /// `.requestTimeout` after `requestTimeout` (the connection is then closed, failing every other
    /// in-flight request with `.connectionFailed`), with `.connectionFailed` when the connection
    /// drops, or with `.protocolError` when the response cannot be decoded (which also closes it).
    func send<Request: KafkaRequestMessage, Response: KafkaResponseMessage>(
        _ request: Request, version: Int16, expecting: Response.Type
    ) -> EventLoopFuture<Response> {
        let promise = eventLoop.makePromise(of: Response.self)
        if eventLoop.inEventLoop {
            handler.value.send(request, version: version, promise: promise)
        } else {
            eventLoop.execute { [handler] in handler.value.send(request, version: version, promise: promise) }
        }
        return promise.futureResult
    }

    /// Sends a request that gets no response (Produce with acks=0); completes once it is written
    /// and flushed. A response that arrives anyway (the librdkafka mock sends one) is dropped.
    func sendWithoutResponse<Request: KafkaRequestMessage>(_ request: Request, version: Int16) -> EventLoopFuture<Void>
    {
        let promise = eventLoop.makePromise(of: Void.self)
        if eventLoop.inEventLoop {
            handler.value.sendWithoutResponse(request, version: version, promise: promise)
        } else {
            eventLoop.execute { [handler] in
                handler.value.sendWithoutResponse(request, version: version, promise: promise)
            }
        }
        return promise.futureResult
    }

    /// Closes the connection, failing every in-flight request with `.connectionFailed`. Completes
    /// when the channel is closed.
    func close() -> EventLoopFuture<Void> {
        if eventLoop.inEventLoop {
            handler.value.close()
        } else {
            eventLoop.execute { [handler] in handler.value.close() }
        }
        return channel.closeFuture
    }
}

/// An ApiVersions answer read with the negotiation rule (`ApiVersionsResponse.readNegotiating`):
/// an UNSUPPORTED_VERSION body is not trusted beyond its error code.
struct ApiVersionsNegotiationResponse: KafkaResponseMessage {
    static let apiKey = ApiVersionsResponse.apiKey
    static let supportedVersions = ApiVersionsResponse.supportedVersions
    static let firstFlexibleVersion = ApiVersionsResponse.firstFlexibleVersion

    var outcome: ApiVersionsResponse.NegotiationOutcome

    static func read(from buffer: inout ByteBuffer, version: Int16) throws -> ApiVersionsNegotiationResponse {
        ApiVersionsNegotiationResponse(
            outcome: try ApiVersionsResponse.readNegotiating(from: &buffer, version: version))
    }
}
