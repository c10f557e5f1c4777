import KafkaWire
import NIOCore
import NIOTestUtils
import Testing

/// KafkaFrameDecoder cuts a byte stream into frame payloads however the bytes arrive.
@Suite struct FrameDecoderTests {
    /// Complete frames: every request vector plus every response vector with a size prefix.
    static let frames: [ByteBuffer] = {
        var frames = MessageVector.requests.prefix(20).map { ByteBuffer(hex: $0.hex) }
        for vector in MessageVector.responses.prefix(20) {
            var frame = ByteBuffer()
            frame.writeInteger(Int32(vector.hex.count / 2))
            frame.writeImmutableBuffer(ByteBuffer(hex: vector.hex))
            frames.append(frame)
        }
        var empty = ByteBuffer()
        empty.writeInteger(Int32(0))
        frames.append(empty)
        return frames
    }()

    static func payload(of frame: ByteBuffer) -> ByteBuffer {
        frame.getSlice(at: frame.readerIndex + 4, length: frame.readableBytes - 4)!
    }

    @Test func verifierOneFramePerInput() throws {
        let pairs = Self.frames.map { ($0, [Self.payload(of: $0)]) }
        try ByteToMessageDecoderVerifier.verifyDecoder(inputOutputPairs: pairs) { KafkaFrameDecoder() }
    }

    @Test func verifierManyFramesInOneInput() throws {
        var stream = ByteBuffer()
        for frame in Self.frames { stream.writeImmutableBuffer(frame) }
        try ByteToMessageDecoderVerifier.verifyDecoder(
            inputOutputPairs: [(stream, Self.frames.map(Self.payload(of:)))]) { KafkaFrameDecoder() }
    }

    /// Drains every complete frame from `buffer`.
    static func drain(_ buffer: inout ByteBuffer) throws -> [ByteBuffer] {
        var out: [ByteBuffer] = []
        while let frame = try KafkaFrame.readFrame(from: &buffer) { out.append(frame) }
        return out
    }

    @Test func splitAtEveryBoundary() throws {
        var stream = ByteBuffer()
        for frame in Self.frames.prefix(6) { stream.writeImmutableBuffer(frame) }
        let expected = Self.frames.prefix(6).map(Self.payload(of:))
        for split in 0...stream.readableBytes {
            var buffer = stream.getSlice(at: 0, length: split)!
            var decoded = try Self.drain(&buffer)
            buffer.writeImmutableBuffer(stream.getSlice(at: split, length: stream.readableBytes - split)!)
            decoded += try Self.drain(&buffer)
            #expect(decoded == expected, "split at \(split)")
            #expect(buffer.readableBytes == 0)
        }
    }

    @Test func byteByByte() throws {
        var stream = ByteBuffer()
        for frame in Self.frames { stream.writeImmutableBuffer(frame) }
        var buffer = ByteBuffer()
        var decoded: [ByteBuffer] = []
        for byte in stream.readableBytesView {
            buffer.writeInteger(byte)
            decoded += try Self.drain(&buffer)
        }
        #expect(decoded == Self.frames.map(Self.payload(of:)))
    }

    @Test func oversizedFrameThrowsBeforeBuffering() {
        var buffer = ByteBuffer(hex: "7fffffff00")
        let error = #expect(throws: KafkaWireError.self) { try KafkaFrame.readFrame(from: &buffer) }
        #expect(error?.code == .frameTooLarge)
        var small = ByteBuffer(hex: "00000011" + String(repeating: "00", count: 17))
        let limited = #expect(throws: KafkaWireError.self) { try KafkaFrame.readFrame(from: &small, maximumSize: 16) }
        #expect(limited?.code == .frameTooLarge)
    }

    @Test func negativeSizeThrows() {
        var buffer = ByteBuffer(hex: "ffffffff")
        let error = #expect(throws: KafkaWireError.self) { try KafkaFrame.readFrame(from: &buffer) }
        #expect(error?.code == .invalidLength)
        var other = ByteBuffer(hex: "80000000")
        #expect(throws: KafkaWireError.self) { try KafkaFrame.readFrame(from: &other) }
    }

    @Test func partialSizeNeedsMoreData() throws {
        var buffer = ByteBuffer(hex: "000000")
        #expect(try KafkaFrame.readFrame(from: &buffer) == nil)
        #expect(buffer.readableBytes == 3)
    }
}
