/// Durations as rules write them: `250ms`, `10s`, `5m`, `6h`, `2d`, or combinations like `1h30m`.
public enum DurationParser {
    /// The duration, or nil when the text is not one.
    public static func parse(_ text: String) -> Duration? {
        // Largest unit first; `ms` is tried before `m` so it is not read as minutes.
        let units: [(name: String, millis: Int64, rank: Int)] = [
            ("d", 86_400_000, 5), ("h", 3_600_000, 4), ("ms", 1, 1), ("m", 60_000, 3), ("s", 1_000, 2),
        ]
        var rest = Substring(text)
        var totalMillis: Int64 = 0
        var lastRank = Int.max
        guard !rest.isEmpty else { return nil }
        while !rest.isEmpty {
            let digits = rest.prefix { $0.isASCII && $0.isNumber }
            guard !digits.isEmpty, digits.count <= 9, let value = Int64(digits) else { return nil }
            rest = rest.dropFirst(digits.count)
            guard let unit = units.first(where: { rest.hasPrefix($0.name) }) else { return nil }
            // Units go from larger to smaller (`1h30m`, not `30m1h`), each at most once.
            guard unit.rank < lastRank else { return nil }
            lastRank = unit.rank
            rest = rest.dropFirst(unit.name.count)
            totalMillis += value * unit.millis
        }
        return .milliseconds(totalMillis)
    }

    /// Renders a duration the way rules write it (`1h30m`, `250ms`).
    public static func format(_ d: Duration) -> String {
        var ms = d.wholeMilliseconds
        if ms == 0 { return "0s" }
        var out = ""
        for (unit, size) in [("d", Int64(86_400_000)), ("h", 3_600_000), ("m", 60_000), ("s", 1_000), ("ms", 1)]
        where ms >= size {
            out += "\(ms / size)\(unit)"
            ms %= size
        }
        return out
    }
}
