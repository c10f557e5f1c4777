import KafkaWire

/// What the producer knows of the cluster: brokers, and for each wanted topic its partitions and
/// their leaders. An immutable snapshot, replaced whole on every Metadata response.
///
/// A response is checked before it is trusted: a broker, a proxy or a corrupted stream can say
/// anything, and a daemon must not die of it. What is wrong with a topic makes that topic
/// unusable until a later response is sound (`topicProblems` says why, for error messages);
/// what is wrong with a broker entry drops that entry.
struct ClusterMetadata: Sendable {
    struct Partition: Sendable, Hashable {
        /// The leader's node id, or −1 while there is none (or it is not in the broker list).
        var leader: Int32
        var leaderEpoch: Int32
    }

    struct Topic: Sendable {
        /// Indexed by partition number, never empty. Every partition counts for keyed placement,
        /// with or without a leader, as in Java.
        var partitions: [Partition]
        /// Partitions that have a leader, for the null-key strategies.
        var availablePartitions: [Int32]
    }

    var brokers: [Int32: KafkaBrokerAddress] = [:]
    var topics: [String: Topic] = [:]
    /// Topic-level errors of the last response (UNKNOWN_TOPIC_OR_PARTITION while a topic is being
    /// auto-created, TOPIC_AUTHORIZATION_FAILED, …).
    var topicErrors: [String: KafkaErrorCode] = [:]
    /// Topics the last response described in a way that cannot be true (see `validatePartitions`),
    /// with a sentence saying what was wrong. Such a topic is treated as not yet known: metadata
    /// is asked again after a backoff.
    var topicProblems: [String: String] = [:]
    /// Broker entries of the last response that were dropped, with the reason (for a warning).
    var brokerProblems: [String] = []

    static let empty = ClusterMetadata()

    /// Builds a snapshot from a response. Topics the response does not mention keep their
    /// previous entry (a partial refresh); topics it reports with an error, or describes
    /// impossibly, lose theirs.
    func updated(with response: MetadataResponse) -> ClusterMetadata {
        var next = ClusterMetadata()
        next.topics = topics
        for broker in response.brokers {
            if let problem = Self.problem(with: broker, seen: next.brokers) {
                next.brokerProblems.append(problem)
                continue
            }
            next.brokers[broker.nodeId] = KafkaBrokerAddress(host: broker.host, port: Int(broker.port))
        }
        for topic in response.topics {
            guard let name = topic.name, !name.isEmpty else { continue }
            let error = KafkaErrorCode(rawValue: topic.errorCode)
            if error != .none {
                next.topicErrors[name] = error
                next.topics[name] = nil
                continue
            }
            switch Self.validatePartitions(topic.partitions) {
            case .failure(let problem):
                next.topicProblems[name] = "broker metadata for topic \(name) is invalid: \(problem.message)"
                next.topics[name] = nil
            case .success(let count):
                var partitions = [Partition](repeating: Partition(leader: -1, leaderEpoch: -1), count: count)
                for partition in topic.partitions {
                    // A partition-level error (LEADER_NOT_AVAILABLE) means no usable leader, and so
                    // does a leader the broker list does not name.
                    let known = partition.errorCode == 0 && next.brokers[partition.leaderId] != nil
                    partitions[Int(partition.partitionIndex)] = Partition(
                        leader: known ? partition.leaderId : -1, leaderEpoch: partition.leaderEpoch)
                }
                let available = partitions.indices.filter { partitions[$0].leader >= 0 }.map { Int32($0) }
                next.topics[name] = Topic(partitions: partitions, availablePartitions: available)
            }
        }
        return next
    }

    /// Whether some partition names a leader that is not in the broker list, or has none: the
    /// metadata should be asked again soon.
    static func hasMissingLeaders(_ response: MetadataResponse, in snapshot: ClusterMetadata) -> Bool {
        response.topics.contains { topic in
            topic.errorCode == 0
                && topic.partitions.contains { $0.leaderId < 0 || snapshot.brokers[$0.leaderId] == nil }
        }
    }

    struct Problem: Error {
        var message: String
    }

    /// A topic's partitions must be exactly 0..<n, each once, with n ≥ 1: Kafka numbers
    /// partitions densely from 0. Anything else (a negative or huge index, a duplicate, a gap, no
    /// partitions at all) is refused, which also bounds the partition table by the number of
    /// entries the frame actually held.
    static func validatePartitions(_ partitions: [MetadataResponse.MetadataResponsePartition]) -> Result<Int, Problem> {
        let count = partitions.count
        guard count > 0 else { return .failure(Problem(message: "it lists no partitions and no error")) }
        var seen = [Bool](repeating: false, count: count)
        for partition in partitions {
            let index = partition.partitionIndex
            guard index >= 0, Int(index) < count else {
                return .failure(
                    Problem(
                        message: "partition index \(index) is outside 0..<\(count) (the number of partitions listed)"))
            }
            guard !seen[Int(index)] else {
                return .failure(Problem(message: "partition \(index) is listed twice"))
            }
            seen[Int(index)] = true
        }
        return .success(count)
    }

    private static func problem(with broker: MetadataResponse.MetadataResponseBroker, seen: [Int32: KafkaBrokerAddress])
        -> String?
    {
        if broker.nodeId < 0 { return "broker entry with negative node id \(broker.nodeId) (\(broker.host))" }
        if broker.host.isEmpty { return "broker \(broker.nodeId) has an empty host" }
        if !(1...65535).contains(broker.port) { return "broker \(broker.nodeId) has port \(broker.port)" }
        if seen[broker.nodeId] != nil { return "broker \(broker.nodeId) is listed twice" }
        return nil
    }

    /// The leader of a partition, if known.
    func leader(for topicPartition: TopicPartition) -> Int32? {
        guard let topic = topics[topicPartition.topic], topicPartition.partition >= 0,
            Int(topicPartition.partition) < topic.partitions.count
        else { return nil }
        let leader = topic.partitions[Int(topicPartition.partition)].leader
        return leader >= 0 ? leader : nil
    }
}
