import NIOPosix
import PipelineConfig

/// `type: stdin`: records from standard input until it ends.
struct StdinSource: RecordSource {
    let configuration: SourceConfiguration
    let reader: BlockingReader
    var descriptor: CInt = 0

    func run(into sink: SourceSink, stop: StopSignal) async throws -> Bool {
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
        // A line without its newline is still something a writer handed over: deliver it.
        await deliver(framer.finish(), sink: sink)
        return false
    }

    private func deliver(_ lines: FramedLines, sink: SourceSink) async {
        await sink.accept(lines, position: SourcePosition(path: nil, offset: lines.endOffset))
    }
}
