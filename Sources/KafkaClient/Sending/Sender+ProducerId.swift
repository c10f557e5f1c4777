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
        requestProducerId(now: now)
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
    /// a fresh id; epochs are bumped locally) to the least busy broker. What the answer means is
    /// the state machine's: retriable failures are retried with the retry backoff, a refusal is
    /// fatal.
    func requestProducerId(now: NIODeadline) {
        guard machine.isProducerIdRequestDue(now: now), let connection = metadataConnection(now: now) else { return }
        let version = connection.apiVersions[.initProducerId]
        guard machine.producerIdRequestStarting(node: connection.nodeId, address: connection.address, version: version),
            let version
        else { return }
        connection.send(InitProducerIdRequest(), version: version, expecting: InitProducerIdResponse.self)
            .whenComplete { result in
                let outcome: SenderStateMachine.ProducerIdOutcome
                switch result {
                case .success(let response):
                    outcome = self.machine.producerIdAnswered(response, node: connection.nodeId, now: .now())
                case .failure(let error):
                    outcome = self.machine.producerIdFailed(
                        self.producerError(error, node: connection.nodeId), now: .now())
                }
                switch outcome {
                case .received(let id, let resets):
                    self.logger.debug("producer id received", metadata: ["producer_id": "\(id)"])
                    self.report(resets)
                case .retry(let error):
                    self.logger.warning("could not get a producer id", metadata: ["error": "\(error)"])
                case .fatal:
                    break  // handleFatalErrorIfAny logs it and fails what is queued
                }
                self.handleFatalErrorIfAny()
                self.wakeup()
            }
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
