import KafkaWire
import NIOCore
import Testing

@testable import KafkaClient

/// The connection rules without sockets: requests are plain strings, time is a fixed origin plus
/// whatever the test says.
@Suite("BrokerConnection state machine")
struct BrokerConnectionStateMachineTests {
    typealias Machine = BrokerConnectionStateMachine<String>

    static let broker = BrokerIdentity(nodeId: 2, address: KafkaBrokerAddress(host: "127.0.0.1", port: 40123))
    static let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
    static let timeout = TimeAmount.milliseconds(30_000)

    static func machine() -> Machine {
        Machine(broker: broker, requestTimeout: timeout, now: start)
    }

    /// Takes an id and writes a request expecting a response; returns its info.
    @discardableResult
    static func write(
        _ machine: inout Machine, _ name: String, apiKey: KafkaApiKey = .produce, version: Int16 = 9,
        at now: NIODeadline = start, timer: Machine.TimerAction? = nil
    ) -> BrokerRequestInfo {
        guard case .write(let id) = machine.prepareRequest(apiKey: apiKey, version: version) else {
            Issue.record("prepareRequest failed")
            return BrokerRequestInfo(apiKey: apiKey, version: version, correlationId: -1)
        }
        let info = BrokerRequestInfo(apiKey: apiKey, version: version, correlationId: id)
        let action = machine.requestWritten(info, responder: name, now: now)
        if let timer { #expect(action == timer) }
        return info
    }

    /// A response payload: correlation id, then some body bytes.
    static func frame(_ correlationId: Int32, body: [UInt8] = [0, 0]) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(correlationId)
        buffer.writeBytes(body)
        return buffer
    }

    static func delivered(_ action: Machine.FrameAction) -> (String, BrokerRequestInfo)? {
        if case .deliver(let responder, let request) = action { return (responder, request) }
        return nil
    }

    static func closed(_ action: Machine.FrameAction) -> Machine.CloseAction? {
        if case .close(let close) = action { return close }
        return nil
    }

    @Test func correlationIdsIncreaseWithOrWithoutResponses() {
        var machine = Self.machine()
        var ids: [Int32] = []
        for index in 0..<4 {
            guard case .write(let id) = machine.prepareRequest(apiKey: .produce, version: 9) else {
                Issue.record("prepareRequest failed")
                return
            }
            ids.append(id)
            if index % 2 == 0 {
                _ = machine.requestWritten(
                    BrokerRequestInfo(apiKey: .produce, version: 9, correlationId: id), responder: "r\(index)",
                    now: Self.start)
            } else {
                machine.requestWrittenWithoutResponse(now: Self.start)
            }
        }
        #expect(ids == [1, 2, 3, 4])
        #expect(machine.inFlightCount == 2)
    }

    @Test func pipelinedResponsesMatchInOrder() {
        var machine = Self.machine()
        let requests = (0..<5).map { Self.write(&machine, "r\($0)") }
        #expect(machine.inFlightCount == 5)
        for (index, request) in requests.enumerated() {
            let action = machine.frameReceived(Self.frame(request.correlationId), now: Self.start + .seconds(1))
            let delivered = Self.delivered(action)
            #expect(delivered?.0 == "r\(index)")
            #expect(delivered?.1 == request)
        }
        #expect(machine.inFlightCount == 0)
        #expect(machine.isActive)
        #expect(machine.lastActivity == Self.start + .seconds(1))
    }

    @Test func unknownCorrelationIdIsDropped() {
        var machine = Self.machine()
        // An acks=0 request takes id 1 and gets no in-flight entry; the next request is id 2.
        guard case .write(let unanswered) = machine.prepareRequest(apiKey: .produce, version: 7) else {
            Issue.record("prepareRequest failed")
            return
        }
        machine.requestWrittenWithoutResponse(now: Self.start)
        let request = Self.write(&machine, "metadata", apiKey: .metadata, version: 12)
        guard case .drop(let dropped) = machine.frameReceived(Self.frame(unanswered), now: Self.start) else {
            Issue.record("the acks=0 echo was not dropped")
            return
        }
        #expect(dropped == unanswered)
        #expect(machine.inFlightCount == 1)
        #expect(
            Self.delivered(machine.frameReceived(Self.frame(request.correlationId), now: Self.start))?.0 == "metadata")
        // A stray id the connection never used is dropped too.
        guard case .drop = machine.frameReceived(Self.frame(9999), now: Self.start) else {
            Issue.record("an unknown id was not dropped")
            return
        }
        #expect(machine.isActive)
    }

    @Test func responseToALaterKnownRequestIsAProtocolError() throws {
        var machine = Self.machine()
        let first = Self.write(&machine, "first")
        let second = Self.write(&machine, "second", apiKey: .metadata, version: 12)
        let third = Self.write(&machine, "third")
        let close = try #require(Self.closed(machine.frameReceived(Self.frame(second.correlationId), now: Self.start)))
        #expect(close.closeChannel)
        #expect(close.failures.map(\.responder) == ["first", "second", "third"])
        #expect(close.failures.map(\.error.code) == [.protocolError, .connectionFailed, .connectionFailed])
        let message = close.failures[0].error.message
        #expect(message.contains("Produce v9 from broker 2 (127.0.0.1:40123)"))
        #expect(message.contains("correlation id \(second.correlationId)"))
        #expect(message.contains("correlation id \(first.correlationId)"))
        #expect(close.failures[2].error.message.contains("Produce v9 to broker 2 (127.0.0.1:40123)"))
        _ = third
        #expect(!machine.isActive)
        #expect(machine.inFlightCount == 0)
    }

    @Test func frameTooShortForAHeaderIsAProtocolError() throws {
        var machine = Self.machine()
        Self.write(&machine, "only")
        var garbage = ByteBuffer()
        garbage.writeBytes([0x00, 0x01])
        let close = try #require(Self.closed(machine.frameReceived(garbage, now: Self.start)))
        #expect(close.failures.map(\.responder) == ["only"])
        #expect(close.failures.first?.error.code == .protocolError)
        #expect(close.closeChannel)
        #expect(!machine.isActive)
    }

    /// A frame with the right correlation id but a body that does not decode: the shell reports it
    /// and the machine fails that request with `.protocolError` and closes.
    @Test func malformedBodyIsAProtocolErrorAndCloses() throws {
        var machine = Self.machine()
        let request = Self.write(&machine, "produce")
        Self.write(&machine, "after")
        var payload = Self.frame(request.correlationId, body: [0xFF, 0xFF, 0xFF])
        let (responder, info) = try #require(Self.delivered(machine.frameReceived(payload, now: Self.start)))
        #expect(responder == "produce")
        // Decode it the way the shell does, and see it fail.
        payload.moveReaderIndex(forwardBy: 0)
        let decodeError = #expect(throws: KafkaWireError.self) {
            _ = try KafkaFrame.readResponse(ProduceResponse.self, version: info.version, payload: payload)
        }
        let (failure, close) = machine.responseDecodingFailed(info, error: try #require(decodeError))
        #expect(failure.code == .protocolError)
        #expect(failure.message.contains("Produce v9 from broker 2 (127.0.0.1:40123)"))
        #expect(close.closeChannel)
        #expect(close.failures.map(\.responder) == ["after"])
        #expect(close.failures.map(\.error.code) == [.connectionFailed])
        #expect(!machine.isActive)
    }

    @Test func oneTimerForTheOldestDeadline() {
        var machine = Self.machine()
        let first = Self.start
        Self.write(&machine, "a", at: first, timer: .arm(first + Self.timeout))
        // A timer is already armed: later requests do not arm another.
        Self.write(&machine, "b", at: first + .seconds(10), timer: Machine.TimerAction.none)
        #expect(Self.delivered(machine.frameReceived(Self.frame(1), now: first + .seconds(11)))?.0 == "a")
        // The timer fires for "a"'s deadline; "b" is now the oldest and has 10 s left.
        guard case .arm(let next) = machine.timerFired(now: first + Self.timeout) else {
            Issue.record("the timer was not re-armed")
            return
        }
        #expect(next == first + .seconds(10) + Self.timeout)
        #expect(machine.inFlightCount == 1)
        // Nothing in flight after "b" is answered: the timer fires once more and stays disarmed;
        // the next request arms it again.
        _ = machine.frameReceived(Self.frame(2), now: first + .seconds(12))
        guard case .none = machine.timerFired(now: next) else {
            Issue.record("an idle timer was re-armed")
            return
        }
        Self.write(&machine, "c", at: next, timer: .arm(next + Self.timeout))
    }

    @Test func timeoutFailsTheOldestAndClosesTheRest() throws {
        var machine = Self.machine()
        Self.write(&machine, "a")
        Self.write(&machine, "b", apiKey: .metadata, version: 12, at: Self.start + .milliseconds(5))
        guard case .close(let close) = machine.timerFired(now: Self.start + Self.timeout) else {
            Issue.record("the timeout did not close the connection")
            return
        }
        #expect(close.closeChannel)
        #expect(close.failures.map(\.responder) == ["a", "b"])
        #expect(close.failures.map(\.error.code) == [.requestTimeout, .connectionFailed])
        #expect(close.failures[0].error.message == "Produce v9 to broker 2 (127.0.0.1:40123) timed out after 30000 ms")
        #expect(close.failures[1].error.message.hasPrefix("Metadata v12 to broker 2 (127.0.0.1:40123) failed"))
        #expect(!machine.isActive)
        // Closed for good: new requests fail at once, late frames and timers do nothing.
        guard case .fail(let error) = machine.prepareRequest(apiKey: .produce, version: 9) else {
            Issue.record("a request was accepted on a closed connection")
            return
        }
        #expect(error.code == .connectionFailed)
        #expect(error.message.contains("broker 2 (127.0.0.1:40123)"))
        guard case .none = machine.frameReceived(Self.frame(1), now: Self.start) else {
            Issue.record("a frame was handled after close")
            return
        }
        #expect(machine.channelInactive().failures.isEmpty)
    }

    @Test func channelInactiveFailsEverythingWithoutClosingAgain() {
        var machine = Self.machine()
        Self.write(&machine, "a")
        Self.write(&machine, "b")
        let close = machine.channelInactive()
        #expect(!close.closeChannel)
        #expect(close.failures.map(\.responder) == ["a", "b"])
        #expect(close.failures.allSatisfy { $0.error.code == .connectionFailed })
        #expect(machine.closeRequested().failures.isEmpty)
    }

    @Test func pipelineErrorsMapToCodes() {
        var wire = Self.machine()
        Self.write(&wire, "a")
        let tooLarge = wire.errorCaught(KafkaWireError(.frameTooLarge, "frame size 200000000 exceeds the maximum"))
        #expect(tooLarge.failures.map(\.error.code) == [.protocolError])
        var io = Self.machine()
        Self.write(&io, "a")
        let reset = io.errorCaught(ChannelError.ioOnClosedChannel)
        #expect(reset.failures.map(\.error.code) == [.connectionFailed])
        #expect(reset.closeChannel)
    }

    @Test func inFlightQueueReusesStorage() {
        var queue = FIFOQueue<Int>()
        var expected: [Int] = []
        var popped: [Int] = []
        for round in 0..<200 {
            queue.append(round)
            expected.append(round)
            if round % 3 != 0, let value = queue.popFirst() { popped.append(value) }
        }
        while let value = queue.popFirst() { popped.append(value) }
        #expect(popped == expected)
        #expect(queue.isEmpty)
        #expect(queue.first(where: { _ in true }) == nil)
    }
}
