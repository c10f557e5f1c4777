#if canImport(Glibc)
    import Glibc
#endif

/// What libFuzzer calls once per input: the bytes, and their count.
public typealias FuzzTestOneInput = @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt

// libFuzzer's own entry, for programs that keep their `main`. SwiftPM links every executable with
// `main` aliased to the module's generated entry point, so libFuzzer's `main` never runs; the
// targets start the fuzzer from their top-level code instead.
@_silgen_name("LLVMFuzzerRunDriver")
private func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ testOneInput: FuzzTestOneInput
) -> CInt

/// Runs libFuzzer with this process's arguments (`-max_total_time=60 corpus/`, …) and exits with
/// its status: non-zero when an input crashed or leaked.
public func runFuzzer(_ testOneInput: FuzzTestOneInput) -> Never {
    var argc = CommandLine.argc
    var argv = CommandLine.unsafeArgv
    exit(LLVMFuzzerRunDriver(&argc, &argv, testOneInput))
}

/// The input's bytes as a buffer pointer (libFuzzer passes a null pointer for the empty input).
public func fuzzInput(_ data: UnsafePointer<UInt8>?, _ count: Int) -> UnsafeRawBufferPointer {
    guard let data, count > 0 else { return UnsafeRawBufferPointer(start: nil, count: 0) }
    return UnsafeRawBufferPointer(start: data, count: count)
}

/// Fails the run with a message libFuzzer reports, when an invariant the decoders promise breaks.
public func fuzzCheck(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition {
        fatalError("fuzz invariant: \(message())")
    }
}
