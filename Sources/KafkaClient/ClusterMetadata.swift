import KafkaWire

/// What the producer knows of the cluster: brokers, and for each wanted topic its partitions and
/// their leaders. An immutable snapshot, replaced whole on every Metadata response.
struct ClusterMetadata: Sendable {
    struct Partition: Sendable, Hashable {
        /// The leader's node id, or −1 while there is none.
        var leader: Int32
        var leaderEpoch: Int32
    }

    struct Topic: Sendable {
        /// Indexed by partition number. Every partition counts for keyed placement, with or
        /// without a leader, as in Java.
        var partitions: [Partition]
        /// Partitions that have a leader, for the null-key strategies.
        var availablePartitions: [Int32]
    }

    var brokers: [Int32: KafkaBrokerAddress] = [:]
    var topics: [String: Topic] = [:]
    /// Topic-level errors of the last response (UNKNOWN_TOPIC_OR_PARTITION while a topic is being
    /// auto-created, TOPIC_AUTHORIZATION_FAILED, …).
    var topicErrors: [String: KafkaErrorCode] = [:]

    static let empty = ClusterMetadata()

    /// Builds a snapshot from a response. Topics the response does not mention keep their
    /// previous entry (a partial refresh), topics it reports with an error lose theirs.
    func updated(with response: MetadataResponse) -> ClusterMetadata {
        var next = ClusterMetadata()
        next.topics = topics
        for broker in response.brokers {
            next.brokers[broker.nodeId] = KafkaBrokerAddress(host: broker.host, port: Int(broker.port))
        }
        for topic in response.topics {
            guard let name = topic.name else { continue }
            let error = KafkaErrorCode(rawValue: topic.errorCode)
            if error != .none {
                next.topicErrors[name] = error
                next.topics[name] = nil
                continue
            }
            let count = (topic.partitions.map(\.partitionIndex).max() ?? -1) + 1
            var partitions = [Partition](repeating: Partition(leader: -1, leaderEpoch: -1), count: Int(count))
            for partition in topic.partitions where partition.partitionIndex >= 0 {
                // A partition-level error (LEADER_NOT_AVAILABLE) means no usable leader.
                let leader = partition.errorCode == 0 ? partition.leaderId : -1
                partitions[Int(partition.partitionIndex)] = Partition(
                    leader: leader, leaderEpoch: partition.leaderEpoch)
            }
            let available = partitions.indices.filter {
                partitions[$0].leader >= 0 && next.brokers[partitions[$0].leader] != nil
            }
            .map { Int32($0) }
            next.topics[name] = Topic(partitions: partitions, availablePartitions: available)
        }
        return next
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
