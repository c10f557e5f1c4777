import Atomics
import KafkaWire
import Logging
import NIOCore

/// Connections to the brokers through the pool, and what their failures say.
extension Sender {
    func readyConnection(node: Int32, now: NIODeadline) -> BrokerConnection? {
        if let connection = pool.activeConnection(to: node) { return connection }
        guard let address = metadata.brokers[node] else {
            metadataState.refreshNeeded()
            return nil
        }
        requestConnection(node: node, address: address)
        return nil
    }

    /// Asks the pool for a connection (it waits out the reconnect backoff itself) and looks for
    /// work again once it is there or has failed.
    func requestConnection(node: Int32, address: KafkaBrokerAddress) {
        guard !isShutDown, !connectingNodes.contains(node) else { return }
        connectingNodes.insert(node)
        pool.connection(to: node, at: address).whenComplete { result in
            self.connectingNodes.remove(node)
            switch result {
            case .success(let connection):
                self.lastConnectionErrors[node] = nil
                self.connectionsOpen.wrappingIncrement(ordering: .relaxed)
                self.connectionFailure.withLockedValue { $0 = nil }
                connection.closeFuture.whenComplete { _ in
                    self.connectionsOpen.wrappingDecrement(ordering: .relaxed)
                    // Leaders may have moved; in-flight requests on it are retried.
                    self.metadataState.refreshNeeded()
                    self.wakeup()
                }
            case .failure(let error):
                let failure = self.producerError(error, node: node)
                self.lastConnectionErrors[node] = failure
                self.connectionFailure.withLockedValue { $0 = "\(address): \(failure.message)" }
                self.metadataState.refreshNeeded()
                self.logger.warning(
                    "could not connect to broker",
                    metadata: ["node": "\(node)", "address": "\(address)", "error": "\(failure)"])
                if failure.code == .authenticationFailed {
                    // Waiting out max.block.ms would not change the answer; the caller learns
                    // it now (Java's AuthenticationException). Reconnects keep their backoff.
                    self.failMetadataWaiters(error: failure)
                }
            }
            self.wakeup()
        }
    }

    func lastConnectionError(for batch: ProducerBatch) -> String {
        let topicPartition = batch.topicPartition
        if idempotence?.needsProducerId == true, batch.settings.isIdempotent {
            return "; no producer id yet\(machine.lastProducerIdError.map { " (last error: \($0.message))" } ?? "")"
        }
        guard let leader = metadata.leader(for: topicPartition) else { return "; its leader is unknown" }
        if let error = lastConnectionErrors[leader] { return "; last error: \(error.message)" }
        return ""
    }
}
