import Benchmark
import KafkaWire
import NIOCore

// Record-batch encoding of 100-byte log lines per codec, and CRC-32C.
//
// Each measured iteration of the encode benchmarks appends 1,000 records to a fresh batch and
// finishes it (compression, header, CRC); with the kilo scaling factor the harness reports
// throughput in records/s. MB/s = records/s × 100 B.

let recordsPerBatch = 1_000
let valueSize = 100

/// Log-like values: a fixed layout with varying numbers, so compressors see realistic
/// redundancy rather than random bytes or a single repeated line.
let values: [[UInt8]] = (0..<recordsPerBatch).map { i in
    var line = Array(
        "2026-11-27T01:\(10 + i % 50):\(10 + i % 49).\(100 + i % 900)Z host-\(i % 7) app[\(1000 + i % 97)]: GET /api/items/\(i * 7919 % 100_000) 200 \(i % 1000)ms "
            .utf8)
    while line.count < valueSize { line.append(UInt8(ascii: "a") + UInt8(line.count % 26)) }
    return Array(line.prefix(valueSize))
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.throughput, .wallClock, .cpuTotal, .mallocCountTotal],
        scalingFactor: .kilo,
        maxDuration: .seconds(3),
        maxIterations: 10_000,
        // The allocation count is what Thresholds/ keeps (`make bench-check`): a regression is
        // more than 2 allocations or 5 % above the stored p90.
        thresholds: [.mallocCountTotal: .init(relative: [.p90: 5], absolute: [.p90: 2])]
    )

    for codec in KafkaCompression.Codec.allCases {
        Benchmark("RecordBatch-encode-1000-records-\(codec)") { benchmark in
            let compression = KafkaCompression(codec: codec)
            // One measured iteration = one batch of 1,000 records (the kilo scaling factor), so
            // the reported throughput is records per second.
            var writer = RecordBatchWriter(capacity: recordsPerBatch * (valueSize + 16) + 64)
            for i in benchmark.scaledIterations {
                writer.append(timestamp: 1_764_200_000_000 + Int64(i), key: nil as [UInt8]?, value: values[i])
            }
            blackHole(try writer.finish(compression: compression))
        }
    }

    let megabyte = [UInt8](repeating: 0xA5, count: 1 << 20)
    Benchmark(
        "CRC32C-1-MiB",
        configuration: .init(metrics: [.throughput, .wallClock, .mallocCountTotal], scalingFactor: .one)
    ) { benchmark in
        megabyte.withUnsafeBytes { bytes in
            for _ in benchmark.scaledIterations {
                blackHole(CRC32C.checksum(bytes))
            }
        }
    }
}
