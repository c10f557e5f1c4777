import Benchmark
import KafkaClient
import NIOCore
@_spi(Benchmarking) import Pipeline
import PipelineConfig

// The agent's per-line hot paths: line framing of a 256 KiB read, key extraction by regex and by
// JSON field, murmur2 of a key. With the kilo scaling factor one measured iteration is 1,000
// lines (or keys), so throughput reads as lines/s and mallocCountTotal as allocations per 1,000
// lines: the count the thresholds in Thresholds/ hold (`make bench-check`).

let lineCount = 1_000
let lineSize = 100

/// A log line of exactly `lineSize` bytes whose fields vary with `i`.
func logLine(_ i: Int) -> String {
    var line =
        "2026-11-27T01:\(10 + i % 50):\(10 + i % 49).\(100 + i % 900)Z host-\(i % 7) app[\(1000 + i % 97)]: user=u\(i * 7919 % 100_000) GET /api/items/\(i % 1000) 200"
    while line.utf8.count < lineSize { line += "." }
    return String(line.utf8.prefix(lineSize))!
}

func jsonLine(_ i: Int) -> String {
    "{\"ts\":\"2026-11-27T01:\(10 + i % 50):\(10 + i % 49)Z\",\"level\":\"info\",\"user\":{\"id\":\"u\(i * 7919 % 100_000)\"},\"msg\":\"GET /api/items/\(i % 1000) 200\"}"
}

/// `lines` framed as one read would frame them, for the key benchmarks' contexts.
func framed(_ lines: [String]) -> FramedLines {
    var framer = LineFramer(settings: FramingSettings())
    return framer.feed(ByteBuffer(string: lines.joined(separator: "\n") + "\n"))
}

func context(_ lines: FramedLines) -> LineContext {
    LineContext(
        source: "app", host: "host-1", path: "/var/log/app.log", timestamp: 1_764_200_000_000,
        timestampText: LineContext.rfc3339(milliseconds: 1_764_200_000_000), lines: lines, line: lines.lines[0])
}

/// Allocation counts are deterministic but for the odd allocation of the runtime (a lazily
/// grown cache): a regression is more than 2 allocations or 5 % above the stored p90.
func allocationTolerance() -> [BenchmarkMetric: BenchmarkThresholds] {
    [.mallocCountTotal: .init(relative: [.p90: 5], absolute: [.p90: 2])]
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.throughput, .wallClock, .cpuTotal, .mallocCountTotal],
        scalingFactor: .kilo,
        maxDuration: .seconds(2),
        maxIterations: 10_000,
        thresholds: allocationTolerance()
    )

    // 256 KiB, the agent's read size: 2,595 whole lines and a partial one carried over.
    let readSize = 256 << 10
    var text = ""
    var index = 0
    while text.utf8.count < readSize {
        text += logLine(index) + "\n"
        index += 1
    }
    let read = ByteBuffer(bytes: Array(text.utf8.prefix(readSize)))
    Benchmark(
        "LineFramer-feed-256-KiB-of-100-B-lines",
        configuration: .init(
            metrics: [.throughput, .wallClock, .cpuTotal, .mallocCountTotal], scalingFactor: .one,
            maxDuration: .seconds(2), thresholds: allocationTolerance())
    ) { benchmark in
        for _ in benchmark.scaledIterations {
            var framer = LineFramer(settings: FramingSettings())
            blackHole(framer.feed(read))
        }
    }

    let logLines = framed((0..<lineCount).map(logLine))
    let regex = try! KeyExtractor(KeyExtraction(method: .regex(pattern: #"user=(\w+)"#, group: 1)))
    Benchmark("KeyExtractor-regex-1000-lines") { benchmark in
        var lineContext = context(logLines)
        var failed = false
        for i in benchmark.scaledIterations {
            lineContext.line = logLines.lines[i % lineCount]
            blackHole(regex.extract(lineContext, failed: &failed))
        }
    }

    let jsonLines = framed((0..<lineCount).map(jsonLine))
    let json = try! KeyExtractor(KeyExtraction(method: .json(path: ["user", "id"])))
    Benchmark("KeyExtractor-JSON-field-1000-lines") { benchmark in
        var lineContext = context(jsonLines)
        var failed = false
        for i in benchmark.scaledIterations {
            lineContext.line = jsonLines.lines[i % lineCount]
            blackHole(json.extract(lineContext, failed: &failed))
        }
    }

    let keys: [ByteBuffer] = (0..<lineCount).map { ByteBuffer(string: "user-\($0 * 7919 % 100_000)") }
    Benchmark("murmur2-partition-1000-keys") { benchmark in
        for i in benchmark.scaledIterations {
            blackHole(Murmur2.partition(forKey: keys[i % lineCount], partitionCount: 12))
        }
    }
}
