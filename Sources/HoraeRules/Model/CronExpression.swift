#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A parsed cron expression, as written in `on.schedule: { cron: "0 * * * *" }`.
///
/// Each field is kept as a bitset of the values it allows, so matching a wall-clock time
/// is a handful of bit tests. The next-tick computation lives in `CronExpression+Next.swift`.
public struct CronExpression: Sendable, Hashable, CustomStringConvertible {
    public let source: String

    /// Allowed seconds, bits 0–59 (only bit 0 for five-field expressions).
    let seconds: UInt64
    /// Allowed minutes, bits 0–59.
    let minutes: UInt64
    /// Allowed hours, bits 0–23.
    let hours: UInt64
    /// Allowed days of the month, bits 1–31.
    let daysOfMonth: UInt64
    /// Allowed months, bits 1–12.
    let months: UInt64
    /// Allowed days of the week, bits 0–6 (0 is Sunday; a written 7 is stored as 0).
    let daysOfWeek: UInt64
    /// The day-of-month field starts with `*` (so it does not restrict days for the OR rule).
    let dayOfMonthIsWildcard: Bool
    /// The day-of-week field starts with `*` (so it does not restrict days for the OR rule).
    let dayOfWeekIsWildcard: Bool

    public var description: String { source }

    /// Five fields (minute hour day-of-month month day-of-week) or six with seconds first.
    /// Fields: `*`, numbers, ranges `a-b`, steps `*/n` and `a-b/n` and `a/n`, lists `a,b-c`,
    /// month names JAN–DEC, weekday names SUN–SAT (case-insensitive), day-of-week 0–7 (0 and 7 are Sunday).
    /// Also the macros @yearly @annually @monthly @weekly @daily @midnight @hourly.
    /// Standard cron semantics: when both day-of-month and day-of-week are restricted (neither
    /// starts with `*`), a day matches if EITHER matches; otherwise both must match.
    public static func parse(_ text: String) throws(CronSyntaxError) -> CronExpression {
        let chars = Array(text)
        let tokens = Self.splitFields(chars)
        guard let first = tokens.first else {
            throw CronSyntaxError(
                message:
                    "the cron expression is empty; write 5 fields (minute hour day month weekday), as in `0 * * * *`, or a macro such as @hourly",
                offset: 0)
        }
        if chars[first.lowerBound] == "@" {
            let name = String(chars[first]).lowercased()
            guard let expansion = Self.macros[name] else {
                if name == "@reboot" {
                    throw CronSyntaxError(
                        message:
                            "@reboot is not supported; a schedule needs a repeating time, such as @daily or `0 * * * *`",
                        offset: first.lowerBound)
                }
                throw CronSyntaxError(
                    message:
                        "unknown macro `\(String(chars[first]))`; use @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly",
                    offset: first.lowerBound)
            }
            if tokens.count > 1 {
                throw CronSyntaxError(
                    message: "`\(String(chars[first]))` stands alone; remove the fields after it",
                    offset: tokens[1].lowerBound)
            }
            let expanded = Array(expansion)
            return try Self.build(source: text, chars: expanded, tokens: Self.splitFields(expanded))
        }
        return try Self.build(source: text, chars: chars, tokens: tokens)
    }

    // MARK: - Parsing

    static let macros: [String: String] = [
        "@yearly": "0 0 1 1 *",
        "@annually": "0 0 1 1 *",
        "@monthly": "0 0 1 * *",
        "@weekly": "0 0 * * 0",
        "@daily": "0 0 * * *",
        "@midnight": "0 0 * * *",
        "@hourly": "0 * * * *",
    ]

    /// What one field accepts.
    struct FieldSpec {
        var name: String
        var min: Int
        var max: Int
        /// The upper end of `*` and of `a/n` (6 for day of week, where 7 is only an alias of Sunday).
        var implicitMax: Int
        /// Names for values `min`, `min+1`, … (uppercase), if the field has names.
        var names: [String] = []
        var namesHint: String = ""
        var nameKind: String = ""

        static let second = FieldSpec(name: "second", min: 0, max: 59, implicitMax: 59)
        static let minute = FieldSpec(name: "minute", min: 0, max: 59, implicitMax: 59)
        static let hour = FieldSpec(name: "hour", min: 0, max: 23, implicitMax: 23)
        static let dayOfMonth = FieldSpec(name: "day of month", min: 1, max: 31, implicitMax: 31)
        static let month = FieldSpec(
            name: "month", min: 1, max: 12, implicitMax: 12,
            names: ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"],
            namesHint: "JAN–DEC", nameKind: "month")
        static let dayOfWeek = FieldSpec(
            name: "day of week", min: 0, max: 7, implicitMax: 6,
            names: ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"],
            namesHint: "SUN–SAT", nameKind: "weekday")

        var rangeText: String { "\(min)–\(max)" }
        var useText: String {
            names.isEmpty ? "use \(rangeText)" : "use \(rangeText) or \(namesHint)"
        }
    }

    /// Whitespace-separated fields, as character-index ranges into `chars`.
    static func splitFields(_ chars: [Character]) -> [Range<Int>] {
        var result: [Range<Int>] = []
        var i = 0
        while i < chars.count {
            if chars[i].isWhitespace {
                i += 1
                continue
            }
            let start = i
            while i < chars.count, !chars[i].isWhitespace { i += 1 }
            result.append(start..<i)
        }
        return result
    }

    static func build(source: String, chars: [Character], tokens: [Range<Int>]) throws(CronSyntaxError)
        -> CronExpression
    {
        guard tokens.count == 5 || tokens.count == 6 else {
            throw CronSyntaxError(
                message:
                    "a cron expression has 5 fields (minute hour day month weekday) or 6 with seconds first; found \(tokens.count)",
                offset: tokens.count > 6 ? tokens[6].lowerBound : 0)
        }
        let hasSeconds = tokens.count == 6
        let base = hasSeconds ? 1 : 0
        let seconds = hasSeconds ? try parseField(chars, tokens[0], .second).bits : 1
        let minutes = try parseField(chars, tokens[base], .minute)
        let hours = try parseField(chars, tokens[base + 1], .hour)
        let dom = try parseField(chars, tokens[base + 2], .dayOfMonth)
        let months = try parseField(chars, tokens[base + 3], .month)
        let dow = try parseField(chars, tokens[base + 4], .dayOfWeek)
        return CronExpression(
            source: source, seconds: seconds, minutes: minutes.bits, hours: hours.bits,
            daysOfMonth: dom.bits, months: months.bits, daysOfWeek: dow.bits,
            dayOfMonthIsWildcard: dom.wildcard, dayOfWeekIsWildcard: dow.wildcard)
    }

    /// One field: a comma-separated list of items `*`, `a`, `a-b`, each optionally followed by `/step`.
    static func parseField(_ chars: [Character], _ field: Range<Int>, _ spec: FieldSpec) throws(CronSyntaxError) -> (
        bits: UInt64, wildcard: Bool
    ) {
        var bits: UInt64 = 0
        var itemStart = field.lowerBound
        while true {
            var itemEnd = itemStart
            while itemEnd < field.upperBound, chars[itemEnd] != "," { itemEnd += 1 }
            if itemStart == itemEnd {
                throw CronSyntaxError(
                    message:
                        "empty item in the \(spec.name) list; write values separated by commas without spaces, as in 0,15,30",
                    offset: itemStart)
            }
            bits |= try parseItem(chars, itemStart..<itemEnd, spec)
            if itemEnd == field.upperBound { break }
            itemStart = itemEnd + 1
        }
        return (bits, chars[field.lowerBound] == "*")
    }

    static func parseItem(_ chars: [Character], _ item: Range<Int>, _ spec: FieldSpec) throws(CronSyntaxError) -> UInt64
    {
        var i = item.lowerBound
        let end = item.upperBound
        var low: Int
        var high: Int
        var isRange = false
        if chars[i] == "*" {
            low = spec.min
            high = spec.implicitMax
            isRange = true
            i += 1
        } else {
            let first = try parseValue(chars, &i, end, spec)
            low = first.value
            high = low
            if i < end, chars[i] == "-" {
                i += 1
                if i == end || chars[i] == "/" {
                    throw CronSyntaxError(
                        message: "range `\(String(chars[item.lowerBound..<i]))` has no end; write both ends, as in 1-5",
                        offset: item.lowerBound)
                }
                let second = try parseValue(chars, &i, end, spec)
                high = second.value
                isRange = true
                // `FRI-SUN` means Friday through Sunday: read a closing Sunday as 7.
                if spec.max == 7, high == 0, low > 0 { high = 7 }
                if low > high {
                    throw CronSyntaxError(
                        message:
                            "range `\(first.text)-\(second.text)` goes backwards; write the lower end first, as in `\(second.text)-\(first.text)`",
                        offset: item.lowerBound)
                }
            }
        }
        var step = 1
        if i < end, chars[i] == "/" {
            i += 1
            let stepStart = i
            while i < end, chars[i].isLetter || chars[i].isNumber { i += 1 }
            let digits = chars[stepStart..<i]
            guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else {
                throw CronSyntaxError(message: "step must be a positive number, as in */5", offset: stepStart)
            }
            let value = saturatingNumber(digits)
            if value == 0 {
                throw CronSyntaxError(message: "step must be a positive number, as in */5", offset: stepStart)
            }
            let largest = spec.implicitMax - spec.min
            if value > largest {
                throw CronSyntaxError(
                    message: "step \(String(digits)) is too large for \(spec.name); use 1–\(largest)",
                    offset: stepStart)
            }
            step = value
            if !isRange { high = max(spec.implicitMax, low) }
        }
        if i < end {
            throw unexpected(chars[i], at: i, spec)
        }
        var bits: UInt64 = 0
        for value in stride(from: low, through: high, by: step) {
            let stored = (spec.max == 7 && value == 7) ? 0 : value
            bits |= 1 << UInt64(stored)
        }
        return bits
    }

    /// A number or (in month and day-of-week fields) a name, starting at `i`.
    static func parseValue(_ chars: [Character], _ i: inout Int, _ end: Int, _ spec: FieldSpec) throws(CronSyntaxError)
        -> (value: Int, text: String)
    {
        let start = i
        while i < end, chars[i].isLetter || chars[i].isNumber { i += 1 }
        if start == i {
            throw unexpected(chars[start], at: start, spec)
        }
        let token = chars[start..<i]
        let text = String(token)
        if token.allSatisfy({ $0.isASCII && $0.isNumber }) {
            let value = saturatingNumber(token)
            guard value >= spec.min, value <= spec.max else {
                throw CronSyntaxError(message: "\(spec.name) \(text) is out of range \(spec.rangeText)", offset: start)
            }
            return (value, text)
        }
        if !spec.names.isEmpty, token.first!.isLetter {
            if let index = spec.names.firstIndex(of: text.uppercased()) {
                return (spec.min + index, text)
            }
            throw CronSyntaxError(
                message: "unknown \(spec.nameKind) name `\(text)`; use \(spec.namesHint) or \(spec.rangeText)",
                offset: start)
        }
        throw CronSyntaxError(message: "\(spec.name) `\(text)` is not a number; \(spec.useText)", offset: start)
    }

    static func unexpected(_ c: Character, at offset: Int, _ spec: FieldSpec) -> CronSyntaxError {
        CronSyntaxError(
            message:
                "unexpected `\(c)` in the \(spec.name) field; write numbers (\(spec.rangeText)), `*`, ranges such as 1-5, steps such as */5 and lists such as 1,15",
            offset: offset)
    }

    /// Decimal digits to an Int, capped well above every field's range (so huge numbers are
    /// reported as out of range instead of overflowing).
    static func saturatingNumber(_ digits: ArraySlice<Character>) -> Int {
        var value = 0
        for c in digits {
            value = min(value * 10 + (c.wholeNumberValue ?? 0), 1_000_000)
        }
        return value
    }
}

/// Why a cron expression could not be parsed, with the character offset of the offending part.
public struct CronSyntaxError: Error, Sendable, Hashable {
    /// What is wrong and what to write instead.
    public var message: String
    /// 0-based character offset of the offending field or part in the text.
    public var offset: Int

    public init(message: String, offset: Int) {
        self.message = message
        self.offset = offset
    }
}
