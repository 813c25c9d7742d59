import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What the cron walk needs of a time zone: the offset from UTC in force at an instant.
/// `TimeZone` has it; `ScheduleTimeZone` is what the daemon and the validator use.
public protocol UTCOffsetSource: Sendable {
    func secondsFromGMT(for date: Date) -> Int
}

extension TimeZone: UTCOffsetSource {}

/// The time zone of an `on.schedule` rule: `UTC`/`GMT`, a fixed offset (`GMT+8`, `UTC-03:30`),
/// or an IANA name read from the system's time zone database, i.e. the TZif files (RFC 8536)
/// under `$TZDIR` or `/usr/share/zoneinfo` (the `tzdata` package) that the C library uses too.
///
/// Why not `TimeZone(identifier:)`: on Linux, named zones need FoundationInternationalization
/// and ICU, about 6 MB of resident memory in a daemon that otherwise has no use for them.
/// Offsets come from the file's transitions, and after the last one from its footer, a POSIX
/// TZ rule such as `EST5EDT,M3.2.0,M11.1.0`; a zone is read once per process.
public struct ScheduleTimeZone: UTCOffsetSource, Sendable, Hashable, CustomStringConvertible {
    public let identifier: String
    /// Instants (seconds since 1970, UTC) at which the offset changes, ascending.
    let transitions: [Int64]
    /// The offset in force from `transitions[i]` on.
    let offsets: [Int32]
    /// The offset before the first transition (the file's first local time type).
    let initialOffset: Int32
    /// The rule after the last transition.
    let rule: PosixTimeZoneRule?

    public var description: String { identifier }

    public static let utc = ScheduleTimeZone(identifier: "UTC", fixedOffset: 0)

    init(identifier: String, fixedOffset: Int32) {
        self.identifier = identifier
        transitions = []
        offsets = []
        initialOffset = fixedOffset
        rule = nil
    }

    init(identifier: String, transitions: [Int64], offsets: [Int32], initialOffset: Int32, rule: PosixTimeZoneRule?) {
        self.identifier = identifier
        self.transitions = transitions
        self.offsets = offsets
        self.initialOffset = initialOffset
        self.rule = rule
    }

    /// The zone named `identifier`, or nil if there is no such zone (or its file is not a valid
    /// TZif file). Names are case-sensitive, as in the database: `Asia/Taipei`, `Etc/GMT-8`.
    public init?(identifier: String) {
        if let fixed = Self.fixed(identifier) {
            self = fixed
            return
        }
        if let cached = Self.cache.withLock({ $0[identifier] }) {
            guard let zone = cached else { return nil }
            self = zone
            return
        }
        let loaded = Self.load(identifier)
        Self.cache.withLock { $0[identifier] = .some(loaded) }
        guard let loaded else { return nil }
        self = loaded
    }

    /// What to say after "unknown time zone `NAME`": the closest known name, or how to name a
    /// zone, or that the database is missing.
    static func unknownIdentifierHint(_ identifier: String) -> String {
        let known = knownIdentifiers()
        return Suggestions.closest(to: identifier, in: known).map { "; did you mean `\($0)`?" }
            ?? (known.count > 2
                ? "; use an IANA name such as `Asia/Taipei` or `UTC`"
                : "; the time zone database is not installed in `\(databaseDirectory)` (install tzdata, or set TZDIR)")
    }

    public func secondsFromGMT(for date: Date) -> Int {
        let t = date.timeIntervalSince1970
        guard t.isFinite else { return Int(initialOffset) }
        return secondsFromGMT(at: Int64(max(-1e15, min(1e15, t)).rounded(.down)))
    }

    /// The offset in force at `instant` (seconds since 1970, UTC).
    public func secondsFromGMT(at instant: Int64) -> Int {
        guard let last = transitions.last else { return rule?.offset(at: instant) ?? Int(initialOffset) }
        if instant >= last, let rule { return rule.offset(at: instant) }
        // The last transition at or before `instant`.
        var low = 0
        var high = transitions.count
        while low < high {
            let mid = (low + high) / 2
            if transitions[mid] <= instant { low = mid + 1 } else { high = mid }
        }
        return low == 0 ? Int(initialOffset) : Int(offsets[low - 1])
    }

    // MARK: - Loading

    private static let cache = Mutex<[String: ScheduleTimeZone?]>([:])

    /// The database directory: `$TZDIR` if set, as for the C library.
    static var databaseDirectory: String {
        if let dir = ProcessInfo.processInfo.environment["TZDIR"], !dir.isEmpty { return dir }
        return "/usr/share/zoneinfo"
    }

    /// `UTC`, `GMT`, and `GMT`/`UTC` followed by `+h`, `-hh`, `+hhmm` or `+hh:mm` (east of UTC is
    /// positive here, unlike the `Etc/GMT-8` files), without reading any file.
    static func fixed(_ identifier: String) -> ScheduleTimeZone? {
        if identifier == "UTC" || identifier == "GMT" {
            return ScheduleTimeZone(identifier: identifier, fixedOffset: 0)
        }
        guard identifier.hasPrefix("GMT") || identifier.hasPrefix("UTC") else { return nil }
        let rest = Array(identifier.utf8.dropFirst(3))
        guard let sign = rest.first, sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") else { return nil }
        var digits = Array(rest.dropFirst())
        if digits.count == 5, digits[2] == UInt8(ascii: ":") { digits.remove(at: 2) }
        guard (1...4).contains(digits.count), digits.count != 3,
            digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") })
        else { return nil }
        let values = digits.map { Int32($0 - UInt8(ascii: "0")) }
        let hours = digits.count <= 2 ? values.reduce(0) { $0 * 10 + $1 } : values[0] * 10 + values[1]
        let minutes = digits.count == 4 ? values[2] * 10 + values[3] : 0
        guard hours <= 18, minutes < 60 else { return nil }
        let offset = (hours * 3600 + minutes * 60) * (sign == UInt8(ascii: "-") ? -1 : 1)
        return ScheduleTimeZone(identifier: identifier, fixedOffset: offset)
    }

    /// Whether `identifier` can name a file of the database: path components that start with an
    /// upper-case letter (so not `posix/…`, `right/…`, `localtime`, `../…`), of letters, digits, `_+-`.
    static func isDatabaseName(_ identifier: String) -> Bool {
        let components = identifier.split(separator: "/", omittingEmptySubsequences: false)
        return !identifier.isEmpty && identifier.utf8.count <= 255
            && components.allSatisfy { component in
                guard let first = component.utf8.first, first >= UInt8(ascii: "A") && first <= UInt8(ascii: "Z") else {
                    return false
                }
                return component.utf8.allSatisfy { c in
                    (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z"))
                        || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z"))
                        || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9"))
                        || c == UInt8(ascii: "_") || c == UInt8(ascii: "+") || c == UInt8(ascii: "-")
                }
            }
    }

    static func load(_ identifier: String, from directory: String = databaseDirectory) -> ScheduleTimeZone? {
        guard isDatabaseName(identifier),
            let data = FileManager.default.contents(atPath: directory + "/" + identifier),
            data.count <= 1 << 20
        else { return nil }
        return TZif.parse(Array(data), identifier: identifier)
    }

    /// Every name `init(identifier:)` accepts from the database (for "did you mean" hints), sorted.
    public static func knownIdentifiers() -> [String] {
        knownIdentifiers(in: databaseDirectory)
    }

    static func knownIdentifiers(in database: String) -> [String] {
        var names: [String] = ["UTC", "GMT"]
        func walk(_ relative: String) {
            let directory = relative.isEmpty ? database : database + "/" + relative
            guard let entries = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
            for entry in entries {
                let name = relative.isEmpty ? entry : relative + "/" + entry
                guard isDatabaseName(name) else { continue }
                if FileStatus.isDirectory(directory + "/" + entry, followingLinks: true) == true {
                    walk(name)
                } else if !names.contains(name) {
                    names.append(name)
                }
            }
        }
        walk("")
        return names.sorted()
    }
}

/// The TZif format (RFC 8536), versions 1 to 4.
enum TZif {
    static func parse(_ bytes: [UInt8], identifier: String) -> ScheduleTimeZone? {
        var reader = Reader(bytes: bytes)
        guard var header = reader.header() else { return nil }
        var timeSize = 4
        if header.version >= 2 {
            // Skip the version 1 block; the 64-bit one after it covers every instant.
            guard reader.skip(header.dataSize(timeSize: 4)), let second = reader.header() else { return nil }
            header = second
            timeSize = 8
        }
        // Files with leap seconds (`right/…`) count time differently; they are not accepted as names anyway.
        guard header.typeCount >= 1, header.leapCount == 0,
            reader.remaining >= header.dataSize(timeSize: timeSize)
        else { return nil }
        var transitions: [Int64] = []
        transitions.reserveCapacity(header.timeCount)
        for _ in 0..<header.timeCount {
            transitions.append(timeSize == 8 ? reader.int64() : Int64(reader.int32()))
        }
        let typeIndices = (0..<header.timeCount).map { _ in Int(reader.byte()) }
        var typeOffsets: [Int32] = []
        for _ in 0..<header.typeCount {
            typeOffsets.append(reader.int32())
            _ = reader.skip(2)  // isdst, abbreviation index
        }
        guard typeIndices.allSatisfy({ $0 < header.typeCount }),
            zip(transitions, transitions.dropFirst()).allSatisfy({ $0 < $1 })
        else { return nil }
        _ = reader.skip(header.charCount + header.isStdCount + header.isUTCount)
        var rule: PosixTimeZoneRule?
        if header.version >= 2 {
            // The footer: "\n" TZ-string "\n"; an empty string means no rule.
            guard reader.byte() == UInt8(ascii: "\n"), let end = reader.rest.firstIndex(of: UInt8(ascii: "\n")) else {
                return nil
            }
            let text = reader.rest[..<end]
            if !text.isEmpty {
                guard let parsed = PosixTimeZoneRule(String(decoding: text, as: UTF8.self)) else { return nil }
                rule = parsed
            }
        }
        return ScheduleTimeZone(
            identifier: identifier, transitions: transitions, offsets: typeIndices.map { typeOffsets[$0] },
            initialOffset: typeOffsets[0], rule: rule)
    }

    struct Header {
        var version: Int
        var isUTCount, isStdCount, leapCount, timeCount, typeCount, charCount: Int

        func dataSize(timeSize: Int) -> Int {
            timeCount * (timeSize + 1) + typeCount * 6 + charCount + leapCount * (timeSize + 4) + isStdCount + isUTCount
        }
    }

    struct Reader {
        let bytes: [UInt8]
        var position = 0

        var remaining: Int { bytes.count - position }
        var rest: ArraySlice<UInt8> { bytes[position...] }

        mutating func skip(_ count: Int) -> Bool {
            guard count >= 0, count <= remaining else { return false }
            position += count
            return true
        }

        mutating func byte() -> UInt8 {
            guard position < bytes.count else { return 0 }
            defer { position += 1 }
            return bytes[position]
        }

        mutating func uint32() -> UInt32 {
            (0..<4).reduce(UInt32(0)) { value, _ in value << 8 | UInt32(byte()) }
        }

        mutating func int32() -> Int32 { Int32(bitPattern: uint32()) }

        mutating func int64() -> Int64 {
            Int64(bitPattern: UInt64(uint32()) << 32 | UInt64(uint32()))
        }

        mutating func header() -> Header? {
            guard remaining >= 44, bytes[position..<position + 4].elementsEqual("TZif".utf8) else { return nil }
            let versionByte = bytes[position + 4]
            _ = skip(20)
            let counts = (0..<6).map { _ in Int(uint32()) }
            // Counts past a megabyte's worth are not a time zone.
            guard counts.allSatisfy({ $0 < 1 << 20 }) else { return nil }
            let version = versionByte == 0 ? 1 : Int(versionByte) - Int(UInt8(ascii: "0"))
            guard version >= 1 else { return nil }
            return Header(
                version: version, isUTCount: counts[0], isStdCount: counts[1], leapCount: counts[2],
                timeCount: counts[3], typeCount: counts[4], charCount: counts[5])
        }
    }
}

/// A POSIX TZ rule as in a TZif footer (RFC 8536 §3.3, with its extensions: hours of a
/// transition time from -167 to 167): `CST6CDT,M3.2.0,M11.1.0`, `<+0330>-3:30`, `AEST-10AEDT,M10.1.0,M4.1.0/3`.
struct PosixTimeZoneRule: Sendable, Hashable {
    /// Standard time's offset, seconds east of UTC.
    var standardOffset: Int32
    var daylightSaving: DaylightSaving?

    struct DaylightSaving: Sendable, Hashable {
        /// Seconds east of UTC.
        var offset: Int32
        /// When daylight saving time starts, in standard local time, and ends, in daylight saving local time.
        var start: Transition
        var end: Transition
    }

    struct Transition: Sendable, Hashable {
        enum Day: Sendable, Hashable {
            /// `Jn`: 1–365, February 29 never counted.
            case julian(Int)
            /// `n`: 0–365, February 29 counted in leap years.
            case zeroBased(Int)
            /// `Mm.w.d`: weekday d (0 = Sunday) of week w (1–5, 5 = the last) of month m.
            case monthWeekDay(month: Int, week: Int, weekday: Int)
        }
        var day: Day
        /// Seconds after local midnight.
        var time: Int32
    }

    init(standardOffset: Int32, daylightSaving: DaylightSaving?) {
        self.standardOffset = standardOffset
        self.daylightSaving = daylightSaving
    }

    init?(_ text: String) {
        var parser = Parser(bytes: Array(text.utf8))
        guard parser.name(), let std = parser.offset(maxHours: 24) else { return nil }
        standardOffset = -std  // POSIX offsets count west of UTC
        if parser.atEnd {
            daylightSaving = nil
            return
        }
        guard parser.name() else { return nil }
        var dstOffset = standardOffset + 3600
        if !parser.peek(UInt8(ascii: ",")), !parser.atEnd {
            guard let d = parser.offset(maxHours: 24) else { return nil }
            dstOffset = -d
        }
        let start: Transition
        let end: Transition
        if parser.atEnd {
            // POSIX leaves the rule to the implementation; tzcode uses the US rule.
            start = Transition(day: .monthWeekDay(month: 3, week: 2, weekday: 0), time: 7200)
            end = Transition(day: .monthWeekDay(month: 11, week: 1, weekday: 0), time: 7200)
        } else {
            guard parser.consume(UInt8(ascii: ",")), let s = parser.transition(),
                parser.consume(UInt8(ascii: ",")), let e = parser.transition(), parser.atEnd
            else { return nil }
            start = s
            end = e
        }
        daylightSaving = DaylightSaving(offset: dstOffset, start: start, end: end)
    }

    /// The offset (seconds east of UTC) in force at `instant`.
    func offset(at instant: Int64) -> Int {
        guard let dst = daylightSaving else { return Int(standardOffset) }
        let year = CivilCalendar.civil(fromDays: CivilCalendar.floorDiv(instant + Int64(standardOffset), 86_400)).year
        let start = Self.instant(of: dst.start, in: year, offset: standardOffset)
        let end = Self.instant(of: dst.end, in: year, offset: dst.offset)
        let inDaylightSaving =
            start < end
            ? (start <= instant && instant < end)  // northern hemisphere: DST inside the year
            : !(end <= instant && instant < start)  // southern: DST across the new year
        return Int(inDaylightSaving ? dst.offset : standardOffset)
    }

    /// The UTC instant of `transition` in `year`, given in local time at `offset`.
    static func instant(of transition: Transition, in year: Int64, offset: Int32) -> Int64 {
        let yearStart = CivilCalendar.days(year: year, month: 1, day: 1)
        let leap = CivilCalendar.isLeap(year)
        let day: Int64
        switch transition.day {
        case .julian(let n):
            day = yearStart + Int64(n - 1) + (leap && n >= 60 ? 1 : 0)
        case .zeroBased(let n):
            day = yearStart + Int64(n)
        case .monthWeekDay(let month, let week, let weekday):
            let first = CivilCalendar.days(year: year, month: month, day: 1)
            var dayOfMonth = (weekday - CivilCalendar.weekday(fromDays: first) + 7) % 7 + (week - 1) * 7
            let length = CivilCalendar.daysIn(year: year, month: month)
            while dayOfMonth >= length { dayOfMonth -= 7 }
            day = first + Int64(dayOfMonth)
        }
        return day * 86_400 + Int64(transition.time) - Int64(offset)
    }

    struct Parser {
        let bytes: [UInt8]
        var position = 0

        var atEnd: Bool { position == bytes.count }

        func peek(_ c: UInt8) -> Bool { position < bytes.count && bytes[position] == c }

        mutating func consume(_ c: UInt8) -> Bool {
            guard peek(c) else { return false }
            position += 1
            return true
        }

        /// `<…>` (letters, digits, `+`, `-`) or three or more letters.
        mutating func name() -> Bool {
            let start = position
            if consume(UInt8(ascii: "<")) {
                while position < bytes.count, bytes[position] != UInt8(ascii: ">") { position += 1 }
                guard consume(UInt8(ascii: ">")) else { return false }
                return position - start >= 3
            }
            while position < bytes.count, Self.isLetter(bytes[position]) { position += 1 }
            return position - start >= 3
        }

        /// `[+-]hh[:mm[:ss]]` in seconds, as written (positive west of UTC for offsets).
        mutating func offset(maxHours: Int32) -> Int32? {
            var sign: Int32 = 1
            if consume(UInt8(ascii: "-")) { sign = -1 } else { _ = consume(UInt8(ascii: "+")) }
            guard let hours = number(maxDigits: 3), hours <= maxHours else { return nil }
            var seconds = hours * 3600
            if consume(UInt8(ascii: ":")) {
                guard let minutes = number(maxDigits: 2), minutes < 60 else { return nil }
                seconds += minutes * 60
                if consume(UInt8(ascii: ":")) {
                    guard let s = number(maxDigits: 2), s < 60 else { return nil }
                    seconds += s
                }
            }
            return sign * seconds
        }

        /// `Jn`, `n` or `Mm.w.d`, then an optional `/time` (default 02:00).
        mutating func transition() -> Transition? {
            let day: Transition.Day
            if consume(UInt8(ascii: "J")) {
                guard let n = number(maxDigits: 3), (1...365).contains(n) else { return nil }
                day = .julian(Int(n))
            } else if consume(UInt8(ascii: "M")) {
                guard let m = number(maxDigits: 2), (1...12).contains(m), consume(UInt8(ascii: ".")),
                    let w = number(maxDigits: 1), (1...5).contains(w), consume(UInt8(ascii: ".")),
                    let d = number(maxDigits: 1), d <= 6
                else { return nil }
                day = .monthWeekDay(month: Int(m), week: Int(w), weekday: Int(d))
            } else {
                guard let n = number(maxDigits: 3), n <= 365 else { return nil }
                day = .zeroBased(Int(n))
            }
            var time: Int32 = 7200
            if consume(UInt8(ascii: "/")) {
                guard let t = offset(maxHours: 167) else { return nil }
                time = t
            }
            return Transition(day: day, time: time)
        }

        mutating func number(maxDigits: Int) -> Int32? {
            var value: Int32 = 0
            var count = 0
            while position < bytes.count, count < maxDigits, bytes[position] >= UInt8(ascii: "0"),
                bytes[position] <= UInt8(ascii: "9")
            {
                value = value * 10 + Int32(bytes[position] - UInt8(ascii: "0"))
                position += 1
                count += 1
            }
            return count == 0 ? nil : value
        }

        static func isLetter(_ c: UInt8) -> Bool {
            (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z"))
        }
    }
}
