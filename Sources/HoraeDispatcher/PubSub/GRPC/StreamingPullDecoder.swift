import HoraeRules

/// What a StreamingPull message's fields become in a ``ReceivedMessage`` beside what a REST pull
/// of the same message gives (``PullResponseDecoder``), where the two wire forms differ: the
/// publish time is a Timestamp on the stream and text in JSON, written here as the JSON mapping
/// writes a Timestamp (RFC 3339 in UTC with 0, 3, 6 or 9 fractional digits). The stream's bytes
/// are read by ``StreamingPullWireDecoder``.
enum StreamingPullDecoder {
    /// The JSON form, without its quotes, of the Timestamp `seconds`.`nanos`
    /// (`2026-12-07T19:45:00.123Z`); nil for one outside the JSON mapping's range (years 1 to
    /// 9999, nanos 0 to 999 999 999). Written here, not through SwiftProtobuf's JSON encoder,
    /// which costs several thousand instructions a message; `publishTimeMatchesTheJSONMapping`
    /// checks the two agree.
    static func publishTime(seconds: Int64, nanos: Int32) -> String? {
        let nanos = Int(nanos)
        guard (minJSONSeconds...maxJSONSeconds).contains(seconds), (0..<1_000_000_000).contains(nanos) else {
            return nil
        }
        let days = CivilCalendar.floorDiv(seconds, 86_400)
        let secondOfDay = Int(seconds - days * 86_400)
        let (year, month, day) = CivilCalendar.civil(fromDays: days)
        // The JSON mapping writes 0, 3, 6 or 9 fractional digits: as few as keep every nonzero one.
        let fractionDigits = nanos == 0 ? 0 : nanos % 1_000_000 == 0 ? 3 : nanos % 1000 == 0 ? 6 : 9
        return String(unsafeUninitializedCapacity: 30) { out in
            var at = 0
            func digits(_ value: Int, _ width: Int) {
                var rest = value
                for i in stride(from: at + width - 1, through: at, by: -1) {
                    out[i] = UInt8(ascii: "0") + UInt8(rest % 10)
                    rest /= 10
                }
                at += width
            }
            func byte(_ ascii: Unicode.Scalar) {
                out[at] = UInt8(ascii: ascii)
                at += 1
            }
            digits(Int(year), 4)
            byte("-")
            digits(month, 2)
            byte("-")
            digits(day, 2)
            byte("T")
            digits(secondOfDay / 3600, 2)
            byte(":")
            digits(secondOfDay / 60 % 60, 2)
            byte(":")
            digits(secondOfDay % 60, 2)
            if fractionDigits > 0 {
                byte(".")
                var scaled = nanos
                for _ in fractionDigits..<9 { scaled /= 10 }
                digits(scaled, fractionDigits)
            }
            byte("Z")
            return at
        }
    }

    /// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z in seconds since the epoch.
    static let minJSONSeconds: Int64 = -62_135_596_800
    static let maxJSONSeconds: Int64 = 253_402_300_799
}
