import FuzzSupport
import KafkaWire
import NIOCore

// What a broker (or anything answering on its port) sends back: a stream of size-prefixed frames,
// each a response header and body. Byte 0 picks the response type, byte 1 its version; the rest
// is the stream. Every frame must decode or throw a KafkaWireError — never trap.

/// Decodes one payload as `Response` at `version`, through the same calls the client makes.
func decode<Response: KafkaResponseMessage>(_: Response.Type, version: Int16, payload: ByteBuffer) {
    do {
        _ = try KafkaFrame.readResponse(Response.self, version: version, payload: payload)
    } catch is KafkaWireError {
    } catch {
        fatalError("\(Response.self) threw \(type(of: error)), not KafkaWireError: \(error)")
    }
    // The body alone, as tests and the negotiation fallback read it.
    var body = payload
    _ = try? Response.read(from: &body, version: version)
}

let responses: [any KafkaResponseMessage.Type] = [
    ApiVersionsResponse.self, MetadataResponse.self, ProduceResponse.self, InitProducerIdResponse.self,
    DescribeConfigsResponse.self, SaslHandshakeResponse.self, SaslAuthenticateResponse.self,
]

func decodeAny(_ type: any KafkaResponseMessage.Type, version: Int16, payload: ByteBuffer) {
    decode(type, version: version, payload: payload)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzResponses(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let input = fuzzInput(data, count)
    guard input.count >= 2 else { return 0 }
    let responseType = responses[Int(input[0]) % responses.count]
    // Versions outside a codec's range must be refused, so a few beyond it are tried too.
    let version = Int16(input[1] % 20) - 1
    var stream = ByteBuffer(bytes: input[2...])
    var frames = 0
    while true {
        let payload: ByteBuffer?
        do {
            // A small maximum, so that the size check is reached as often as the bodies.
            payload = try KafkaFrame.readFrame(from: &stream, maximumSize: 1 << 16)
        } catch is KafkaWireError {
            break
        } catch {
            fatalError("readFrame threw \(type(of: error)), not KafkaWireError: \(error)")
        }
        guard let payload else { break }
        frames += 1
        decodeAny(responseType, version: version, payload: payload)
    }
    if responseType == ApiVersionsResponse.self {
        var body = ByteBuffer(bytes: input[2...])
        _ = try? ApiVersionsResponse.readNegotiating(from: &body, version: version)
    }
    _ = frames
    return 0
}

runFuzzer(fuzzResponses)
