import KafkaWire
import NIOCore
import Testing

@testable import KafkaClient

/// The sender's InitProducerId decisions, driven directly: when to ask, and what each answer
/// means.
@Suite("SenderStateMachine: the producer id")
struct SenderStateMachineProducerIdTests {
    static let now = NIODeadline.uptimeNanoseconds(5_000_000_000)

    static func machine() -> SenderStateMachine {
        var configuration = KafkaProducerConfiguration(bootstrapServers: [.init(host: "127.0.0.1", port: 9092)])
        configuration.retryBackoff = .milliseconds(100)
        configuration.retryBackoffMax = .milliseconds(1000)
        var machine = SenderStateMachine(
            configuration: configuration, accumulator: RecordAccumulator(settings: .init(configuration: configuration)))
        machine.jitter = { 1.0 }
        return machine
    }

    static func answer(_ code: KafkaErrorCode, id: Int64 = 4000, epoch: Int16 = 0) -> InitProducerIdResponse {
        InitProducerIdResponse(errorCode: code.rawValue, producerId: id, producerEpoch: epoch)
    }

    static let address = KafkaBrokerAddress(host: "127.0.0.1", port: 9092)

    @Test func anIdIsAskedForOnceAtATimeAndUsed() {
        var machine = Self.machine()
        #expect(machine.isProducerIdRequestDue(now: Self.now))
        let started = machine.producerIdRequestStarting(node: 1, address: Self.address, version: 4)
        #expect(started)
        #expect(!machine.isProducerIdRequestDue(now: Self.now), "one request at a time")
        guard case .received(let id, _) = machine.producerIdAnswered(Self.answer(.none), node: 1, now: Self.now) else {
            Issue.record("the id was not used")
            return
        }
        #expect(id.producerId == 4000)
        #expect(machine.idempotence?.needsProducerId == false)
        #expect(!machine.isProducerIdRequestDue(now: Self.now))
    }

    @Test func retriableAnswersAndUnusableIdsAreAskedAgainAfterAGrowingBackoff() {
        var machine = Self.machine()
        _ = machine.producerIdRequestStarting(node: 1, address: Self.address, version: 4)
        guard case .retry = machine.producerIdAnswered(Self.answer(.coordinatorNotAvailable), node: 1, now: Self.now)
        else {
            Issue.record("COORDINATOR_NOT_AVAILABLE is retriable")
            return
        }
        #expect(machine.producerIdRetryAt == Self.now + .milliseconds(100))
        #expect(!machine.isProducerIdRequestDue(now: Self.now + .milliseconds(99)))
        #expect(machine.isProducerIdRequestDue(now: Self.now + .milliseconds(100)))
        _ = machine.producerIdRequestStarting(node: 1, address: Self.address, version: 4)
        guard case .retry(let error) = machine.producerIdAnswered(Self.answer(.none, id: -1), node: 1, now: Self.now)
        else {
            Issue.record("a negative producer id was used")
            return
        }
        #expect(error.message.contains("producer id -1"))
        #expect(machine.producerIdRetryAt == Self.now + .milliseconds(200))
        #expect(machine.idempotence?.needsProducerId == true)
    }

    @Test(arguments: [KafkaErrorCode.clusterAuthorizationFailed, .transactionalIdAuthorizationFailed])
    func refusalsAreFatal(_ code: KafkaErrorCode) {
        var machine = Self.machine()
        _ = machine.producerIdRequestStarting(node: 1, address: Self.address, version: 4)
        guard case .fatal(let error) = machine.producerIdAnswered(Self.answer(code), node: 1, now: Self.now) else {
            Issue.record("\(code) is a refusal")
            return
        }
        #expect(error.code == .idempotenceFailed && error.brokerErrorCode == code)
        #expect(machine.idempotence?.fatalError?.code == .idempotenceFailed)
        #expect(!machine.isProducerIdRequestDue(now: Self.now + .hours(1)))
    }

    @Test func aBrokerWithoutInitProducerIdIsFatal() {
        var machine = Self.machine()
        let started = machine.producerIdRequestStarting(node: 3, address: Self.address, version: nil)
        #expect(!started)
        #expect(machine.idempotence?.fatalError?.message.contains("does not support InitProducerId") == true)
    }
}
