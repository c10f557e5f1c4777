import NIOCore

/// Chooses the partition of records sent without an explicit one, per
/// `KafkaPartitionerStrategy`, keeping per-topic state (round-robin counters, sticky choices).
///
/// Owned by whoever appends records (the accumulator); not thread-safe on its own. The
/// accumulator calls `partition(…)` for each record without a partition and
/// `recordAppended(…)` for every record it appended, which is what moves the uniform sticky
/// strategy on.
///
/// Behaviour by strategy (PROTOCOL-NOTES §7):
/// * Keyed records under `.murmur2RoundRobin` / `.murmur2UniformSticky`:
///   `toPositive(murmur2(key)) % partitionCount` over **all** partitions, available or not (Java).
///   An empty key is a key.
/// * Null keys under `.murmur2RoundRobin`: Java ≤ 2.3's round robin: a per-topic counter
///   (starting at a random value, as `DefaultPartitioner` did) indexes the available partitions;
///   with none available it indexes all partitions.
/// * Null keys under `.murmur2UniformSticky`: KIP-794 without load statistics: stay on one
///   random available partition until at least `batch.size` bytes were appended to it, then
///   pick another one at random, different from the last when there is a choice (KIP-480).
///   With no partition available, pick among all (Java's `BuiltInPartitioner`). The "up to
///   2 × batch.size while the batch is not ready" refinement and adaptive (queue-weighted)
///   choice are not implemented.
/// * `.consistent`: unsigned `CRC32(key) % partitionCount` over all partitions; null and empty
///   keys have CRC 0, so they go to partition 0 (librdkafka).
/// * `.consistentRandom`: CRC-32 for non-empty keys; null and empty keys go to a random
///   available partition, **chosen per record** (librdkafka with
///   `sticky.partitioning.linger.ms=0`; its time-based stickiness is not implemented).
/// * `ignoreKeys` (`partitioner.ignore.keys`) treats every record as having a null key, for
///   every strategy (so under `.consistent` everything goes to partition 0).
struct KafkaPartitioner {
    /// Per-topic state. A reference, so that the accumulator can keep it beside its own
    /// per-topic data and skip a dictionary lookup per record; guarded by the accumulator's lock.
    final class TopicState: @unchecked Sendable {
        /// The next round-robin value (Java's `AtomicInteger` counter; wraps like an `int`).
        var roundRobinCounter: Int32
        /// The current sticky partition, nil until one is chosen or after a switch.
        var stickyPartition: Int32?
        /// The partition the sticky strategy left last, so that the next choice differs.
        var previousStickyPartition: Int32?
        /// Bytes appended to `stickyPartition` since it was chosen.
        var stickyBytes: Int = 0

        init(roundRobinCounter: Int32) { self.roundRobinCounter = roundRobinCounter }
    }

    let strategy: KafkaPartitionerStrategy
    /// Bytes after which the uniform sticky strategy switches (`batch.size`, at least 1).
    let stickyBatchSize: Int
    let ignoreKeys: Bool
    private var random: SplitMix64
    private(set) var topics: [String: TopicState] = [:]

    /// - Parameters:
    ///   - seed: seeds the random choices (sticky partitions, round-robin start,
    ///     `consistent_random`); nil takes one from the system generator. Tests pass a seed.
    init(strategy: KafkaPartitionerStrategy, batchSize: Int, ignoreKeys: Bool, seed: UInt64? = nil) {
        self.strategy = strategy
        self.stickyBatchSize = max(1, batchSize)
        self.ignoreKeys = ignoreKeys
        self.random = SplitMix64(seed: seed ?? UInt64.random(in: .min ... .max))
    }

    /// The settings' strategy, `batch.size` and `partitioner.ignore.keys`.
    init(configuration: KafkaProducerConfiguration, seed: UInt64? = nil) {
        self.init(
            strategy: configuration.partitioner, batchSize: configuration.batchSize,
            ignoreKeys: configuration.partitionerIgnoreKeys, seed: seed)
    }

    /// The partition for a record of `topic` with `key`.
    ///
    /// - Parameters:
    ///   - partitionCount: the topic's number of partitions (all of them).
    ///   - availablePartitions: the partitions that currently have a leader; when empty, every
    ///     partition is a candidate (as in Java).
    /// - Precondition: `partitionCount > 0`.
    mutating func partition(
        topic: String, key: ByteBuffer?, partitionCount: Int32, availablePartitions: [Int32]
    ) -> Int32 {
        partition(
            state: topicState(for: topic), key: key, partitionCount: partitionCount,
            availablePartitions: availablePartitions)
    }

    /// The same, with the topic's state already looked up (`topicState(for:)`).
    mutating func partition(
        state: TopicState, key: ByteBuffer?, partitionCount: Int32, availablePartitions: [Int32]
    ) -> Int32 {
        guard let key else {
            return partition(
                state: state, rawKey: nil, partitionCount: partitionCount, availablePartitions: availablePartitions)
        }
        return key.withUnsafeReadableBytes {
            partition(
                state: state, rawKey: $0, partitionCount: partitionCount, availablePartitions: availablePartitions)
        }
    }

    /// Whether `partition(state:rawKey:…)` would return `partition` for this key, answered
    /// without moving any state (no round-robin step, no random draw): false where the answer
    /// would need one. The bulk path uses it to keep appending to the batch it is filling.
    func certainlyPlaces(
        state: TopicState, rawKey key: UnsafeRawBufferPointer?, partitionCount: Int32, in partition: Int32
    ) -> Bool {
        let key = ignoreKeys ? nil : key
        switch strategy {
        case .murmur2RoundRobin, .murmur2UniformSticky:
            if let key { return Murmur2.toPositive(Murmur2.hash(key)) % partitionCount == partition }
            return strategy == .murmur2UniformSticky && state.stickyPartition == partition
        case .consistent:
            return Self.consistentPartition(rawKey: key, partitionCount: partitionCount) == partition
        case .consistentRandom:
            guard let key, key.count > 0 else { return false }
            return Self.consistentPartition(rawKey: key, partitionCount: partitionCount) == partition
        }
    }

    /// The same, for a key given as raw bytes (nil for a null key): the bulk paths' form.
    mutating func partition(
        state: TopicState, rawKey key: UnsafeRawBufferPointer?, partitionCount: Int32, availablePartitions: [Int32]
    ) -> Int32 {
        precondition(partitionCount > 0, "partitionCount must be positive")
        let key = ignoreKeys ? nil : key
        switch strategy {
        case .murmur2RoundRobin:
            if let key { return Murmur2.toPositive(Murmur2.hash(key)) % partitionCount }
            return roundRobinPartition(state: state, partitionCount: partitionCount, available: availablePartitions)
        case .murmur2UniformSticky:
            if let key { return Murmur2.toPositive(Murmur2.hash(key)) % partitionCount }
            return stickyPartition(state: state, partitionCount: partitionCount, available: availablePartitions)
        case .consistent:
            return Self.consistentPartition(rawKey: key, partitionCount: partitionCount)
        case .consistentRandom:
            if let key, key.count > 0 {
                return Self.consistentPartition(rawKey: key, partitionCount: partitionCount)
            }
            return randomPartition(partitionCount: partitionCount, available: availablePartitions, excluding: nil)
        }
    }

    /// Tells the partitioner that `bytes` bytes of a record were appended to `partition` of
    /// `topic`. Under the uniform sticky strategy, once the sticky partition has received at
    /// least `batch.size` bytes the next null-key record goes to a newly chosen partition.
    mutating func recordAppended(topic: String, partition: Int32, bytes: Int) {
        guard strategy == .murmur2UniformSticky, let state = topics[topic] else { return }
        recordAppended(state: state, partition: partition, bytes: bytes)
    }

    /// The same, with the topic's state already looked up.
    func recordAppended(state: TopicState, partition: Int32, bytes: Int) {
        guard strategy == .murmur2UniformSticky, let sticky = state.stickyPartition, sticky == partition else { return }
        state.stickyBytes += bytes
        if state.stickyBytes >= stickyBatchSize {
            state.previousStickyPartition = sticky
            state.stickyPartition = nil
            state.stickyBytes = 0
        }
    }

    /// The state of `topic`, created on first use.
    mutating func topicState(for topic: String) -> TopicState {
        if let state = topics[topic] { return state }
        let state = TopicState(roundRobinCounter: Int32(truncatingIfNeeded: random.next()))
        topics[topic] = state
        return state
    }

    // MARK: - Strategies

    /// librdkafka's `consistent`: unsigned CRC-32 of the key (0 for null or empty) modulo the
    /// partition count.
    static func consistentPartition(key: ByteBuffer?, partitionCount: Int32) -> Int32 {
        let crc = key.map { CRC32.checksum($0) } ?? 0
        return Int32(crc % UInt32(partitionCount))
    }

    static func consistentPartition(rawKey key: UnsafeRawBufferPointer?, partitionCount: Int32) -> Int32 {
        let crc = key.map { CRC32.checksum($0) } ?? 0
        return Int32(crc % UInt32(partitionCount))
    }

    private func roundRobinPartition(state: TopicState, partitionCount: Int32, available: [Int32]) -> Int32 {
        let value = Murmur2.toPositive(state.roundRobinCounter)
        state.roundRobinCounter &+= 1
        if available.isEmpty { return value % partitionCount }
        return available[Int(value) % available.count]
    }

    private mutating func stickyPartition(state: TopicState, partitionCount: Int32, available: [Int32]) -> Int32 {
        if let sticky = state.stickyPartition { return sticky }
        let chosen = randomPartition(
            partitionCount: partitionCount, available: available, excluding: state.previousStickyPartition)
        state.stickyPartition = chosen
        state.stickyBytes = 0
        return chosen
    }

    /// A uniformly random partition among the available ones (all when none is available),
    /// other than `excluding` when there is any other candidate.
    private mutating func randomPartition(partitionCount: Int32, available: [Int32], excluding: Int32?) -> Int32 {
        let candidates = available.isEmpty ? Array(0..<partitionCount) : available
        if let excluding, candidates.count > 1, candidates.contains(excluding) {
            let others = candidates.filter { $0 != excluding }
            return others[Int(random.next(upperBound: UInt64(others.count)))]
        }
        return candidates[Int(random.next(upperBound: UInt64(candidates.count)))]
    }
}

/// SplitMix64: a small seedable generator, so tests can fix the partitioner's random choices.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
