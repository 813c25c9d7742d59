/// A hand-written subset of C `strftime`, used by the template filter `date("…")`.
///
/// Times are formatted at a given offset from UTC (``format(epochSeconds:offsetSeconds:)``), with
/// English month and weekday names, whatever the machine's locale and time zone. Supported
/// conversions:
///
/// | Conversion | Meaning                                   | Example (2026-11-29T04:17:46Z) |
/// |------------|-------------------------------------------|--------------------------------|
/// | `%Y`       | year, at least 4 digits                   | `2026`                         |
/// | `%m`       | month, 01–12                              | `11`                           |
/// | `%d`       | day of the month, 01–31                   | `29`                           |
/// | `%H`       | hour, 00–23                               | `04`                           |
/// | `%M`       | minute, 00–59                             | `17`                           |
/// | `%S`       | second, 00–59                             | `46`                           |
/// | `%j`       | day of the year, 001–366                  | `333`                          |
/// | `%y`       | year without century, 00–99               | `26`                           |
/// | `%e`       | day of the month, space-padded, ` 1`–`31` | `29`                           |
/// | `%b`       | abbreviated month name                    | `Nov`                          |
/// | `%B`       | full month name                           | `November`                     |
/// | `%a`       | abbreviated weekday name                  | `Sun`                          |
/// | `%A`       | full weekday name                         | `Sunday`                       |
/// | `%s`       | seconds since 1970-01-01T00:00:00Z        | `1795925866`                   |
/// | `%F`       | `%Y-%m-%d`                                | `2026-11-29`                   |
/// | `%T`       | `%H:%M:%S`                                | `04:17:46`                     |
/// | `%z`       | the offset from UTC, `+hhmm` or `-hhmm`   | `+0000`                        |
/// | `%%`       | a literal `%`                             | `%`                            |
///
/// Any other conversion is rejected when the format is compiled, so a typo in a rule is reported
/// by `horae validate` rather than at run time. Fractions of a second are dropped (truncated).
struct StrftimeFormatter: Sendable, Hashable {
    enum Conversion: Sendable, Hashable {
        case year, month, day, hour, minute, second, dayOfYear, shortYear, spacePaddedDay
        case shortMonthName, monthName, shortWeekdayName, weekdayName, epochSeconds, offset
    }

    enum Piece: Sendable, Hashable {
        case literal(String)
        case conversion(Conversion)
    }

    /// Why a format could not be compiled; `offset` counts Unicode scalars into the format.
    struct FormatError: Error, Sendable, Hashable {
        var offset: Int
        var message: String
    }

    /// The supported conversions, as listed in error messages.
    static let supportedConversions = "%Y %m %d %H %M %S %j %y %e %b %B %a %A %s %F %T %z %%"

    let format: String
    let pieces: [Piece]

    /// Compiles `format`; throws on a conversion outside the supported subset or a lone `%`.
    init(format: String) throws(FormatError) {
        var pieces: [Piece] = []
        var literal = ""
        var offset = 0
        var iterator = format.unicodeScalars.makeIterator()
        func flush() {
            if !literal.isEmpty {
                pieces.append(.literal(literal))
                literal = ""
            }
        }
        while let c = iterator.next() {
            defer { offset += 1 }
            guard c == "%" else {
                literal.unicodeScalars.append(c)
                continue
            }
            guard let spec = iterator.next() else {
                throw FormatError(
                    offset: offset,
                    message: "a lone `%` ends the format; write `%%` for a percent sign")
            }
            let conversions: [Conversion]
            switch spec {
            case "Y": conversions = [.year]
            case "m": conversions = [.month]
            case "d": conversions = [.day]
            case "H": conversions = [.hour]
            case "M": conversions = [.minute]
            case "S": conversions = [.second]
            case "j": conversions = [.dayOfYear]
            case "y": conversions = [.shortYear]
            case "e": conversions = [.spacePaddedDay]
            case "b": conversions = [.shortMonthName]
            case "B": conversions = [.monthName]
            case "a": conversions = [.shortWeekdayName]
            case "A": conversions = [.weekdayName]
            case "s": conversions = [.epochSeconds]
            case "z": conversions = [.offset]
            case "F":
                conversions = []
                flush()
                pieces += [.conversion(.year), .literal("-"), .conversion(.month), .literal("-"), .conversion(.day)]
            case "T":
                conversions = []
                flush()
                pieces += [
                    .conversion(.hour), .literal(":"), .conversion(.minute), .literal(":"), .conversion(.second),
                ]
            case "%":
                literal.append("%")
                offset += 1
                continue
            default:
                throw FormatError(
                    offset: offset,
                    message: "`date` does not support `%\(spec)`; supported conversions: \(Self.supportedConversions)")
            }
            offset += 1
            if !conversions.isEmpty {
                flush()
                pieces += conversions.map { .conversion($0) }
            }
        }
        flush()
        self.format = format
        self.pieces = pieces
    }

    static func == (a: StrftimeFormatter, b: StrftimeFormatter) -> Bool { a.format == b.format }
    func hash(into hasher: inout Hasher) { hasher.combine(format) }

    // MARK: Formatting

    /// Formats a time given as whole seconds since the Unix epoch, as the wall clock reads it at
    /// `offsetSeconds` from UTC (0: UTC).
    func format(epochSeconds: Int64, offsetSeconds: Int = 0) -> String {
        let local = epochSeconds + Int64(offsetSeconds)
        let days = CivilCalendar.floorDiv(local, 86_400)
        let secondOfDay = Int(local - days * 86_400)
        let (year, month, day) = CivilCalendar.civil(fromDays: days)
        var out = ""
        out.reserveCapacity(format.utf8.count + 8)
        for piece in pieces {
            switch piece {
            case .literal(let s):
                out += s
            case .conversion(let conversion):
                switch conversion {
                case .year: out += Self.padded(year, 4)
                case .month: out += Self.padded(Int64(month), 2)
                case .day: out += Self.padded(Int64(day), 2)
                case .hour: out += Self.padded(Int64(secondOfDay / 3600), 2)
                case .minute: out += Self.padded(Int64(secondOfDay / 60 % 60), 2)
                case .second: out += Self.padded(Int64(secondOfDay % 60), 2)
                case .dayOfYear:
                    out += Self.padded(days - CivilCalendar.days(year: year, month: 1, day: 1) + 1, 3)
                case .shortYear: out += Self.padded(CivilCalendar.floorMod(year, 100), 2)
                case .spacePaddedDay: out += day < 10 ? " \(day)" : "\(day)"
                case .shortMonthName: out += Self.monthNames[month - 1].prefix(3)
                case .monthName: out += Self.monthNames[month - 1]
                case .shortWeekdayName: out += Self.weekdayNames[CivilCalendar.weekday(fromDays: days)].prefix(3)
                case .weekdayName: out += Self.weekdayNames[CivilCalendar.weekday(fromDays: days)]
                case .epochSeconds: out += String(epochSeconds)
                case .offset: out += Self.offsetText(offsetSeconds, separator: "")
                }
            }
        }
        return out
    }

    static let monthNames = [
        "January", "February", "March", "April", "May", "June", "July",
        "August", "September", "October", "November", "December",
    ]
    static let weekdayNames = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]

    /// `+hh:mm` / `-hh:mm` (with `separator` between hours and minutes); seconds are dropped.
    static func offsetText(_ offsetSeconds: Int, separator: String) -> String {
        let minutes = abs(offsetSeconds) / 60
        return (offsetSeconds < 0 ? "-" : "+") + padded(Int64(minutes / 60), 2) + separator
            + padded(Int64(minutes % 60), 2)
    }

    /// `2026-03-05T01:00:00+08:00`, or `…Z` at offset 0: the instant `epochSeconds` as RFC 3339,
    /// to the second, on the wall clock of `offsetSeconds` (whole minutes).
    static func rfc3339(epochSeconds: Int64, offsetSeconds: Int) -> String {
        let offset = offsetSeconds / 60 * 60
        let local = epochSeconds + Int64(offset)
        let days = CivilCalendar.floorDiv(local, 86_400)
        let secondOfDay = local - days * 86_400
        let (year, month, day) = CivilCalendar.civil(fromDays: days)
        var out = year < 0 ? "-" + padded(-year, 4) : padded(year, 4)
        out += "-" + padded(Int64(month), 2) + "-" + padded(Int64(day), 2)
        out += "T" + padded(secondOfDay / 3600, 2) + ":" + padded(secondOfDay / 60 % 60, 2) + ":"
        out += padded(secondOfDay % 60, 2)
        out += offset == 0 ? "Z" : offsetText(offset, separator: ":")
        return out
    }

    private static func padded(_ value: Int64, _ width: Int) -> String {
        let digits = String(value.magnitude)
        let sign = value < 0 ? "-" : ""
        if digits.utf8.count >= width { return sign + digits }
        return sign + String(repeating: "0", count: width - digits.utf8.count) + digits
    }

    // MARK: Parsing timestamps

    /// The whole seconds since the Unix epoch of `text`, which is either an RFC 3339 timestamp
    /// (`2026-11-29T04:17:46Z`, `2026-11-29T04:17:46.234Z`, `2026-11-29T05:17:46+01:00`; `t`, `z`
    /// and a space separator are accepted too) or an integer count of Unix seconds (`1795925866`,
    /// optionally negative). Fractions of a second are truncated. Nil for anything else.
    static func epochSeconds(fromTimestamp text: String) -> Int64? {
        timestamp(text)?.epochSeconds
    }

    /// As ``epochSeconds(fromTimestamp:)``, with the offset from UTC the text carries (0 for `Z`
    /// and for Unix seconds).
    static func timestamp(_ text: String) -> (epochSeconds: Int64, offsetSeconds: Int)? {
        var text = text
        return text.withUTF8 { parse(Array($0)[...]) }
    }

    private static func parse(_ b: ArraySlice<UInt8>) -> (epochSeconds: Int64, offsetSeconds: Int)? {
        var b = b
        guard !b.isEmpty else { return nil }
        if b.allSatisfy({ isDigit($0) })
            || (b.first == UInt8(ascii: "-") && b.count > 1 && b.dropFirst().allSatisfy({ isDigit($0) }))
        {
            // Unix seconds; 15 digits is far beyond year 9999 and keeps the arithmetic in range.
            let negative = b.first == UInt8(ascii: "-")
            if negative { b = b.dropFirst() }
            guard b.count <= 15 else { return nil }
            var value: Int64 = 0
            for d in b { value = value * 10 + Int64(d - 48) }
            return (negative ? -value : value, 0)
        }
        // YYYY-MM-DDTHH:MM:SS[.fff][Z|±HH:MM]
        var i = b.startIndex
        func number(_ width: Int) -> Int64? {
            guard b.endIndex - i >= width else { return nil }
            var v: Int64 = 0
            for _ in 0..<width {
                guard isDigit(b[i]) else { return nil }
                v = v * 10 + Int64(b[i] - 48)
                i += 1
            }
            return v
        }
        func expect(_ chars: String) -> Bool {
            guard i < b.endIndex, chars.utf8.contains(b[i]) else { return false }
            i += 1
            return true
        }
        guard let year = number(4), expect("-"), let month = number(2), expect("-"), let day = number(2),
            expect("Tt "), let hour = number(2), expect(":"), let minute = number(2), expect(":"),
            let second = number(2)
        else { return nil }
        guard (1...12).contains(month), day >= 1, day <= CivilCalendar.daysIn(year: year, month: Int(month)),
            hour <= 23, minute <= 59, second <= 60
        else { return nil }
        if i < b.endIndex, b[i] == UInt8(ascii: ".") {
            i += 1
            let start = i
            while i < b.endIndex, isDigit(b[i]) { i += 1 }
            guard i > start else { return nil }
        }
        var offset: Int64 = 0
        if expect("Zz") {
            offset = 0
        } else if i < b.endIndex, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") {
            let negative = b[i] == UInt8(ascii: "-")
            i += 1
            guard let oh = number(2), expect(":"), let om = number(2), oh <= 23, om <= 59 else { return nil }
            offset = (oh * 60 + om) * 60 * (negative ? -1 : 1)
        } else {
            return nil
        }
        guard i == b.endIndex else { return nil }
        let days = CivilCalendar.days(year: year, month: Int(month), day: Int(day))
        return (days * 86_400 + hour * 3600 + minute * 60 + second - offset, Int(offset))
    }

    private static func isDigit(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }
}
