import KafkaWire
import Logging
import NIOCore
import NIOPosix

#if canImport(Glibc)
    import Glibc
#endif

/// Asks a cluster what a producer's settings must fit: Metadata for some topics, and
/// DescribeConfigs for those topics and for every broker. Read-only: the Metadata request does
/// not allow auto-creation, so inspecting a topic never creates it.
///
/// The I/O shell of `tributary doctor`; the facts it returns (`KafkaClusterDescription`) are
/// judged elsewhere. It speaks through the producer's own connections (`BrokerConnection`):
/// the same version negotiation, timeouts and client id.
public struct KafkaClusterInspector: Sendable {
    /// The bootstrap servers, tried in order until one answers.
    public var bootstrapServers: [KafkaBrokerAddress]
    /// The `client.id` sent with every request.
    public var clientId: String
    /// How long one request may wait for its answer (`request.timeout.ms`). Default: 30 s.
    public var requestTimeout: Duration = .seconds(30)
    /// How long one TCP connect may take (`socket.connection.setup.timeout.ms`). Default: 10 s.
    public var connectTimeout: Duration = .seconds(10)
    public var logger = Logger(label: "tributary.inspector")
    /// `security.protocol` with the `ssl.*` and `sasl.*` settings it uses. Default: PLAINTEXT.
    public var securityProtocol: KafkaSecurityProtocol = .plaintext
    public var tls = KafkaTLSConfiguration()
    public var sasl: KafkaSASLConfiguration?

    public init(bootstrapServers: [KafkaBrokerAddress], clientId: String) {
        self.bootstrapServers = bootstrapServers
        self.clientId = clientId
    }

    /// Takes the servers, client id and timeouts of a producer configuration.
    public init(configuration: KafkaProducerConfiguration) {
        self.init(bootstrapServers: configuration.bootstrapServers, clientId: configuration.clientId)
        requestTimeout = configuration.requestTimeout
        connectTimeout = configuration.socketConnectionSetupTimeout
        securityProtocol = configuration.securityProtocol
        tls = configuration.tls
        sasl = configuration.sasl
    }

    /// Describes `topics` and every broker, asking only for the given configuration keys (nil:
    /// all of them). Throws only when no bootstrap server answers Metadata; every later failure
    /// (a broker that cannot be reached, a resource the broker refuses) is recorded in the result.
    public func inspect(topics: [String], topicConfigKeys: [String]?, brokerConfigKeys: [String]?) async throws
        -> KafkaClusterDescription
    {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        do {
            let result = try await inspect(
                topics: topics, topicConfigKeys: topicConfigKeys, brokerConfigKeys: brokerConfigKeys,
                on: group.next())
            try? await group.shutdownGracefully()
            return result
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
    }

    private func makeSettings() throws -> BrokerConnection.Settings {
        BrokerConnection.Settings(
            clientId: clientId, requestTimeout: TimeAmount(requestTimeout), connectTimeout: TimeAmount(connectTimeout),
            maxInFlightRequests: 1,
            security: BrokerSecurity(
                tlsContext: securityProtocol.usesTLS ? try tls.makeContext() : nil,
                sasl: securityProtocol.usesSASL ? sasl : nil))
    }

    private func inspect(
        topics topicNames: [String], topicConfigKeys: [String]?, brokerConfigKeys: [String]?,
        on eventLoop: any EventLoop
    ) async throws -> KafkaClusterDescription {
        let settings = try makeSettings()
        let (bootstrap, metadata) = try await bootstrapMetadata(topics: topicNames, settings: settings, on: eventLoop)
        var description = KafkaClusterDescription(
            bootstrapBroker: bootstrap.address, metadata: metadata, topicNames: topicNames)

        let existing = description.topics.filter(\.exists).map(\.name)
        if !existing.isEmpty {
            let request = DescribeConfigsRequest(
                resources: existing.map {
                    .init(resourceType: .topic, resourceName: $0, configurationKeys: topicConfigKeys)
                })
            do {
                for result in try await describeConfigs(request, on: bootstrap).results {
                    description.record(result)
                }
            } catch {
                for index in description.topics.indices where description.topics[index].exists {
                    description.topics[index].configError =
                        Self.reason(error, target: "bootstrap server \(bootstrap.address)")
                }
            }
        }
        _ = try? await bootstrap.close().get()

        // BROKER resources are answered only by the broker they name, so each is asked itself.
        for index in description.brokers.indices {
            let broker = description.brokers[index]
            let request = DescribeConfigsRequest(resources: [
                .init(resourceType: .broker, resourceName: "\(broker.nodeId)", configurationKeys: brokerConfigKeys)
            ])
            do {
                let connection = try await BrokerConnection.connect(
                    to: broker.address, nodeId: broker.nodeId, settings: settings, on: eventLoop, logger: logger
                ).get()
                defer { _ = connection.close() }
                let response = try await describeConfigs(request, on: connection)
                guard response.results.contains(where: { $0.resourceType == .broker }) else {
                    description.brokers[index].configError =
                        "DescribeConfigs BROKER \(broker.nodeId) to broker \(broker.nodeId) (\(broker.address)) got no result for it"
                    continue
                }
                for result in response.results { description.record(result) }
            } catch {
                description.brokers[index].configError = Self.reason(
                    error, target: "broker \(broker.nodeId) (\(broker.address))")
            }
        }
        return description
    }

    /// Connects to the first bootstrap server that answers and asks it for Metadata.
    private func bootstrapMetadata(
        topics: [String], settings: BrokerConnection.Settings, on eventLoop: any EventLoop
    ) async throws -> (
        BrokerConnection, MetadataResponse
    ) {
        var failures: [String] = []
        for address in bootstrapServers {
            let connection: BrokerConnection
            do {
                connection = try await BrokerConnection.connect(
                    to: address, nodeId: -1, settings: settings, on: eventLoop, logger: logger
                ).get()
            } catch {
                failures.append(Self.reason(error, target: "bootstrap server \(address)"))
                continue
            }
            // Auto-creation cannot be refused below Metadata v4 (Kafka 0.11), which no broker
            // this client supports lacks; an offer without v4+ is an unsupported broker.
            guard let version = connection.version(for: MetadataRequest.self), version >= 4 else {
                _ = try? await connection.close().get()
                // Another bootstrap server may be a newer broker.
                failures.append(
                    "bootstrap server \(address): offers no Metadata version from v4 on, which this client needs")
                continue
            }
            do {
                let response = try await connection.send(
                    MetadataRequest(topicNames: topics, allowAutoTopicCreation: false), version: version,
                    expecting: MetadataResponse.self
                ).get()
                guard response.errorCode == 0 else {
                    throw KafkaClusterInspectionError(
                        .metadataFailed,
                        "Metadata v\(version) to \(address) failed with \(KafkaErrorCode(rawValue: response.errorCode))"
                    )
                }
                return (connection, response)
            } catch let error as KafkaClusterInspectionError {
                _ = try? await connection.close().get()
                throw error
            } catch {
                _ = try? await connection.close().get()
                throw KafkaClusterInspectionError(
                    .metadataFailed, Self.reason(error, target: "bootstrap server \(address)"),
                    cause: error)
            }
        }
        throw KafkaClusterInspectionError(
            .bootstrapFailed,
            "no bootstrap server could be reached: "
                + (failures.isEmpty ? "none configured" : failures.joined(separator: "; ")))
    }

    /// Sends DescribeConfigs at the highest version both sides speak.
    private func describeConfigs(_ request: DescribeConfigsRequest, on connection: BrokerConnection) async throws
        -> DescribeConfigsResponse
    {
        guard let version = connection.version(for: DescribeConfigsRequest.self) else {
            throw KafkaClusterInspectionError(
                .unsupportedBroker,
                "broker \(connection.nodeId) (\(connection.address)) offers no DescribeConfigs version from v\(DescribeConfigsRequest.supportedVersions.lowerBound) to v\(DescribeConfigsRequest.supportedVersions.upperBound)"
            )
        }
        return try await connection.send(request, version: version, expecting: DescribeConfigsResponse.self).get()
    }

    /// A failure as one sentence naming `target`: the connection layer's message without its
    /// cause's dump, a failed connect in the system's words.
    static func reason(_ error: any Error, target: String) -> String {
        if let error = error as? KafkaClusterInspectionError { return error.message }
        guard let error = error as? KafkaProducerError else { return "\(target): \(error)" }
        if let cause = error.cause as? NIOConnectionError, let first = cause.connectionErrors.first {
            let text = (first.error as? IOError).map { String(cString: strerror($0.errnoCode)) } ?? "\(first.error)"
            return "could not connect to \(target): \(text)"
        }
        // Bootstrap connections have no node id yet (−1): name them as the user wrote them.
        return error.message.replacing("broker -1 (", with: "bootstrap server (")
    }
}
