import Atomics
import KafkaWire
import Logging
import NIOCore

/// Metadata: waits for topics, requests, answers, and which broker to ask.
extension Sender {
    /// Waits until `topic`'s partitions are known, or fails at `deadline` (max.block.ms), when
    /// the producer closes, or when the task is cancelled.
    func awaitMetadata(topic: String, deadline: NIODeadline) async throws {
        let wait = CancellableWait()
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                eventLoop.execute {
                    self.registerMetadataWaiter(
                        topic: topic, deadline: deadline, wait: wait, continuation: continuation)
                }
            }
        } onCancel: {
            if let id = wait.cancel() {
                eventLoop.execute { self.cancelMetadataWaiter(topic: topic, id: id) }
            }
        }
    }

    func registerMetadataWaiter(
        topic: String, deadline: NIODeadline, wait: CancellableWait, continuation: CheckedContinuation<Void, any Error>
    ) {
        if isClosing || isShutDown {
            continuation.resume(
                throwing: KafkaProducerError(.producerClosed, "the producer closed while waiting for metadata"))
            return
        }
        if metadata.topics[topic] != nil {
            metadataState.want(topic, now: .now())
            continuation.resume()
            return
        }
        if let error = metadata.topicErrors[topic], !error.isRetriable {
            continuation.resume(
                throwing: KafkaProducerError(
                    .brokerError, "topic \(topic) cannot be produced to", brokerErrorCode: error))
            return
        }
        let id = nextMetadataWaiterID
        nextMetadataWaiterID += 1
        guard wait.register(id) else {
            continuation.resume(throwing: CancellableWait.cancelledError("metadata of \(topic)"))
            return
        }
        metadataState.want(topic, now: .now())
        metadataWaiters[topic, default: []].append(
            MetadataWaiter(id: id, continuation: continuation, deadline: deadline))
        metadataState.refreshNeeded()
        runOnce()
    }

    func cancelMetadataWaiter(topic: String, id: UInt64) {
        guard var waiters = metadataWaiters[topic], let index = waiters.firstIndex(where: { $0.id == id }) else {
            return
        }
        let waiter = waiters.remove(at: index)
        metadataWaiters[topic] = waiters.isEmpty ? nil : waiters
        waiter.continuation.resume(throwing: CancellableWait.cancelledError("metadata of \(topic)"))
    }

    /// The producer is closing: waits for metadata end now (nothing will be accepted after them).
    func stopAcceptingRecords() {
        eventLoop.execute {
            self.isClosing = true
            self.failMetadataWaiters(
                error: KafkaProducerError(.producerClosed, "the producer closed while waiting for metadata"))
        }
    }

    /// Ends every metadata wait with `error` (an encoding failure, close, abort).
    func failMetadataWaiters(error: KafkaProducerError) {
        let waiters = metadataWaiters
        metadataWaiters = [:]
        for list in waiters.values {
            for waiter in list { waiter.continuation.resume(throwing: error) }
        }
    }

    func failExpiredMetadataWaiters(now: NIODeadline) {
        for (topic, waiters) in metadataWaiters {
            let (expired, waiting) = (waiters.filter { $0.deadline <= now }, waiters.filter { $0.deadline > now })
            guard !expired.isEmpty else { continue }
            metadataWaiters[topic] = waiting.isEmpty ? nil : waiting
            let error = KafkaProducerError(
                .metadataTimeout,
                "topic \(topic) not present in metadata after max.block.ms (\(configuration.maxBlock.milliseconds) ms)\(metadata.topicErrors[topic].map { "; last error: \($0)" } ?? "")\(metadata.topicProblems[topic].map { "; \($0)" } ?? "")\(metadataState.lastError.map { "; last error: \($0.message)" } ?? "")",
                brokerErrorCode: metadata.topicErrors[topic])
            for waiter in expired { waiter.continuation.resume(throwing: error) }
        }
    }

    func requestMetadata(now: NIODeadline) {
        guard let connection = metadataConnection(now: now) else { return }
        guard let version = connection.apiVersions[.metadata] else {
            logger.error("broker does not support any Metadata version this client speaks")
            return
        }
        // Sends to a topic whose partitions are known never wait for metadata, so they never
        // mark it wanted: its batches do. Without this a topic in use for longer than
        // metadata.max.idle.ms left the requests, and its leaders were never learned again.
        for (topic, createdAt) in accumulator.lastBatchCreation() { metadataState.want(topic, now: createdAt) }
        let topics = metadataState.requestStarted()
        // As Java's producer asks: auto-creation allowed, so the broker's auto.create.topics.enable
        // decides (and Metadata v1–v3, which cannot say "not allowed", can be used at all).
        let request = MetadataRequest(topicNames: topics, allowAutoTopicCreation: true)
        connection.send(request, version: version, expecting: MetadataResponse.self).whenComplete { result in
            let now = NIODeadline.now()
            let backoff = { self.machine.retryBackoff(attempts: $0) }
            switch result {
            case .success(let response):
                self.apply(response, requested: topics, now: now)
            case .failure(let error as KafkaProducerError) where error.code == .encodingFailed:
                // Asking again would fail the same way: the waiters learn it now, not at max.block.ms.
                self.logger.error("metadata request could not be encoded", metadata: ["error": "\(error)"])
                self.metadataState.encodingFailed(waiting: Set(self.metadataWaiters.keys), now: now, backoff: backoff)
                self.failMetadataWaiters(error: error)
            case .failure(let error):
                self.metadataState.failed(
                    self.producerError(error, node: connection.nodeId), now: now, backoff: backoff)
                self.logger.debug("metadata request failed", metadata: ["error": "\(error)"])
            }
            self.wakeup()
        }
    }

    /// Takes an answer: the accumulator gets the new snapshot, waiters for topics now known go
    /// on, waiters for topics refused for good fail.
    func apply(_ response: MetadataResponse, requested: [String], now: NIODeadline) {
        let answer = metadataState.answered(
            response, requested: requested, waiting: Set(metadataWaiters.keys), now: now,
            backoff: { self.machine.retryBackoff(attempts: $0) })
        accumulator.updateMetadata(metadata)
        for problem in metadata.brokerProblems {
            logger.warning("ignoring a broker entry of a metadata response", metadata: ["problem": "\(problem)"])
        }
        for (topic, problem) in metadata.topicProblems {
            logger.warning(
                "ignoring a topic of a metadata response", metadata: ["topic": "\(topic)", "problem": "\(problem)"])
        }
        for (topic, error) in answer.refused {
            guard let waiters = metadataWaiters.removeValue(forKey: topic) else { continue }
            let failure = KafkaProducerError(
                .brokerError, "topic \(topic) cannot be produced to", brokerErrorCode: error)
            for waiter in waiters { waiter.continuation.resume(throwing: failure) }
        }
        for topic in answer.known {
            for waiter in metadataWaiters.removeValue(forKey: topic) ?? [] { waiter.continuation.resume() }
        }
    }

    /// A ready connection to send Metadata on: the least busy known broker, else a bootstrap
    /// server (connecting to one if none is being connected).
    func metadataConnection(now: NIODeadline) -> BrokerConnection? {
        // Known brokers first, then the bootstrap list; bootstrap servers get negative ids.
        var candidates: [(Int32, KafkaBrokerAddress)] = metadata.brokers.sorted { $0.key < $1.key }.map {
            ($0.key, $0.value)
        }
        for (index, address) in configuration.bootstrapServers.enumerated() {
            candidates.append((-1 - Int32(index), address))
        }
        var best: BrokerConnection?
        for (node, _) in candidates {
            if let connection = pool.activeConnection(to: node),
                best == nil || connection.inFlightCount < best!.inFlightCount
            {
                best = connection
            }
        }
        if let best { return best }
        guard connectingNodes.isEmpty, !candidates.isEmpty else { return nil }
        // Rotate through the candidates, preferring one not in reconnect backoff.
        let ordered = (0..<candidates.count).map { candidates[(nextBootstrapIndex + $0) % candidates.count] }
        let (node, address) = ordered.first { pool.connectionDelay(to: $0.0, now: now) == .zero } ?? ordered[0]
        nextBootstrapIndex = (nextBootstrapIndex + 1) % candidates.count
        requestConnection(node: node, address: address)
        return nil
    }
}
