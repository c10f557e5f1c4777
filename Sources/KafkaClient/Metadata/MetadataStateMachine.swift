import KafkaWire
import NIOCore

/// When to ask for metadata, for which topics, and what an answer or a failure means: the
/// metadata half of the sender's decisions, without sockets or clocks (every method takes
/// `now`). The sender's shell sends the requests and resumes the tasks waiting for topics.
///
/// Owned by the sender's event loop.
struct MetadataStateMachine {
    /// What the producer knows of the cluster.
    private(set) var snapshot = ClusterMetadata.empty
    /// Topics to ask for, with when they were last wanted (dropped after `metadata.max.idle.ms`).
    private(set) var wantedTopics: [String: NIODeadline] = [:]
    private(set) var isRequestInFlight = false
    /// Set when something says the snapshot is stale: leaders unknown or moved, a connection
    /// lost, a topic wanted that is not known.
    private(set) var isRefreshNeeded = true
    private(set) var lastRefresh: NIODeadline?
    /// No request before this (backoff after a failure or an incomplete answer).
    private(set) var retryAt: NIODeadline?
    private(set) var failures = 0
    /// Why the last request failed (cleared by an answer), for max.block.ms errors.
    private(set) var lastError: KafkaProducerError?

    let maxAge: TimeAmount
    let maxIdle: TimeAmount

    init(configuration: KafkaProducerConfiguration) {
        maxAge = TimeAmount(configuration.metadataMaxAge)
        maxIdle = TimeAmount(configuration.metadataMaxIdle)
    }

    /// Marks `topic` as produced to at `now` (it stays in requests for `metadata.max.idle.ms`
    /// after the latest such time).
    mutating func want(_ topic: String, now: NIODeadline) {
        if let known = wantedTopics[topic], known >= now { return }
        wantedTopics[topic] = now
    }

    mutating func refreshNeeded() {
        isRefreshNeeded = true
    }

    /// Whether a request should go out now: the snapshot is stale (or older than
    /// `metadata.max.age.ms`) or a task waits for a topic, no request is in flight, and no
    /// backoff holds it back.
    mutating func isDue(now: NIODeadline, hasWaiters: Bool) -> Bool {
        if let lastRefresh, lastRefresh + maxAge <= now { isRefreshNeeded = true }
        guard isRefreshNeeded || hasWaiters, !isRequestInFlight else { return false }
        if let retryAt, retryAt > now { return false }
        return true
    }

    /// A request is going out: returns the topics to ask for.
    mutating func requestStarted() -> [String] {
        isRequestInFlight = true
        isRefreshNeeded = false
        retryAt = nil
        return wantedTopics.keys.sorted()
    }

    /// What an answer changed for the topics tasks wait for.
    struct Answer {
        /// Topics now known: their waiters go on.
        var known: Set<String>
        /// Topics the brokers refuse for good (authorization, invalid name): their waiters fail.
        var refused: [String: KafkaErrorCode]
    }

    /// Takes an answer to a request for `requested`. Topics or leaders still missing keep the
    /// snapshot stale and ask again after `backoff(failures)`. Topics nobody waits for or
    /// produced to within `metadata.max.idle.ms` are forgotten.
    mutating func answered(
        _ response: MetadataResponse, requested: [String], waiting: Set<String>, now: NIODeadline,
        backoff: (Int) -> TimeAmount
    ) -> Answer {
        isRequestInFlight = false
        snapshot = snapshot.updated(with: response)
        lastError = nil
        lastRefresh = now
        var answer = Answer(known: [], refused: [:])
        var missing = false
        for topic in requested where snapshot.topics[topic] == nil {
            missing = true
            if let error = snapshot.topicErrors[topic], !error.isRetriable { answer.refused[topic] = error }
        }
        answer.known = waiting.filter { snapshot.topics[$0] != nil }
        if missing || ClusterMetadata.hasMissingLeaders(response, in: snapshot) {
            // Topics being created, or leaders being elected: ask again after a backoff.
            failures += 1
            isRefreshNeeded = true
            retryAt = now + backoff(failures)
        } else {
            failures = 0
            retryAt = nil
        }
        wantedTopics = wantedTopics.filter { $0.value + maxIdle > now || waiting.contains($0.key) }
        return answer
    }

    /// The request failed (connection, timeout, unreadable answer): ask again after a backoff.
    mutating func failed(_ error: KafkaProducerError, now: NIODeadline, backoff: (Int) -> TimeAmount) {
        isRequestInFlight = false
        failures += 1
        isRefreshNeeded = true
        retryAt = now + backoff(failures)
        lastError = error
    }

    /// The request could not be encoded: asking again would fail the same way, so the topics
    /// nobody has metadata for yet (`waiting`, the ones that can have made it fail) are dropped,
    /// and their waiters are failed by the caller.
    mutating func encodingFailed(waiting: Set<String>, now: NIODeadline, backoff: (Int) -> TimeAmount) {
        isRequestInFlight = false
        for topic in waiting { wantedTopics[topic] = nil }
        failures += 1
        retryAt = now + backoff(failures)
    }
}
