import Atomics
import KafkaWire
import Logging
import NIOCore

/// The produce path: drained requests, off-loop compression, sending, and performing the state machine's outcomes.
extension Sender {
    /// Drains the node's next requests (the state machine decides which) and prepares them.
    func sendProduceRequests(on connection: BrokerConnection, node: Int32, now: NIODeadline) {
        guard let produceVersion = connection.apiVersions[.produce] else {
            logger.error(
                "broker does not support any Produce version this client speaks", metadata: ["node": "\(node)"])
            return
        }
        for request in machine.nextRequests(node: node, now: now) {
            prepareProduce(request, on: connection, version: produceVersion)
        }
    }

    /// A Produce request whose batches are being compressed on the `BatchEncoder`. A partition's
    /// requests go out in the order they were drained (sequence order for idempotent
    /// partitions), so a ready request waits only for earlier ones that share a partition with
    /// it; other topics' requests overtake it. Owned by the event loop.
    final class PendingProduce {
        let request: SenderStateMachine.Request
        let connection: BrokerConnection
        let version: Int16
        var remainingEncodes = 0
        var encodeErrors: [UInt64: any Error] = [:]

        init(request: SenderStateMachine.Request, connection: BrokerConnection, version: Int16) {
            self.request = request
            self.connection = connection
            self.version = version
        }
    }

    /// Sends the request when no batch needs expensive compression, else compresses those batches
    /// off the loop and sends it when they are done.
    func prepareProduce(_ request: SenderStateMachine.Request, on connection: BrokerConnection, version: Int16) {
        let node = request.node
        let pending = PendingProduce(request: request, connection: connection, version: version)
        pendingProduces[node, default: []].append(pending)
        // Cheap codecs are finished inline at send time: the pool is for what would stall the loop
        // (and a cheap batch queued behind expensive ones on the pool would wait for them).
        for batch in request.batches where batch.needsEncoding && batch.settings.compression.isExpensive {
            pending.remainingEncodes += 1
            let (writer, producerState) = batch.takeWriterForEncoding()
            // The encoder completes on this loop, which owns `pending`.
            encoder.encode(writer, compression: batch.settings.compression, producerState: producerState, on: eventLoop)
                .assumeIsolated().whenComplete { result in
                    switch result {
                    case .success(let bytes): batch.installEncoded(bytes, producerState: producerState)
                    case .failure(let error): pending.encodeErrors[batch.serial] = error
                    }
                    pending.remainingEncodes -= 1
                    if pending.remainingEncodes == 0 { self.sendReadyProduces(node: node) }
                }
        }
        if pending.remainingEncodes == 0 { sendReadyProduces(node: node) }
    }

    /// Sends the node's prepared requests that are ready and have no earlier unsent request for
    /// one of their partitions.
    func sendReadyProduces(node: Int32) {
        guard var pending = pendingProduces[node] else { return }
        var waitingPartitions: Set<TopicPartition> = []
        var ready: [PendingProduce] = []
        pending.removeAll { prepared in
            let partitions = prepared.request.batches.map(\.topicPartition)
            guard prepared.remainingEncodes == 0, waitingPartitions.isDisjoint(with: partitions) else {
                waitingPartitions.formUnion(partitions)
                return false
            }
            ready.append(prepared)
            return true
        }
        pendingProduces[node] = pending.isEmpty ? nil : pending
        for prepared in ready { sendProduce(prepared) }
    }

    func sendProduce(_ pending: PendingProduce) {
        let node = pending.request.node
        let acks = pending.request.acks
        var topics: [String: [ProduceRequest.PartitionProduceData]] = [:]
        var sendable: [ProducerBatch] = []
        var unsendable: [SenderStateMachine.Outcome] = []
        for batch in pending.request.batches {
            do {
                if let error = pending.encodeErrors[batch.serial] { throw error }
                let bytes = try batch.encode(context: compressionContext)
                topics[batch.topicPartition.topic, default: []].append(
                    .init(index: batch.topicPartition.partition, records: bytes))
                sendable.append(batch)
            } catch {
                // Its records went to the encoder and did not come back: it cannot be retried.
                let failure =
                    machine.abortError
                    ?? KafkaProducerError(
                        .encodingFailed, "could not encode the batch for \(batch.topicPartition)",
                        cause: error as? KafkaWireError)
                unsendable.append(machine.fail(batch, failure))
                machine.unmute([batch])
            }
        }
        perform(unsendable)
        guard !sendable.isEmpty else {
            machine.requestFinished(node: node, batches: [])
            wakeup()
            return
        }
        let batches = sendable
        let request = ProduceRequest(
            acks: acks.rawValue, timeoutMs: Int32(clamping: configuration.requestTimeout.milliseconds),
            topicData: topics.map { .init(name: $0.key, partitionData: $0.value) })
        metrics.produceRequests.increment()

        if acks == .none {
            pending.connection.sendWithoutResponse(request, version: pending.version).whenComplete { result in
                self.machine.requestFinished(node: node, batches: batches)
                switch result {
                case .success:
                    self.perform(batches.map { .complete($0, baseOffset: -1, logAppendTime: -1, isDuplicate: false) })
                case .failure(let error):
                    self.metadataState.refreshNeeded()
                    self.perform(
                        self.machine.produceFailed(batches, error: self.producerError(error, node: node), now: .now()))
                }
                self.wakeup()
            }
        } else {
            let sentAt = NIODeadline.now()
            pending.connection.send(request, version: pending.version, expecting: ProduceResponse.self).whenComplete {
                result in
                self.machine.requestFinished(node: node, batches: batches)
                switch result {
                case .success(let response):
                    self.metrics.requestLatency.recordNanoseconds((NIODeadline.now() - sentAt).nanoseconds)
                    self.perform(self.machine.produceAnswered(response, batches: batches, node: node, now: .now()))
                case .failure(let error):
                    self.metadataState.refreshNeeded()
                    self.perform(
                        self.machine.produceFailed(batches, error: self.producerError(error, node: node), now: .now()))
                }
                self.handleFatalErrorIfAny()
                self.wakeup()
            }
        }
    }

    /// Performs the state machine's outcomes: reports and waiting sends for completions and
    /// failures, logs and counters for retries and splits.
    func perform(_ outcomes: [SenderStateMachine.Outcome]) {
        guard !outcomes.isEmpty else { return }
        var done: [ProducerBatch] = []
        for outcome in outcomes {
            switch outcome {
            case .complete(let batch, let baseOffset, let logAppendTime, let isDuplicate):
                if isDuplicate {
                    logger.debug(
                        "the broker already had this batch (DUPLICATE_SEQUENCE_NUMBER); its offset is unknown",
                        metadata: ["partition": "\(batch.topicPartition)", "records": "\(batch.recordCount)"])
                }
                for (reports, report) in batch.complete(baseOffset: baseOffset, logAppendTime: logAppendTime) {
                    reports.deliver(report)
                }
                let topic = topicCounters(batch.topicPartition.topic)
                topic.recordsSent.increment(by: batch.recordCount)
                topic.bytesSent.increment(by: batch.sizeInBytes)
                metrics.batchesSent.increment()
                done.append(batch)
            case .retry(let batch, let error, let backoff):
                if error.brokerErrorCode?.invalidatesMetadata == true { metadataState.refreshNeeded() }
                logger.debug(
                    "retrying batch",
                    metadata: [
                        "partition": "\(batch.topicPartition)", "attempt": "\(batch.attempts)",
                        "backoff_ms": "\(backoff.nanoseconds / 1_000_000)", "error": "\(error)",
                    ])
                metrics.retries.increment()
            case .split(let batch):
                logger.info(
                    "splitting a batch the broker refused as too large",
                    metadata: ["partition": "\(batch.topicPartition)", "records": "\(batch.recordCount)"])
            case .fail(let batch, let error):
                logger.warning(
                    "records failed", metadata: ["partition": "\(batch.topicPartition)", "error": "\(error)"])
                for (reports, report) in batch.fail(error) { reports.deliver(report) }
                topicCounters(batch.topicPartition.topic).recordsFailed.increment(by: batch.recordCount)
                done.append(batch)
            }
        }
        accumulator.complete(done)
    }

    /// Ends batches that never got an answer (expired, aborted, fatal) with `error`.
    func finish(_ batches: [ProducerBatch], error: (ProducerBatch) -> KafkaProducerError) {
        perform(batches.map { machine.fail($0, error($0)) })
    }
}
