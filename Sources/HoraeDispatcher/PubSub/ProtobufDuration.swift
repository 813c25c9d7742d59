import HoraeRules

/// Durations in the REST API's JSON form (protobuf `Duration`): seconds with up to nine
/// fractional digits and an `s` suffix, e.g. `"600s"` or `"1.500s"`.
enum ProtobufDuration {
    /// `"10s"`, or `"1.5s"` when there is a fraction (whole nanoseconds; smaller parts dropped).
    static func format(_ duration: Duration) -> String {
        let seconds = duration.wholeSeconds
        let nanos = duration.subsecondNanoseconds
        guard nanos != 0 else { return "\(seconds)s" }
        var fraction = String(nanos)
        fraction = String(repeating: "0", count: 9 - fraction.count) + fraction
        while fraction.hasSuffix("0") { fraction.removeLast() }
        return "\(seconds).\(fraction)s"
    }

    /// The duration of `"600s"`, `"1.500s"`, `"0.000000001s"`; nil for anything else (negative
    /// durations included: the API never sends them for the fields Horae reads).
    static func parse(_ text: String) -> Duration? {
        guard text.hasSuffix("s") else { return nil }
        let number = text.dropLast()
        let parts = number.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let whole = parts.first, !whole.isEmpty, whole.count <= 12,
            whole.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let seconds = Int64(whole)
        else { return nil }
        var nanos: Int64 = 0
        if parts.count == 2 {
            let fraction = parts[1]
            guard (1...9).contains(fraction.count), fraction.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                let value = Int64(fraction + String(repeating: "0", count: 9 - fraction.count))
            else { return nil }
            nanos = value
        }
        return .seconds(seconds) + .nanoseconds(nanos)
    }
}
