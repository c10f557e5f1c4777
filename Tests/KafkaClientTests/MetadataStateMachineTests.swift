import KafkaWire
import NIOCore
import Testing

@testable import KafkaClient

/// The sender's metadata decisions, driven directly: when a request is due, what it asks for,
/// and what answers and failures mean.
@Suite("MetadataStateMachine")
struct MetadataStateMachineTests {
    static let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
    static func backoff(_ failures: Int) -> TimeAmount { .milliseconds(Int64(100 * failures)) }

    static func machine() -> MetadataStateMachine {
        var configuration = KafkaProducerConfiguration(bootstrapServers: [.init(host: "127.0.0.1", port: 9092)])
        configuration.metadataMaxAge = .seconds(300)
        configuration.metadataMaxIdle = .seconds(60)
        return MetadataStateMachine(configuration: configuration)
    }

    static func response(topics: [String: [Int32]], brokers: [Int32] = [1]) -> MetadataResponse {
        MetadataResponse(
            brokers: brokers.map { .init(nodeId: $0, host: "127.0.0.1", port: 9092) },
            topics: topics.map { name, leaders in
                .init(
                    name: name,
                    partitions: leaders.enumerated().map {
                        .init(partitionIndex: Int32($0.offset), leaderId: $0.element)
                    })
            })
    }

    @Test func aRequestIsDueOnlyWhenStaleOrWaitedForAndNotInFlight() {
        var machine = Self.machine()
        let now = Self.start
        let due1 = machine.isDue(now: now, hasWaiters: false)
        #expect(due1, "nothing known yet")
        machine.want("logs", now: now)
        #expect(machine.requestStarted() == ["logs"])
        let due2 = machine.isDue(now: now, hasWaiters: true)
        #expect(!due2, "one request at a time")
        let answer = machine.answered(
            Self.response(topics: ["logs": [1, 1]]), requested: ["logs"], waiting: ["logs"], now: now,
            backoff: Self.backoff)
        #expect(answer.known == ["logs"] && answer.refused.isEmpty)
        #expect(machine.snapshot.topics["logs"]?.partitions.count == 2)
        let due3 = machine.isDue(now: now + .seconds(299), hasWaiters: false)
        #expect(!due3, "fresh")
        let due4 = machine.isDue(now: now + .seconds(300), hasWaiters: false)
        #expect(due4, "metadata.max.age.ms passed")
    }

    @Test func missingTopicsAndLeadersAskAgainAfterAGrowingBackoff() {
        var machine = Self.machine()
        let now = Self.start
        machine.want("new", now: now)
        _ = machine.requestStarted()
        _ = machine.answered(
            Self.response(topics: [:]), requested: ["new"], waiting: ["new"], now: now, backoff: Self.backoff)
        #expect(machine.retryAt == now + .milliseconds(100))
        let due5 = machine.isDue(now: now + .milliseconds(99), hasWaiters: true)
        #expect(!due5)
        let due6 = machine.isDue(now: now + .milliseconds(100), hasWaiters: true)
        #expect(due6)
        _ = machine.requestStarted()
        // The topic exists now, but a partition's leader is a broker the answer does not list.
        _ = machine.answered(
            Self.response(topics: ["new": [1, 7]]), requested: ["new"], waiting: [], now: now, backoff: Self.backoff)
        #expect(machine.retryAt == now + .milliseconds(200))
        #expect(machine.snapshot.leader(for: TopicPartition(topic: "new", partition: 1)) == nil)
        _ = machine.requestStarted()
        _ = machine.answered(
            Self.response(topics: ["new": [1, 1]]), requested: ["new"], waiting: [], now: now, backoff: Self.backoff)
        #expect(machine.retryAt == nil && machine.failures == 0)
    }

    @Test func refusedTopicsFailTheirWaitersAndFailuresKeepTheError() {
        var machine = Self.machine()
        let now = Self.start
        machine.want("secret", now: now)
        _ = machine.requestStarted()
        var response = Self.response(topics: [:])
        response.topics = [
            .init(errorCode: KafkaErrorCode.topicAuthorizationFailed.rawValue, name: "secret", partitions: [])
        ]
        let answer = machine.answered(
            response, requested: ["secret"], waiting: ["secret"], now: now, backoff: Self.backoff)
        #expect(answer.refused == ["secret": .topicAuthorizationFailed])

        _ = machine.requestStarted()
        machine.failed(KafkaProducerError(.connectionFailed, "gone"), now: now, backoff: Self.backoff)
        #expect(machine.lastError?.message == "gone")
        #expect(machine.isRefreshNeeded && !machine.isRequestInFlight)
    }

    @Test func idleTopicsAreForgottenAndUnencodableOnesDropped() {
        var machine = Self.machine()
        let now = Self.start
        machine.want("old", now: now)
        machine.want("busy", now: now + .seconds(50))
        _ = machine.requestStarted()
        _ = machine.answered(
            Self.response(topics: ["old": [1], "busy": [1]]), requested: ["busy", "old"], waiting: [],
            now: now + .seconds(61), backoff: Self.backoff)
        #expect(Set(machine.wantedTopics.keys) == ["busy"], "metadata.max.idle.ms passed for old")

        machine.want(String(repeating: "x", count: 40_000), now: now)
        _ = machine.requestStarted()
        machine.encodingFailed(waiting: [String(repeating: "x", count: 40_000)], now: now, backoff: Self.backoff)
        #expect(Set(machine.wantedTopics.keys) == ["busy"])
    }
}
