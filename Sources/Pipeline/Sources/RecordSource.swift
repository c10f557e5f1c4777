import NIOPosix
import PipelineConfig

/// A running source: reads until its input ends or it is told to stop, handing every read to
/// its sink. It returns once the sink has taken everything it read.
protocol RecordSource: Sendable {
    var configuration: SourceConfiguration { get }
    /// Reads into `sink` until `stop` or the end of input, signalling `started` once it reads
    /// (its socket bound, its files found). Returns true when the input ended by itself (stdin at
    /// EOF), false when stopped.
    func run(into sink: SourceSink, stop: StopSignal, started: Completion) async throws -> Bool
}

/// Why a source could not start or went on failing: names the source and the operation.
public struct SourceError: Error, Sendable, CustomStringConvertible {
    public var source: String
    public var message: String

    public init(source: String, _ message: String) {
        self.source = source
        self.message = message
    }

    public var description: String { "source \(source): \(message)" }
}
