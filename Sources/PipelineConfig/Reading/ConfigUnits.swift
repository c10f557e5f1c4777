/// The units durations and byte counts are written in.
enum ConfigUnits {
    /// `250ms`, `30s`, `1.5s`, `5m`, `1h`; also `0` for "none".
    static func duration(_ text: String) -> Duration? {
        if text == "0" { return .zero }
        let units: [(suffix: String, nanoseconds: Double)] = [
            ("ms", 1e6), ("us", 1e3), ("ns", 1), ("s", 1e9), ("m", 60e9), ("h", 3600e9),
        ]
        for unit in units where text.hasSuffix(unit.suffix) {
            let number = String(text.dropLast(unit.suffix.count)).trimmingWhitespace
            guard let value = Double(number), value >= 0, value.isFinite, !number.hasPrefix("+") else { return nil }
            let nanoseconds = value * unit.nanoseconds
            guard nanoseconds < 1e18 else { return nil }
            return .nanoseconds(Int64(nanoseconds.rounded()))
        }
        return nil
    }

    /// `65536`, `512KiB`, `1MiB`, `64kb` (decimal k/M/G and binary Ki/Mi/Gi, B optional).
    static func byteCount(_ text: String) -> Int? {
        let lowered = String(text.lowercased().filter { $0 != " " })
        let units: [(suffix: String, factor: Int)] = [
            ("kib", 1 << 10), ("mib", 1 << 20), ("gib", 1 << 30), ("ki", 1 << 10), ("mi", 1 << 20), ("gi", 1 << 30),
            ("kb", 1000), ("mb", 1_000_000), ("gb", 1_000_000_000), ("k", 1000), ("m", 1_000_000),
            ("g", 1_000_000_000), ("b", 1),
        ]
        for unit in units where lowered.hasSuffix(unit.suffix) {
            guard let value = Int(lowered.dropLast(unit.suffix.count)), value >= 0 else { return nil }
            let (product, overflow) = value.multipliedReportingOverflow(by: unit.factor)
            return overflow ? nil : product
        }
        guard let value = Int(lowered), value >= 0 else { return nil }
        return value
    }
}
