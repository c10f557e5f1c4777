import NIOCore
import PipelineConfig

/// A `key:` setting compiled: the regex built once, the constant key encoded once.
/// (SPI for the micro-benchmarks, which time `extract` per line.)
@_spi(Benchmarking)
public struct KeyExtractor: @unchecked Sendable {
    // @unchecked: Regex<AnyRegexOutput> is immutable after construction; it is only read.
    public enum Outcome {
        case key(ByteBuffer?)
        /// The key could not be extracted and the policy sends the record to this topic.
        case deadLetter(String)
    }

    private enum Compiled {
        case none
        case constant(ByteBuffer)
        case regex(Regex<AnyRegexOutput>, group: Int)
        case json([String])
        case template(RecordTemplate)
    }

    private let compiled: Compiled
    let onFailure: KeyExtraction.FailurePolicy

    public init(_ extraction: KeyExtraction?) throws {
        onFailure = extraction?.onFailure ?? .nullKey
        switch extraction?.method {
        case nil: compiled = .none
        case .constant(let text): compiled = .constant(ByteBuffer(string: text))
        case .regex(let pattern, let group): compiled = .regex(try Regex(pattern), group: group)
        case .json(let path): compiled = .json(path)
        case .template(let template): compiled = .template(template)
        }
    }

    /// Whether every record gets the same key (none, or a constant).
    var isConstant: Bool {
        switch compiled {
        case .none, .constant: true
        case .regex, .json, .template: false
        }
    }

    /// The record's key; `failed` is set when the key could not be extracted.
    public func extract(_ context: LineContext, failed: inout Bool) -> Outcome {
        let text: String?
        switch compiled {
        case .none: return .key(nil)
        case .constant(let key): return .key(key)
        case .regex(let regex, let group):
            let line = context.lines.string(context.line)
            if let match = try? regex.firstMatch(in: line), group < match.output.count,
                let range = match.output[group].range
            {
                text = String(line[range])
            } else {
                text = nil
            }
        case .json(let path): text = context.value(of: .json(path))
        case .template(let template): text = context.render(template)
        }
        if let text { return .key(ByteBuffer(string: text)) }
        failed = true
        switch onFailure {
        case .nullKey: return .key(nil)
        case .defaultKey(let key): return .key(ByteBuffer(string: key))
        case .deadLetter(let topic): return .deadLetter(topic)
        }
    }
}
