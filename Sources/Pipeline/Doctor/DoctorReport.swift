import KafkaClient
import KafkaWire

/// What `tributary doctor` prints: the facts per route and topic, the findings, and the exit
/// status they make (0 clean, 1 warnings, 2 errors).
public struct DoctorReport: Sendable, Hashable {
    /// One route with what its topics are like.
    public struct RouteReport: Sendable, Hashable {
        public var route: DoctorRoute
        public var topics: [DoctorTopic]
    }

    /// The version of the `--json` shape; raised only when a field changes meaning or goes away.
    public static let formatVersion = 1

    /// What the cluster said; nil when it could not be reached at all.
    public var cluster: KafkaClusterDescription?
    public var routes: [RouteReport]
    /// Errors first.
    public var findings: [DoctorFinding]

    public init(cluster: KafkaClusterDescription?, routes: [RouteReport], findings: [DoctorFinding]) {
        self.cluster = cluster
        self.routes = routes
        self.findings = findings
    }

    /// The report when no broker could be asked anything.
    public static func unreachable(_ error: any Error, routes: [DoctorRoute]) -> DoctorReport {
        DoctorReport(
            cluster: nil, routes: routes.map { RouteReport(route: $0, topics: []) },
            findings: [
                DoctorFinding(
                    .error, .clusterUnreachable, message: "\(error)",
                    reason: "The producer would not reach the cluster either: every record waits "
                        + "max.block.ms and then fails.")
            ])
    }

    /// The report when the pipeline file does not load: one error per problem, so that `--json`
    /// still prints one object a machine can read.
    public static func invalidPipeline(_ problems: [String]) -> DoctorReport {
        DoctorReport(
            cluster: nil, routes: [],
            findings: problems.map {
                DoctorFinding(
                    .error, .pipelineInvalid, message: $0,
                    reason: "The agent would refuse to start with this file (`tributary validate` says the same).")
            })
    }

    /// The worst severity found, nil when nothing was.
    public var worst: DoctorFinding.Severity? { findings.map(\.severity).max() }

    /// 2 with errors, 1 with warnings, else 0.
    public var exitStatus: Int32 {
        switch worst {
        case .error: 2
        case .warning: 1
        case .info, nil: 0
        }
    }

    func count(_ severity: DoctorFinding.Severity) -> Int { findings.filter { $0.severity == severity }.count }

    // MARK: Text

    /// The report for people.
    public func text() -> String {
        var lines: [String] = []
        if let cluster {
            let brokers = cluster.brokers.map { "\($0.nodeId) at \($0.address)" }.joined(separator: ", ")
            lines.append(
                "cluster \(cluster.clusterId ?? "(no id)") via \(cluster.bootstrapBroker): "
                    + "\(cluster.brokers.count) broker\(cluster.brokers.count == 1 ? "" : "s") (\(brokers))")
        }
        for report in routes {
            let route = report.route
            let target = route.topicTemplate ?? route.topics.first ?? "?"
            lines.append("")
            lines.append(
                "route \(route.name) → \(target): acks=\(route.acks), batch.size=\(route.batchSize), "
                    + "max.request.size=\(route.maxRequestSize), compression.type=\(route.compression.codec)")
            for topic in report.topics { lines.append("  topic " + Self.describe(topic)) }
            for finding in findings where finding.route == route.name { lines += Self.lines(finding) }
        }
        let others = findings.filter { $0.route == nil }
        if !others.isEmpty {
            lines.append("")
            lines.append(cluster == nil ? "cluster" : "brokers")
            for finding in others { lines += Self.lines(finding) }
        }
        lines.append("")
        lines.append(
            "\(Self.counted(count(.error), "error")), \(Self.counted(count(.warning), "warning")), "
                + "\(Self.counted(count(.info), "info", plural: "infos")): exit \(exitStatus)")
        return lines.joined(separator: "\n") + "\n"
    }

    static func describe(_ topic: DoctorTopic) -> String {
        var parts: [String] = []
        switch topic.state {
        case .exists: parts.append("exists")
        case .willBeAutoCreated: parts.append("will be auto-created")
        case .missing: parts.append("does not exist")
        case .unavailable(let error): parts.append("unavailable (\(error))")
        }
        if let partitions = topic.partitions { parts.append(counted(partitions, "partition")) }
        if let replicationFactor = topic.replicationFactor { parts.append("replication factor \(replicationFactor)") }
        if let value = topic.minInsyncReplicas { parts.append("min.insync.replicas=\(value)") }
        if let value = topic.maxMessageBytes { parts.append("max.message.bytes=\(value)") }
        if let value = topic.compressionType { parts.append("compression.type=\(value)") }
        return "\(topic.name): " + parts.joined(separator: ", ")
    }

    static func lines(_ finding: DoctorFinding) -> [String] {
        ["  \(finding.severity.rawValue) [\(finding.code)] \(finding.message)", "      why: \(finding.reason)"]
    }

    static func counted(_ count: Int, _ word: String, plural: String? = nil) -> String {
        "\(count) \(count == 1 ? word : plural ?? word + "s")"
    }

    // MARK: JSON

    /// The report for machines (README, "`tributary doctor`", has the shape).
    public func json() -> String {
        DoctorJSON.object([
            ("formatVersion", .integer(Self.formatVersion)),
            ("status", .string(worst.map { $0 == .info ? "ok" : $0 == .warning ? "warnings" : "errors" } ?? "ok")),
            ("exitStatus", .integer(Int(exitStatus))),
            (
                "counts",
                .object(DoctorFinding.Severity.allCases.reversed().map { ($0.rawValue, .integer(count($0))) })
            ),
            ("cluster", cluster.map(Self.json) ?? .null),
            ("routes", .array(routes.map(Self.json))),
            ("findings", .array(findings.map(Self.json))),
        ]).rendered() + "\n"
    }

    /// The entries the checks read (a broker describes some 200), in key order.
    static func json(_ configs: [String: KafkaConfigEntry]) -> DoctorJSON {
        .object(
            configs.filter { PipelineDoctor.brokerConfigKeys.contains($0.key) }.sorted { $0.key < $1.key }.map {
                ($0.key, .optional($0.value.value))
            })
    }

    static func json(_ cluster: KafkaClusterDescription) -> DoctorJSON {
        .object([
            ("bootstrapBroker", .string(cluster.bootstrapBroker.description)),
            ("clusterId", .optional(cluster.clusterId)),
            ("controllerId", .integer(Int(cluster.controllerId))),
            (
                "brokers",
                .array(
                    cluster.brokers.map { broker in
                        .object([
                            ("nodeId", .integer(Int(broker.nodeId))),
                            ("host", .string(broker.address.host)),
                            ("port", .integer(broker.address.port)),
                            ("rack", .optional(broker.rack)),
                            ("configs", json(broker.configs)),
                            ("error", .optional(broker.configError)),
                        ])
                    })
            ),
        ])
    }

    static func json(_ report: RouteReport) -> DoctorJSON {
        let route = report.route
        let topicConfigs = { (name: String) in report.topics.first { $0.name == name } }
        return .object([
            ("name", .string(route.name)),
            ("topicTemplate", .optional(route.topicTemplate)),
            (
                "producer",
                .object([
                    ("acks", .string(route.acks.description)),
                    ("batch.size", .integer(route.batchSize)),
                    ("max.request.size", .integer(route.maxRequestSize)),
                    ("compression.type", .string(route.compression.codec.description)),
                ])
            ),
            (
                "topics",
                .array(
                    route.topics.compactMap(topicConfigs).map { topic in
                        .object([
                            ("name", .string(topic.name)),
                            ("state", .string(topic.state.name)),
                            ("partitions", .optional(topic.partitions)),
                            ("replicationFactor", .optional(topic.replicationFactor)),
                            ("min.insync.replicas", .optional(topic.minInsyncReplicas)),
                            ("max.message.bytes", .optional(topic.maxMessageBytes)),
                            ("compression.type", .optional(topic.compressionType)),
                        ])
                    })
            ),
        ])
    }

    static func json(_ finding: DoctorFinding) -> DoctorJSON {
        .object([
            ("severity", .string(finding.severity.rawValue)),
            ("code", .string(finding.code.rawValue)),
            ("route", .optional(finding.route)),
            ("topic", .optional(finding.topic)),
            ("brokers", .array(finding.brokers.map { .integer(Int($0)) })),
            ("message", .string(finding.message)),
            ("reason", .string(finding.reason)),
        ])
    }
}
