import NIOCore

/// Kafka's framing: an int32 size, then that many bytes of header and body.
public enum KafkaFrame {
    /// The largest frame a broker accepts by default (`socket.request.max.bytes`, 100 MiB).
    public static let defaultMaximumSize = 104_857_600

    /// Appends a complete request frame: size, header (v2 when the body is flexible, else v1) and
    /// body. The size is back-patched once the body is written, so nothing is encoded twice.
    /// Returns the frame's length in bytes, size prefix included.
    @discardableResult
    public static func writeRequest<Request: KafkaRequestMessage>(
        _ request: Request, version: Int16, correlationId: Int32, clientId: String?,
        into buffer: inout ByteBuffer
    ) throws -> Int {
        try Request.checkVersion(version)
        let start = buffer.writerIndex
        buffer.writeInteger(Int32(0))
        let header = KafkaRequestHeader(
            requestApiKey: Request.apiKey, requestApiVersion: version, correlationId: correlationId,
            clientId: clientId)
        do {
            try header.write(into: &buffer, headerVersion: Request.isFlexible(version) ? 2 : 1)
            try request.write(into: &buffer, version: version)
        } catch {
            buffer.moveWriterIndex(to: start)
            throw error
        }
        let size = buffer.writerIndex - start - 4
        buffer.setInteger(Int32(size), at: start)
        return size + 4
    }

    /// Reads one frame's payload (header and body, without the size). Nil when the buffer does not
    /// yet hold the whole frame; throws when the announced size is negative or above `maximumSize`,
    /// before anything is allocated for it.
    public static func readFrame(from buffer: inout ByteBuffer, maximumSize: Int = defaultMaximumSize) throws
        -> ByteBuffer?
    {
        guard let size = buffer.getInteger(at: buffer.readerIndex, as: Int32.self) else { return nil }
        guard size >= 0 else {
            throw KafkaWireError(.invalidLength, "frame size \(size) is negative", location: "frame")
        }
        guard Int(size) <= maximumSize else {
            throw KafkaWireError(
                .frameTooLarge, "frame size \(size) exceeds the maximum of \(maximumSize) bytes", location: "frame")
        }
        guard buffer.readableBytes >= 4 + Int(size) else { return nil }
        buffer.moveReaderIndex(forwardBy: 4)
        return buffer.readSlice(length: Int(size))
    }

    /// Splits a response payload into its header and body. `version` is that of the request the
    /// response answers: the header layout depends on it.
    ///
    /// Bytes after the body are ignored, as the Java client and librdkafka ignore them: the
    /// librdkafka mock cluster ends every flexible Metadata response with one more empty tag
    /// section than the schema has. `ResponseMessage.readComplete` is the strict form.
    public static func readResponse<Response: KafkaResponseMessage>(
        _ type: Response.Type, version: Int16, payload: ByteBuffer
    ) throws -> (header: KafkaResponseHeader, body: Response) {
        try Response.checkVersion(version)
        var payload = payload
        let header = try KafkaResponseHeader.read(
            from: &payload,
            headerVersion: KafkaResponseHeader.headerVersion(
                apiKey: Response.apiKey, isFlexible: Response.isFlexible(version)))
        let body = try Response.read(from: &payload, version: version)
        return (header, body)
    }
}

/// A channel handler that cuts the inbound byte stream into Kafka frames (payloads without the
/// size prefix). A size above `maximumFrameSize` is an error, so a corrupt or hostile peer
/// cannot make the client buffer unbounded input.
public struct KafkaFrameDecoder: ByteToMessageDecoder, Sendable {
    public typealias InboundOut = ByteBuffer

    public let maximumFrameSize: Int

    public init(maximumFrameSize: Int = KafkaFrame.defaultMaximumSize) {
        self.maximumFrameSize = maximumFrameSize
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let frame = try KafkaFrame.readFrame(from: &buffer, maximumSize: maximumFrameSize) else {
            return .needMoreData
        }
        context.fireChannelRead(Self.wrapInboundOut(frame))
        return .continue
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws
        -> DecodingState
    {
        try decode(context: context, buffer: &buffer)
    }
}
