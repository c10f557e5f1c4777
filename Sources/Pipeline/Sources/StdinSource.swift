import NIOPosix
import PipelineConfig

/// `type: stdin`: records from standard input until it ends.
struct StdinSource: RecordSource {
    let configuration: SourceConfiguration
    let reader: BlockingReader
    var descriptor: CInt = 0

    func run(into sink: SourceSink, stop: StopSignal, started: Completion) async throws -> Bool {
        started.signal()
        var framer = LineFramer(settings: configuration.framing)
        while !stop.isStopped {
            switch try await reader.read(descriptor, waitForData: true, pollInterval: .milliseconds(100)) {
            case .idle:
                continue
            case .data(let chunk):
                sink.counters.bytesRead.wrappingIncrement(by: chunk.readableBytes, ordering: .relaxed)
                let lines = framer.feed(chunk)
                await deliver(lines, sink: sink)
            case .endOfFile:
                await deliver(framer.finish(), sink: sink)
                return true
            }
        }
        await completePendingLine(&framer, sink: sink)
        return false
    }

    /// Stopping in the middle of a line: reads on, a byte at a time so that nothing after the
    /// line's newline is taken from the pipe, for up to a second. A line that does not end by
    /// then is dropped and counted: half a line is not a record, and its writer is still
    /// writing it.
    private func completePendingLine(_ framer: inout LineFramer, sink: SourceSink) async {
        guard framer.pendingByteCount > 0 else { return }
        let deadline = ContinuousClock.now + .seconds(1)
        while ContinuousClock.now < deadline {
            let outcome = try? await reader.read(
                descriptor, waitForData: true, pollInterval: .milliseconds(100), maximum: 1)
            switch outcome {
            case .data(let byte):
                let lines = framer.feed(byte)
                if framer.pendingByteCount == 0 {
                    await deliver(lines, sink: sink)
                    return
                }
            case .endOfFile:
                await deliver(framer.finish(), sink: sink)
                return
            case .idle, nil:
                continue
            }
        }
        sink.dropPartialLine(bytes: framer.pendingByteCount)
    }

    private func deliver(_ lines: FramedLines, sink: SourceSink) async {
        await sink.accept(lines, position: SourcePosition(path: nil, offset: lines.endOffset))
    }
}
