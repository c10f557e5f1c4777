import FuzzSupport
import PipelineConfig

// Any text either parses into a configuration or is rejected with errors that each carry a
// message: no input may trap, hang or leak.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPipelineConfig(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let text = String(decoding: fuzzInput(data, count), as: UTF8.self)
    do {
        _ = try PipelineConfiguration.parse(
            text, file: "fuzz.yaml", environment: ["HOME": "/home/fuzz", "KAFKA": "localhost:9092"],
            hostName: "fuzzhost")
    } catch {
        fuzzCheck(!error.errors.isEmpty, "a rejected file names no problem")
        for problem in error.errors {
            fuzzCheck(!problem.message.isEmpty, "a problem without a message")
        }
    }
    return 0
}

runFuzzer(fuzzPipelineConfig)
