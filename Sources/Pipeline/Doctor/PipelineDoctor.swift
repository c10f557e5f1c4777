import KafkaClient
import KafkaWire

/// The checks of `tributary doctor`: a producer's settings only hold if the cluster's settings
/// fit them. Takes each route's effective settings and what the cluster said
/// (`KafkaClusterDescription`), returns the report. Pure: no I/O, so tests state a cluster and
/// read the findings.
///
/// Errors are what will fail, warnings what loses durability or speed, infos advice. A cluster
/// at Kafka's defaults with replication factor 3 and `min.insync.replicas=2` gets no error and
/// no warning for routes at the agent's defaults.
public struct PipelineDoctor: Sendable {
    /// The topic configuration the checks read.
    public static let topicConfigKeys = ["min.insync.replicas", "max.message.bytes", "compression.type"]
    /// The broker configuration the checks read.
    public static let brokerConfigKeys = [
        "auto.create.topics.enable", "num.partitions", "default.replication.factor", "min.insync.replicas",
        "message.max.bytes", "compression.type", "num.replica.fetchers", "replica.fetch.max.bytes",
        "replica.socket.receive.buffer.bytes", "num.io.threads",
    ]

    /// Kafka's `replica.socket.receive.buffer.bytes` default (64 KiB).
    static let defaultReplicaSocketReceiveBuffer = 65_536
    /// Kafka's `num.io.threads` default.
    static let defaultIoThreads = 8
    /// What Kafka adds to a batch before comparing it with `max.message.bytes`: the offset and
    /// length of its log entry (Kafka's `LOG_OVERHEAD`). Why the default is 1048588 = 1 MiB + 12.
    static let logOverhead = 12

    public let routes: [DoctorRoute]
    public let cluster: KafkaClusterDescription

    public init(routes: [DoctorRoute], cluster: KafkaClusterDescription) {
        self.routes = routes
        self.cluster = cluster
    }

    /// Runs every check.
    public func diagnose() -> DoctorReport {
        var findings: [DoctorFinding] = []
        var reports: [DoctorReport.RouteReport] = []
        findings += brokerAvailabilityFindings()
        for route in routes {
            var topics: [DoctorTopic] = []
            if let template = route.topicTemplate {
                findings.append(
                    DoctorFinding(
                        .info, .topicFromRecords, route: route.name,
                        message: "the topic \(template) depends on each record; "
                            + (route.topics.isEmpty
                                ? "no topic can be checked" : "only the fallback topic \(route.topics[0]) is checked"),
                        reason: "Topics made from record fields are known only while running; create them "
                            + "ahead or let the brokers auto-create them with the settings checked here."))
            }
            for name in route.topics {
                let (topic, topicFindings) = describeTopic(name, route: route)
                topics.append(topic)
                findings += topicFindings
                findings += durabilityFindings(route, topic)
                findings += sizeFindings(route, topic)
                findings += compressionFindings(route, topic)
            }
            reports.append(DoctorReport.RouteReport(route: route, topics: topics))
        }
        findings += brokerSettingFindings()
        return DoctorReport(cluster: cluster, routes: reports, findings: Self.ordered(findings))
    }

    /// Errors first; otherwise in the order found (routes in file order, then brokers).
    static func ordered(_ findings: [DoctorFinding]) -> [DoctorFinding] {
        var seen = Set<DoctorFinding>()
        let unique = findings.filter { seen.insert($0).inserted }
        return unique.enumerated().sorted { a, b in
            a.element.severity != b.element.severity ? a.element.severity > b.element.severity : a.offset < b.offset
        }.map(\.element)
    }

    // MARK: Topics

    private func describeTopic(_ name: String, route: DoctorRoute) -> (DoctorTopic, [DoctorFinding]) {
        var findings: [DoctorFinding] = []
        guard let topic = cluster.topic(name) else {
            return (DoctorTopic(name: name, state: .missing), [])
        }
        if topic.exists {
            var reader = ConfigReader(configs: topic.configs, place: "topic \(name)", route: route.name, topic: name)
            if let problem = topic.configError {
                findings.append(
                    DoctorFinding(
                        .error, .configsUnavailable, route: route.name, topic: name,
                        message: "the configuration of topic \(name) could not be read: \(problem)",
                        reason: "min.insync.replicas, max.message.bytes and compression.type decide whether "
                            + "writes succeed; without them they cannot be checked."))
            }
            let described = DoctorTopic(
                name: name, state: .exists, partitions: topic.partitions.count,
                replicationFactor: topic.replicationFactor,
                minInsyncReplicas: reader.integer("min.insync.replicas"),
                maxMessageBytes: reader.integer("max.message.bytes"),
                compressionType: reader.string("compression.type"))
            findings += reader.findings
            if topic.configError == nil, let finding = reader.notReported("the topic") { findings.append(finding) }
            findings += partitionFindings(route, topic, minInsyncReplicas: described.minInsyncReplicas)
            return (described, findings)
        }
        guard topic.error == .unknownTopicOrPartition else {
            findings.append(
                DoctorFinding(
                    .error, .topicUnavailable, route: route.name, topic: name,
                    message: "Metadata for topic \(name) failed with \(topic.error)",
                    reason: "The producer gets the same answer and cannot write the route's records."))
            return (DoctorTopic(name: name, state: .unavailable(topic.error)), findings)
        }
        // A missing topic is created on the first write if the broker asked allows it; its
        // settings are then the brokers' defaults, which the other checks judge.
        let described = cluster.brokers.filter { $0.configError == nil && !$0.configs.isEmpty }
        var reader = ConfigReader(
            configs: described.first?.configs ?? [:], place: "broker \(described.first?.nodeId ?? -1)",
            route: route.name, topic: name, brokers: described.first.map { [$0.nodeId] } ?? [])
        let autoCreate = described.map { $0.configs["auto.create.topics.enable"]?.value?.lowercased() }
        if !autoCreate.isEmpty, autoCreate.allSatisfy({ $0 == "true" }) {
            let predicted = DoctorTopic(
                name: name, state: .willBeAutoCreated, partitions: reader.integer("num.partitions"),
                replicationFactor: reader.integer("default.replication.factor"),
                minInsyncReplicas: reader.integer("min.insync.replicas"),
                maxMessageBytes: reader.integer("message.max.bytes"),
                compressionType: reader.string("compression.type"))
            findings += reader.findings
            findings.append(
                DoctorFinding(
                    .info, .topicAutoCreated, route: route.name, topic: name,
                    message: "topic \(name) does not exist; the brokers create it on the first write with "
                        + "\(predicted.partitions.map { DoctorReport.counted($0, "partition") } ?? "? partitions") and replication factor "
                        + "\(predicted.replicationFactor.map(String.init) ?? "?") (num.partitions, default.replication.factor)",
                    reason: "Auto-created topics take the brokers' defaults; create the topic yourself to "
                        + "choose its partitions and replication."))
            return (predicted, findings)
        }
        let why =
            autoCreate.isEmpty
            ? "and no broker's auto.create.topics.enable could be read"
            // Brokers that disagree: whether it is created depends on which one the producer asks.
            : "and auto.create.topics.enable is not true on "
                + Self.brokerList(zip(described, autoCreate).filter { $0.1 != "true" }.map(\.0.nodeId))
        findings.append(
            DoctorFinding(
                .error, .topicNotFound, route: route.name, topic: name,
                message: "topic \(name) does not exist \(why)",
                reason: "Every record of the route waits max.block.ms for metadata and then fails "
                    + "(UNKNOWN_TOPIC_OR_PARTITION); create the topic."))
        return (DoctorTopic(name: name, state: .missing), findings)
    }

    private func partitionFindings(
        _ route: DoctorRoute, _ topic: KafkaClusterDescription.Topic, minInsyncReplicas: Int?
    ) -> [DoctorFinding] {
        var findings: [DoctorFinding] = []
        let name = topic.name
        let leaderless = topic.partitions.filter { $0.leaderId < 0 }.map(\.index)
        if !leaderless.isEmpty {
            findings.append(
                DoctorFinding(
                    .error, .partitionWithoutLeader, route: route.name, topic: name,
                    message: "partitions \(Self.list(leaderless)) of \(name) have no leader",
                    reason: "Writes to them wait for a leader and fail after delivery.timeout.ms."))
        }
        // Above the replication factor, every partition is short: the durability check says so once.
        if route.acks == .all, let minInsyncReplicas, minInsyncReplicas <= topic.replicationFactor ?? 0 {
            let short = topic.partitions.filter { $0.leaderId >= 0 && $0.isrNodes.count < minInsyncReplicas }
            if !short.isEmpty {
                findings.append(
                    DoctorFinding(
                        .error, .isrBelowMinInsyncReplicas, route: route.name, topic: name,
                        message: "partitions \(Self.list(short.map(\.index))) of \(name) have fewer in-sync "
                            + "replicas than min.insync.replicas=\(minInsyncReplicas)",
                        reason: "acks=all writes to them fail with NOT_ENOUGH_REPLICAS until followers catch up."))
            }
        }
        let under = topic.partitions.filter { $0.leaderId >= 0 && $0.isrNodes.count < $0.replicaNodes.count }
        if !under.isEmpty {
            findings.append(
                DoctorFinding(
                    .warning, .underReplicatedPartitions, route: route.name, topic: name,
                    message: "partitions \(Self.list(under.map(\.index))) of \(name) are under-replicated "
                        + "(fewer in-sync replicas than replicas)",
                    reason: "A record acknowledged now has fewer copies than the replication factor promises."))
        }
        return findings
    }

    // MARK: Durability: acks, min.insync.replicas, replication factor

    private func durabilityFindings(_ route: DoctorRoute, _ topic: DoctorTopic) -> [DoctorFinding] {
        guard topic.state == .exists || topic.state == .willBeAutoCreated else { return [] }
        var findings: [DoctorFinding] = []
        let name = topic.name
        func finding(
            _ severity: DoctorFinding.Severity, _ code: DoctorFinding.Code, _ message: String, _ reason: String
        ) {
            findings.append(
                DoctorFinding(severity, code, route: route.name, topic: name, message: message, reason: reason))
        }
        switch route.acks {
        case .none:
            finding(
                .warning, .acks0, "route \(route.name) writes \(name) with acks=0",
                "No broker confirms anything: a record counts as delivered once written to the socket, so "
                    + "a broker restart loses it and the file checkpoint moves past it. Use acks=all.")
        case .leader:
            finding(
                .warning, .acks1, "route \(route.name) writes \(name) with acks=1",
                "Only the leader has an acknowledged record; if it fails before a follower copies the "
                    + "record, the new leader does not have it. Use acks=all.")
        case .all:
            break
        }
        if let replicationFactor = topic.replicationFactor {
            if route.acks == .all, let minInsync = topic.minInsyncReplicas {
                if minInsync > replicationFactor {
                    finding(
                        .error, .minInsyncReplicasAboveReplicationFactor,
                        "min.insync.replicas=\(minInsync) of \(name) is above its replication factor \(replicationFactor)",
                        "Every acks=all write fails with NOT_ENOUGH_REPLICAS: there can never be that many "
                            + "in-sync replicas. Lower min.insync.replicas or add replicas.")
                } else if replicationFactor > 1, minInsync == replicationFactor {
                    finding(
                        .warning, .minInsyncReplicasEqualsReplicationFactor,
                        "min.insync.replicas=\(minInsync) of \(name) equals its replication factor",
                        "One broker down, restarting or lagging stops every acks=all write "
                            + "(NOT_ENOUGH_REPLICAS). Use replication factor 3 with min.insync.replicas=2.")
                } else if replicationFactor > 1, minInsync <= 1 {
                    finding(
                        .warning, .minInsyncReplicas1,
                        "acks=all with min.insync.replicas=\(minInsync) on \(name) (replication factor \(replicationFactor))",
                        "When the followers drop out of the ISR, acks=all waits for the leader alone: an "
                            + "acknowledged record can then be lost with one broker. Set min.insync.replicas=2.")
                }
            }
            if replicationFactor == 1 {
                finding(
                    .warning, .replicationFactor1, "topic \(name) has replication factor 1",
                    "Each partition lives on one broker: losing its disk loses the records, and while it "
                        + "is down the partition takes no writes. Use replication factor 3.")
            }
        }
        return findings
    }

    // MARK: Sizes

    private func sizeFindings(_ route: DoctorRoute, _ topic: DoctorTopic) -> [DoctorFinding] {
        guard let limit = topic.maxMessageBytes else { return [] }
        let setting =
            topic.state == .exists
            ? "max.message.bytes=\(limit) of \(topic.name)"
            : "message.max.bytes=\(limit) of the brokers (the new topic's max.message.bytes)"
        if route.batchSize + Self.logOverhead > limit {
            return [
                DoctorFinding(
                    .error, .batchSizeAboveMaxMessageBytes, route: route.name, topic: topic.name,
                    message: "batch.size=\(route.batchSize) of route \(route.name) does not fit \(setting): "
                        + "a batch counts \(Self.logOverhead) bytes more there",
                    reason: "Full batches are refused with MESSAGE_TOO_LARGE and their records fail. Lower "
                        + "batch.size or raise the topic's max.message.bytes.")
            ]
        }
        if route.maxRequestSize + Self.logOverhead > limit {
            return [
                DoctorFinding(
                    .error, .maxRequestSizeAboveMaxMessageBytes, route: route.name, topic: topic.name,
                    message: "max.request.size=\(route.maxRequestSize) lets route \(route.name) send records "
                        + "larger than \(setting) accepts",
                    reason: "A record above \(limit - Self.logOverhead - 61) bytes (less the batch's own header) "
                        + "passes the producer and is refused by the broker with MESSAGE_TOO_LARGE. Lower "
                        + "max.request.size to \(limit - Self.logOverhead) or raise max.message.bytes.")
            ]
        }
        return []
    }

    // MARK: Compression

    private func compressionFindings(_ route: DoctorRoute, _ topic: DoctorTopic) -> [DoctorFinding] {
        guard let type = topic.compressionType?.lowercased(), type != "producer" else { return [] }
        let ours = route.compression.codec == .none ? "uncompressed" : route.compression.codec.description
        guard type != ours, !(type == "none" && ours == "uncompressed") else { return [] }
        return [
            DoctorFinding(
                .warning, .topicRecompresses, route: route.name, topic: topic.name,
                message: "topic \(topic.name) has compression.type=\(type); route \(route.name) sends \(ours)",
                reason: "The broker decompresses every batch and compresses it again as \(type): broker CPU "
                    + "per byte and higher produce latency. Set the topic's compression.type to producer "
                    + "or the route's compression.type to \(type == "uncompressed" ? "none" : type).")
        ]
    }

    // MARK: Brokers

    private func brokerAvailabilityFindings() -> [DoctorFinding] {
        cluster.brokers.compactMap { broker in
            guard let problem = broker.configError else { return nil }
            return DoctorFinding(
                .error, .configsUnavailable, brokers: [broker.nodeId],
                message: "broker \(broker.nodeId) (\(broker.address)): \(problem)",
                reason: "The producer connects to every broker that leads a partition it writes; a broker "
                    + "this machine cannot reach or ask fails those writes, and its settings cannot be checked.")
        }
    }

    private func brokerSettingFindings() -> [DoctorFinding] {
        let writesAcksAll = routes.contains { $0.acks == .all && !$0.topics.isEmpty }
        let largestBatch = routes.filter { !$0.topics.isEmpty }.map(\.largestBatch).max()
        // One finding per check and value, naming every broker that has it.
        var grouped: [(key: String, finding: DoctorFinding)] = []
        func add(_ finding: DoctorFinding, broker: Int32, key: String) {
            if let index = grouped.firstIndex(where: { $0.key == key }) {
                grouped[index].finding.brokers.append(broker)
            } else {
                var finding = finding
                finding.brokers = [broker]
                grouped.append((key, finding))
            }
        }
        for broker in cluster.brokers where broker.configError == nil {
            var reader = ConfigReader(configs: broker.configs, place: nil)
            if writesAcksAll, let fetchers = reader.integer("num.replica.fetchers"), fetchers <= 1 {
                add(
                    DoctorFinding(
                        .info, .numReplicaFetchers1, message: "num.replica.fetchers=\(fetchers)",
                        reason: "One fetcher thread per source broker copies every partition a broker follows "
                            + "from it, and acks=all waits for that copy: it bounds acks=all throughput. "
                            + "Raise it (2–4) when followers lag or drop out of the ISR under load."),
                    broker: broker.nodeId, key: "fetchers=\(fetchers)")
            }
            if let fetchMax = reader.integer("replica.fetch.max.bytes") {
                let messageMax = reader.integer("message.max.bytes")
                if let largestBatch, fetchMax < largestBatch {
                    add(
                        DoctorFinding(
                            .warning, .replicaFetchMaxBytesBelowBatch,
                            message: "replica.fetch.max.bytes=\(fetchMax) is below the largest batch the "
                                + "routes send (\(largestBatch) bytes)",
                            reason: "Since KIP-74 a follower still fetches a batch larger than this, so "
                                + "replication does not stall; but only the first partition of each fetch may "
                                + "exceed it, so the others wait for later fetches: it bounds replication, and "
                                + "acks=all latency, per round trip. Raise it to at least max.request.size."),
                        broker: broker.nodeId, key: "fetch<batch=\(fetchMax)")
                } else if let messageMax,
                    case let (limit, overflow) = messageMax.subtractingReportingOverflow(
                        Self.logOverhead), !overflow, fetchMax < limit
                {
                    add(
                        DoctorFinding(
                            .info, .replicaFetchMaxBytesBelowMessageMaxBytes,
                            message: "replica.fetch.max.bytes=\(fetchMax) is below message.max.bytes=\(messageMax)",
                            reason: "Since KIP-74 a larger batch is still replicated, alone in its fetch, so "
                                + "nothing stalls; other producers' large batches slow replication. Keep "
                                + "replica.fetch.max.bytes at least message.max.bytes."),
                        broker: broker.nodeId, key: "fetch<message=\(fetchMax)/\(messageMax)")
                }
            }
            if let buffer = reader.integer("replica.socket.receive.buffer.bytes"), buffer != -1 {
                if buffer < Self.defaultReplicaSocketReceiveBuffer {
                    add(
                        DoctorFinding(
                            .warning, .replicaSocketReceiveBufferSmall,
                            message: "replica.socket.receive.buffer.bytes=\(buffer) is below Kafka's default 65536",
                            reason: "A follower's fetch connection can have at most this many bytes in "
                                + "flight: replication per broker pair is bounded by buffer / round trip "
                                + "(\(buffer / 1024) KiB per 1 ms). Use -1 (the kernel's autotuning) or more."),
                        broker: broker.nodeId, key: "socket<default=\(buffer)")
                } else if buffer == Self.defaultReplicaSocketReceiveBuffer {
                    add(
                        DoctorFinding(
                            .info, .replicaSocketReceiveBufferFixed,
                            message: "replica.socket.receive.buffer.bytes=\(buffer) (Kafka's default)",
                            reason: "A fixed 64 KiB window bounds each follower connection to 64 KiB per round "
                                + "trip: about 6.5 MB/s at 10 ms between racks or zones. Use -1 (the kernel's "
                                + "autotuning) when brokers are not on one LAN."),
                        broker: broker.nodeId, key: "socket=default")
                }
            }
            if let threads = reader.integer("num.io.threads"), threads < Self.defaultIoThreads {
                add(
                    DoctorFinding(
                        .warning, .numIoThreadsLow, message: "num.io.threads=\(threads) is below Kafka's default 8",
                        reason: "These threads handle every request, Produce included, and write to the log; "
                            + "too few queue produce requests (RequestQueueTimeMs) and add latency to every "
                            + "batch. Use at least 8, or the number of disks if more."),
                    broker: broker.nodeId, key: "io=\(threads)")
            }
            for finding in reader.findings + [reader.notReported("the brokers")].compactMap({ $0 }) {
                add(finding, broker: broker.nodeId, key: "\(finding.code):\(finding.message)")
            }
        }
        return grouped.map { entry in
            var finding = entry.finding
            finding.message = "\(Self.brokerList(finding.brokers)): " + finding.message
            return finding
        }
    }

    static func list(_ values: [Int32]) -> String {
        let shown = values.prefix(10).map(String.init).joined(separator: ", ")
        return values.count > 10 ? shown + " and \(values.count - 10) more" : shown
    }

    static func brokerList(_ brokers: [Int32]) -> String {
        (brokers.count == 1 ? "broker " : "brokers ") + list(brokers)
    }
}

/// Reads configuration values, noting the ones that do not parse (a broker could send anything)
/// and the ones not reported at all (Tansu, for one, describes no configuration).
struct ConfigReader {
    let configs: [String: KafkaConfigEntry]
    /// Prefixes messages ("topic logs"); nil where the caller names the place itself.
    let place: String?
    var route: String? = nil
    var topic: String? = nil
    var brokers: [Int32] = []
    private(set) var findings: [DoctorFinding] = []
    /// Keys asked for that the broker did not report, in the order asked.
    private(set) var missing: [String] = []

    init(
        configs: [String: KafkaConfigEntry], place: String?, route: String? = nil, topic: String? = nil,
        brokers: [Int32] = []
    ) {
        self.configs = configs
        self.place = place
        self.route = route
        self.topic = topic
        self.brokers = brokers
    }

    mutating func string(_ key: String) -> String? {
        guard let value = configs[key]?.value else {
            if configs[key] == nil, !missing.contains(key) { missing.append(key) }
            return nil
        }
        return value
    }

    mutating func integer(_ key: String) -> Int? {
        guard let text = string(key) else { return nil }
        // Kafka's settings read here are Java ints: anything outside that range is a broken
        // answer, and refusing it keeps the checks' arithmetic far from overflow.
        guard let value = Int(text), Int(Int32.min)...Int(Int32.max) ~= value else {
            findings.append(
                DoctorFinding(
                    .warning, .configUnreadable, route: route, topic: topic, brokers: brokers,
                    message: (place.map { "\($0): " } ?? "") + "\(key)=\(text) is not a 32-bit integer",
                    reason: "The checks that depend on \(key) were skipped."))
            return nil
        }
        return value
    }

    /// An info naming the keys that were not reported, or nil when all were.
    func notReported(_ checks: String) -> DoctorFinding? {
        guard !missing.isEmpty else { return nil }
        return DoctorFinding(
            .info, .configNotReported, route: route, topic: topic, brokers: brokers,
            message: (place.map { "\($0): " } ?? "") + "the broker reported no "
                + missing.joined(separator: ", "),
            reason: "The checks of \(checks) that depend on them were skipped.")
    }
}
