import Atomics
import KafkaWire
import Logging
import NIOCore

/// InitProducerId and the idempotent producer's epoch bumps and fatal errors.
extension Sender {
    /// Before draining: bumps the epoch if a partition needs its sequences reset, asks for a
    /// producer id when there is none, and fails everything once idempotence cannot go on.
    func prepareIdempotence(now: NIODeadline) {
        let resets = idempotence!.prepareToDrain()
        report(resets)
        if idempotence!.needsProducerId { requestProducerId(now: now) }
        handleFatalErrorIfAny()
    }

    func report(_ resets: [IdempotenceStateMachine.SequenceReset]) {
        for reset in resets {
            metrics.sequenceResets[reset.reason]?.increment()
            logger.warning(
                "sequences of a partition restart at 0 under a new producer epoch",
                metadata: [
                    "partition": "\(reset.topicPartition)", "reason": "\(reset.reason.rawValue)",
                    "producer_id": "\(reset.producerIdAndEpoch.producerId)",
                    "producer_epoch": "\(reset.producerIdAndEpoch.epoch)",
                    "rewritten_batches": "\(reset.rewrittenBatches)",
                ])
        }
    }

    /// InitProducerId with no transactional id (and producer id/epoch −1, so a broker hands out
    /// a fresh id; epochs are bumped locally) to the least busy broker. Retriable failures are
    /// retried with the retry backoff; a refusal is fatal.
    func requestProducerId(now: NIODeadline) {
        guard !isProducerIdRequestInFlight else { return }
        if let producerIdRetryAt, producerIdRetryAt > now { return }
        guard let connection = metadataConnection(now: now) else { return }
        guard let version = connection.apiVersions[.initProducerId] else {
            idempotence!.failFatally(
                KafkaProducerError(
                    .idempotenceFailed,
                    "broker \(connection.nodeId) at \(connection.address) does not support InitProducerId (Kafka 0.11+ needed), so the "
                        + "producer cannot be idempotent; set enable.idempotence=false to produce without it"))
            return
        }
        isProducerIdRequestInFlight = true
        producerIdRetryAt = nil
        let request = InitProducerIdRequest()
        connection.send(request, version: version, expecting: InitProducerIdResponse.self).whenComplete { result in
            self.isProducerIdRequestInFlight = false
            switch result {
            case .success(let response):
                let code = KafkaErrorCode(rawValue: response.errorCode)
                if code == .none, response.producerId < 0 || response.producerEpoch < 0 {
                    self.producerIdFailed(
                        KafkaProducerError(
                            .protocolError,
                            "broker \(connection.nodeId) answered InitProducerId with producer id \(response.producerId) and epoch \(response.producerEpoch), which cannot be used"
                        ))
                } else if code == .none {
                    self.producerIdFailures = 0
                    self.lastProducerIdError = nil
                    self.producerIdRetryAt = nil
                    let id = IdempotenceStateMachine.ProducerIdAndEpoch(
                        producerId: response.producerId, epoch: response.producerEpoch)
                    self.logger.debug("producer id received", metadata: ["producer_id": "\(id)"])
                    self.report(self.idempotence!.producerIdReceived(id))
                } else if code.isRetriable {
                    self.producerIdFailed(
                        KafkaProducerError(
                            .brokerError, "InitProducerId failed on broker \(connection.nodeId)",
                            brokerErrorCode: code))
                } else {
                    self.idempotence!.failFatally(
                        KafkaProducerError(
                            .idempotenceFailed,
                            "broker \(connection.nodeId) refused a producer id (InitProducerId: \(code)), so the "
                                + "producer cannot be idempotent; set enable.idempotence=false to produce without it",
                            brokerErrorCode: code))
                }
            case .failure(let error):
                self.producerIdFailed(self.producerError(error, node: connection.nodeId))
            }
            self.handleFatalErrorIfAny()
            self.wakeup()
        }
    }

    func producerIdFailed(_ error: KafkaProducerError) {
        producerIdFailures += 1
        lastProducerIdError = error
        producerIdRetryAt = .now() + machine.retryBackoff(attempts: producerIdFailures)
        logger.warning("could not get a producer id", metadata: ["error": "\(error)"])
    }

    /// Fails every queued record, and every later send, with the fatal error; batches in flight
    /// fail as their answers come back (they cannot be retried).
    func handleFatalErrorIfAny() {
        guard !isFatalErrorHandled, let fatal = idempotence?.fatalError else { return }
        isFatalErrorHandled = true
        logger.error("the idempotent producer cannot go on", metadata: ["error": "\(fatal)"])
        finish(accumulator.failFatally(fatal), error: { _ in fatal })
    }
}
