import Foundation
import Testing

@testable import HoraeRules

struct CronExpressionTests {
    static let utc = TimeZone(identifier: "UTC")!
    static let taipei = TimeZone(identifier: "Asia/Taipei")!
    static let newYork = TimeZone(identifier: "America/New_York")!
    static let utcCalendar: Calendar = {
        var c = Calendar(identifier: .gregorian)
        c.timeZone = TimeZone(identifier: "UTC")!
        return c
    }()

    /// An instant from ISO 8601 text with an explicit offset, e.g. `2026-03-08T01:59:00-05:00`.
    static func at(_ text: String) -> Date {
        try! Date(text, strategy: .iso8601)
    }

    static func values(_ bits: UInt64) -> [Int] {
        (0..<64).filter { bits & (1 << UInt64($0)) != 0 }
    }

    static func cron(_ text: String) throws -> CronExpression {
        do {
            return try CronExpression.parse(text)
        } catch {
            Issue.record("`\(text)` failed to parse: \(error.message) at \(error.offset)")
            throw error
        }
    }

    // MARK: - Parse errors

    static let errorCases: [(String, String, Int)] = [
        (
            "",
            "the cron expression is empty; write 5 fields (minute hour day month weekday), as in `0 * * * *`, or a macro such as @hourly",
            0
        ),
        (
            "   ",
            "the cron expression is empty; write 5 fields (minute hour day month weekday), as in `0 * * * *`, or a macro such as @hourly",
            0
        ),
        (
            "* * * *",
            "a cron expression has 5 fields (minute hour day month weekday) or 6 with seconds first; found 4", 0
        ),
        (
            "* * * * * * *",
            "a cron expression has 5 fields (minute hour day month weekday) or 6 with seconds first; found 7", 12
        ),
        ("60 * * * *", "minute 60 is out of range 0–59", 0),
        ("  70 * * * *", "minute 70 is out of range 0–59", 2),
        ("99999999999 * * * *", "minute 99999999999 is out of range 0–59", 0),
        ("0 24 * * *", "hour 24 is out of range 0–23", 2),
        ("0 0 0 * *", "day of month 0 is out of range 1–31", 4),
        ("0 0 32 * *", "day of month 32 is out of range 1–31", 4),
        ("0 0 1 13 *", "month 13 is out of range 1–12", 6),
        ("0 0 * * 8", "day of week 8 is out of range 0–7", 8),
        ("0 0 * * 1-9", "day of week 9 is out of range 0–7", 10),
        ("60 0 * * * *", "second 60 is out of range 0–59", 0),
        ("0 0 1 JANU *", "unknown month name `JANU`; use JAN–DEC or 1–12", 6),
        ("0 0 * JAN-MAR,foo *", "unknown month name `foo`; use JAN–DEC or 1–12", 14),
        ("0 0 * * MONDAY", "unknown weekday name `MONDAY`; use SUN–SAT or 0–7", 8),
        ("0 0 * * JAN", "unknown weekday name `JAN`; use SUN–SAT or 0–7", 8),
        ("0 0 1 5a *", "month `5a` is not a number; use 1–12 or JAN–DEC", 6),
        ("abc * * * *", "minute `abc` is not a number; use 0–59", 0),
        ("0 0 L * *", "day of month `L` is not a number; use 1–31", 4),
        ("*/0 * * * *", "step must be a positive number, as in */5", 2),
        ("*/ * * * *", "step must be a positive number, as in */5", 2),
        ("5/x * * * *", "step must be a positive number, as in */5", 2),
        ("0 1-10/-2 * * *", "step must be a positive number, as in */5", 7),
        ("*/60 * * * *", "step 60 is too large for minute; use 1–59", 2),
        ("0 */24 * * *", "step 24 is too large for hour; use 1–23", 4),
        ("5-2 * * * *", "range `5-2` goes backwards; write the lower end first, as in `2-5`", 0),
        ("0 0 * * FRI-MON", "range `FRI-MON` goes backwards; write the lower end first, as in `MON-FRI`", 8),
        ("0 0 * 1,DEC-JUN *", "range `DEC-JUN` goes backwards; write the lower end first, as in `JUN-DEC`", 8),
        ("5- * * * *", "range `5-` has no end; write both ends, as in 1-5", 0),
        ("1,5-/2 * * * *", "range `5-` has no end; write both ends, as in 1-5", 2),
        (
            "1,,2 * * * *",
            "empty item in the minute list; write values separated by commas without spaces, as in 0,15,30", 2
        ),
        (
            "1, 2 * * * *",
            "empty item in the second list; write values separated by commas without spaces, as in 0,15,30", 2
        ),
        (
            ",1 * * * *",
            "empty item in the minute list; write values separated by commas without spaces, as in 0,15,30", 0
        ),
        (
            "*-5 * * * *",
            "unexpected `-` in the minute field; write numbers (0–59), `*`, ranges such as 1-5, steps such as */5 and lists such as 1,15",
            1
        ),
        (
            "0 0 * * 1#2",
            "unexpected `#` in the day of week field; write numbers (0–7), `*`, ranges such as 1-5, steps such as */5 and lists such as 1,15",
            9
        ),
        (
            "0 0 ? * 1",
            "unexpected `?` in the day of month field; write numbers (1–31), `*`, ranges such as 1-5, steps such as */5 and lists such as 1,15",
            4
        ),
        (
            "*/5/2 * * * *",
            "unexpected `/` in the minute field; write numbers (0–59), `*`, ranges such as 1-5, steps such as */5 and lists such as 1,15",
            3
        ),
        (
            "-5 * * * *",
            "unexpected `-` in the minute field; write numbers (0–59), `*`, ranges such as 1-5, steps such as */5 and lists such as 1,15",
            0
        ),
        ("@reboot", "@reboot is not supported; a schedule needs a repeating time, such as @daily or `0 * * * *`", 0),
        (
            "@fortnightly",
            "unknown macro `@fortnightly`; use @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly", 0
        ),
        ("@daily 5", "`@daily` stands alone; remove the fields after it", 7),
    ]

    @Test(arguments: errorCases)
    func parseErrors(text: String, message: String, offset: Int) {
        #expect(throws: CronSyntaxError(message: message, offset: offset)) {
            try CronExpression.parse(text)
        }
    }

    @Test func errorOffsetsCountCharactersNotBytes() {
        // `é` is one character (two UTF-8 bytes); the offset counts characters.
        #expect(throws: CronSyntaxError(message: "minute `é` is not a number; use 0–59", offset: 0)) {
            try CronExpression.parse("é * * * *")
        }
        #expect(throws: CronSyntaxError(message: "hour 25 is out of range 0–23", offset: 3)) {
            try CronExpression.parse("0\u{3000}\u{3000}25 * * *")
        }
    }

    // MARK: - Field forms

    @Test func everyFieldForm() throws {
        let c = try Self.cron("* 5 1-3 */4 2-6/3")
        #expect(Self.values(c.seconds) == [0])
        #expect(c.minutes == (1 << 60) - 1)
        #expect(Self.values(c.hours) == [5])
        #expect(Self.values(c.daysOfMonth) == [1, 2, 3])
        #expect(Self.values(c.months) == [1, 5, 9])
        #expect(Self.values(c.daysOfWeek) == [2, 5])
        #expect(c.dayOfMonthIsWildcard == false && c.dayOfWeekIsWildcard == false)
        let single = try Self.cron("7 8 9 10 3")
        #expect(Self.values(single.minutes) == [7] && Self.values(single.hours) == [8])
        #expect(
            Self.values(single.daysOfMonth) == [9] && Self.values(single.months) == [10]
                && Self.values(single.daysOfWeek) == [3])
        let from = try Self.cron("10/20 3/8 25/3 11/1 4/1")
        #expect(Self.values(from.minutes) == [10, 30, 50])
        #expect(Self.values(from.hours) == [3, 11, 19])
        #expect(Self.values(from.daysOfMonth) == [25, 28, 31])
        #expect(Self.values(from.months) == [11, 12])
        #expect(Self.values(from.daysOfWeek) == [4, 5, 6])
    }

    @Test func listsRangesAndSteps() throws {
        let c = try Self.cron("0,15,30-33,50-59/5 */6 5/10 1-12/4 1-5")
        #expect(Self.values(c.minutes) == [0, 15, 30, 31, 32, 33, 50, 55])
        #expect(Self.values(c.hours) == [0, 6, 12, 18])
        #expect(Self.values(c.daysOfMonth) == [5, 15, 25])
        #expect(Self.values(c.months) == [1, 5, 9])
        #expect(Self.values(c.daysOfWeek) == [1, 2, 3, 4, 5])
        #expect(!c.dayOfMonthIsWildcard && !c.dayOfWeekIsWildcard)

        let d = try Self.cron("*/7 * */10 * */2")
        #expect(Self.values(d.minutes) == [0, 7, 14, 21, 28, 35, 42, 49, 56])
        #expect(d.hours == (1 << 24) - 1)
        #expect(Self.values(d.daysOfMonth) == [1, 11, 21, 31])
        #expect(Self.values(d.months) == Array(1...12))
        #expect(Self.values(d.daysOfWeek) == [0, 2, 4, 6])
        #expect(d.dayOfMonthIsWildcard && d.dayOfWeekIsWildcard)
    }

    @Test func namesAreCaseInsensitive() throws {
        let c = try Self.cron("0 0 * jan,Mar-may,OCT-DEC/2 mon-Fri,sun")
        #expect(Self.values(c.months) == [1, 3, 4, 5, 10, 12])
        #expect(Self.values(c.daysOfWeek) == [0, 1, 2, 3, 4, 5])
        let d = try Self.cron("0 0 * * SAT,sat,Sat")
        #expect(Self.values(d.daysOfWeek) == [6])
    }

    @Test func sundayIsZeroOrSeven() throws {
        #expect(try Self.cron("0 0 * * 7").daysOfWeek == Self.cron("0 0 * * 0").daysOfWeek)
        #expect(try Self.cron("0 0 * * SUN").daysOfWeek == 1)
        #expect(Self.values(try Self.cron("0 0 * * 5-7").daysOfWeek) == [0, 5, 6])
        #expect(Self.values(try Self.cron("0 0 * * FRI-SUN").daysOfWeek) == [0, 5, 6])
        #expect(Self.values(try Self.cron("0 0 * * 0-7").daysOfWeek) == Array(0...6))
        #expect(Self.values(try Self.cron("0 0 * * 1/2").daysOfWeek) == [1, 3, 5])
    }

    @Test func sixFieldsStartWithSeconds() throws {
        let c = try Self.cron("*/20 30 9 * * MON")
        #expect(Self.values(c.seconds) == [0, 20, 40])
        #expect(Self.values(c.minutes) == [30])
        #expect(Self.values(c.hours) == [9])
        #expect(Self.values(c.daysOfWeek) == [1])
        // 2026-01-05 is a Monday.
        let ticks = c.ticks(
            after: Self.at("2026-01-01T00:00:00Z"), through: Self.at("2026-01-13T00:00:00Z"), in: Self.utc, limit: 10)
        #expect(
            ticks == [
                Self.at("2026-01-05T09:30:00Z"), Self.at("2026-01-05T09:30:20Z"), Self.at("2026-01-05T09:30:40Z"),
                Self.at("2026-01-12T09:30:00Z"), Self.at("2026-01-12T09:30:20Z"), Self.at("2026-01-12T09:30:40Z"),
            ])
    }

    @Test func fieldsMaySeparateWithAnyWhitespace() throws {
        let c = try Self.cron("\t0  */2\t* * *  ")
        #expect(c == (try Self.cron("\t0  */2\t* * *  ")))
        #expect(Self.values(c.hours) == Array(stride(from: 0, through: 22, by: 2)))
        #expect(c.description == "\t0  */2\t* * *  ")
    }

    @Test(arguments: [
        ("@yearly", "0 0 1 1 *"), ("@annually", "0 0 1 1 *"), ("@monthly", "0 0 1 * *"),
        ("@weekly", "0 0 * * 0"), ("@daily", "0 0 * * *"), ("@midnight", "0 0 * * *"),
        ("@hourly", "0 * * * *"), ("@HOURLY", "0 * * * *"), ("  @daily ", "0 0 * * *"),
    ])
    func macros(macro: String, fields: String) throws {
        let m = try Self.cron(macro)
        let f = try Self.cron(fields)
        #expect(m.source == macro)
        #expect(m.description == macro)
        #expect(m.seconds == f.seconds && m.minutes == f.minutes && m.hours == f.hours)
        #expect(m.daysOfMonth == f.daysOfMonth && m.months == f.months && m.daysOfWeek == f.daysOfWeek)
        #expect(m.dayOfMonthIsWildcard == f.dayOfMonthIsWildcard && m.dayOfWeekIsWildcard == f.dayOfWeekIsWildcard)
    }

    // MARK: - Day-of-month / day-of-week rule

    @Test func restrictedDayOfMonthAndWeekdayMatchEither() throws {
        // The 13th, or any Friday.
        let c = try Self.cron("0 0 13 * FRI")
        let ticks = c.ticks(
            after: Self.at("2026-02-01T00:00:00Z"), through: Self.at("2026-03-01T00:00:00Z"), in: Self.utc, limit: 100)
        #expect(
            ticks == [
                Self.at("2026-02-06T00:00:00Z"), Self.at("2026-02-13T00:00:00Z"),  // Feb 13 2026 is a Friday too
                Self.at("2026-02-20T00:00:00Z"), Self.at("2026-02-27T00:00:00Z"),
            ])
        let m = try Self.cron("0 0 1 * MON")
        let march = m.ticks(
            after: Self.at("2026-03-01T00:00:00Z"), through: Self.at("2026-03-31T23:59:59Z"), in: Self.utc, limit: 100)
        #expect(march.map { Self.utcCalendar.component(.day, from: $0) } == [2, 9, 16, 23, 30])
        #expect(m.nextTick(after: Self.at("2026-03-30T00:00:00Z"), in: Self.utc) == Self.at("2026-04-01T00:00:00Z"))
    }

    @Test func wildcardDayFieldMeansBothMustMatch() throws {
        // Day of month starts with `*`, so it and the weekday must both match: odd days that are Mondays.
        let c = try Self.cron("0 0 */2 * MON")
        let ticks = c.ticks(
            after: Self.at("2026-03-01T00:00:00Z"), through: Self.at("2026-04-01T00:00:00Z"), in: Self.utc, limit: 100)
        #expect(ticks.map { Self.utcCalendar.component(.day, from: $0) } == [9, 23])
        // Only the weekday restricted.
        let w = try Self.cron("0 0 * * MON")
        #expect(
            w.ticks(
                after: Self.at("2026-03-01T00:00:00Z"), through: Self.at("2026-04-01T00:00:00Z"), in: Self.utc,
                limit: 100
            ).count == 5)
    }

    // MARK: - nextTick

    @Test func hourly() throws {
        let c = try Self.cron("0 * * * *")
        #expect(c.nextTick(after: Self.at("2026-05-10T10:00:00Z"), in: Self.utc) == Self.at("2026-05-10T11:00:00Z"))
        #expect(c.nextTick(after: Self.at("2026-05-10T10:59:59.999Z"), in: Self.utc) == Self.at("2026-05-10T11:00:00Z"))
        #expect(c.nextTick(after: Self.at("2026-12-31T23:30:00Z"), in: Self.utc) == Self.at("2027-01-01T00:00:00Z"))
        // Strictly after: a tick instant itself is not returned, but a fraction before it is.
        #expect(
            c.nextTick(after: Self.at("2026-05-10T10:59:59Z").addingTimeInterval(0.5), in: Self.utc)
                == Self.at("2026-05-10T11:00:00Z"))
    }

    @Test func everyFifteenMinutes() throws {
        let c = try Self.cron("*/15 * * * *")
        #expect(c.nextTick(after: Self.at("2026-05-10T10:07:00Z"), in: Self.utc) == Self.at("2026-05-10T10:15:00Z"))
        #expect(c.nextTick(after: Self.at("2026-05-10T10:15:00Z"), in: Self.utc) == Self.at("2026-05-10T10:30:00Z"))
        #expect(c.nextTick(after: Self.at("2026-05-10T23:50:00Z"), in: Self.utc) == Self.at("2026-05-11T00:00:00Z"))
        let day = c.ticks(
            after: Self.at("2026-05-10T00:00:00Z"), through: Self.at("2026-05-11T00:00:00Z"), in: Self.utc, limit: 1000)
        #expect(day.count == 96)
        #expect(day.first == Self.at("2026-05-10T00:15:00Z"))
        #expect(day.last == Self.at("2026-05-11T00:00:00Z"))
    }

    @Test func monthEnd() throws {
        let c = try Self.cron("0 0 31 * *")
        let ticks = c.ticks(
            after: Self.at("2026-01-01T00:00:00Z"), through: Self.at("2027-01-01T00:00:00Z"), in: Self.utc, limit: 100)
        #expect(ticks.map { Self.utcCalendar.component(.month, from: $0) } == [1, 3, 5, 7, 8, 10, 12])
        #expect(c.nextTick(after: Self.at("2026-01-31T00:00:00Z"), in: Self.utc) == Self.at("2026-03-31T00:00:00Z"))
    }

    @Test func leapDay() throws {
        let c = try Self.cron("0 0 29 2 *")
        #expect(c.nextTick(after: Self.at("2025-03-01T00:00:00Z"), in: Self.utc) == Self.at("2028-02-29T00:00:00Z"))
        #expect(c.nextTick(after: Self.at("2028-02-29T00:00:00Z"), in: Self.utc) == Self.at("2032-02-29T00:00:00Z"))
        // 2100 is not a leap year; 2104 is more than five years after 2096's leap day.
        #expect(c.nextTick(after: Self.at("2096-03-01T00:00:00Z"), in: Self.utc) == nil)
        #expect(c.nextTick(after: Self.at("2099-03-01T00:00:00Z"), in: Self.utc) == Self.at("2104-02-29T00:00:00Z"))
    }

    @Test func impossibleDatesHaveNoTick() throws {
        for text in ["0 0 30 2 *", "0 0 31 4 *", "0 0 31 APR,JUN,SEP,NOV *", "0 0 30,31 2 *"] {
            #expect(try Self.cron(text).nextTick(after: Self.at("2026-01-01T00:00:00Z"), in: Self.utc) == nil)
            #expect(
                try Self.cron(text).ticks(
                    after: Self.at("2026-01-01T00:00:00Z"), through: Self.at("2040-01-01T00:00:00Z"), in: Self.utc,
                    limit: 5) == [])
        }
        // But with a weekday the OR rule makes it possible.
        #expect(
            try Self.cron("0 0 30 2 MON").nextTick(after: Self.at("2026-01-01T00:00:00Z"), in: Self.utc)
                == Self.at("2026-02-02T00:00:00Z"))
    }

    @Test func wallClockFieldsFollowTheTimeZone() throws {
        let c = try Self.cron("0 9 * * *")
        let after = Self.at("2026-06-01T00:00:00Z")
        #expect(c.nextTick(after: after, in: Self.taipei) == Self.at("2026-06-01T09:00:00+08:00"))
        #expect(c.nextTick(after: after, in: Self.taipei) == Self.at("2026-06-01T01:00:00Z"))
        #expect(c.nextTick(after: after, in: Self.utc) == Self.at("2026-06-01T09:00:00Z"))
        // Midnight on the 1st in Taipei is still the previous month in UTC.
        let monthly = try Self.cron("@monthly")
        #expect(
            monthly.nextTick(after: Self.at("2026-06-15T00:00:00Z"), in: Self.taipei) == Self.at("2026-06-30T16:00:00Z")
        )
        // Weekday in Taipei: Monday 00:30 in Taipei is Sunday 16:30 UTC.
        let monday = try Self.cron("30 0 * * MON")
        #expect(
            monday.nextTick(after: Self.at("2026-01-01T00:00:00Z"), in: Self.taipei) == Self.at("2026-01-04T16:30:00Z"))
        #expect(
            monday.nextTick(after: Self.at("2026-01-01T00:00:00Z"), in: Self.utc) == Self.at("2026-01-05T00:30:00Z"))
    }

    @Test func springForwardSkipsMissingWallTimes() throws {
        // 2026-03-08 in New York: 02:00 EST jumps to 03:00 EDT; 02:30 does not exist that day.
        let c = try Self.cron("30 2 * * *")
        #expect(
            c.nextTick(after: Self.at("2026-03-07T12:00:00-05:00"), in: Self.newYork)
                == Self.at("2026-03-09T02:30:00-04:00"))
        let hourly = try Self.cron("0 * * * *")
        let ticks = hourly.ticks(
            after: Self.at("2026-03-08T00:30:00-05:00"), through: Self.at("2026-03-08T04:30:00-04:00"),
            in: Self.newYork, limit: 10)
        #expect(
            ticks == [
                Self.at("2026-03-08T01:00:00-05:00"), Self.at("2026-03-08T03:00:00-04:00"),
                Self.at("2026-03-08T04:00:00-04:00"),
            ])
        // Every minute: 01:59 EST is followed by 03:00 EDT, one real minute later.
        let minutely = try Self.cron("* * * * *")
        #expect(
            minutely.nextTick(after: Self.at("2026-03-08T01:59:00-05:00"), in: Self.newYork)
                == Self.at("2026-03-08T03:00:00-04:00"))
    }

    @Test func fallBackFiresOnceAtFirstOccurrence() throws {
        // 2026-11-01 in New York: 02:00 EDT falls back to 01:00 EST; 01:00–01:59 occurs twice.
        let c = try Self.cron("30 1 * * *")
        let ticks = c.ticks(
            after: Self.at("2026-10-31T12:00:00-04:00"), through: Self.at("2026-11-02T12:00:00-05:00"),
            in: Self.newYork, limit: 10)
        #expect(ticks == [Self.at("2026-11-01T01:30:00-04:00"), Self.at("2026-11-02T01:30:00-05:00")])
        let hourly = try Self.cron("0 * * * *")
        let day = hourly.ticks(
            after: Self.at("2026-11-01T00:30:00-04:00"), through: Self.at("2026-11-01T03:30:00-05:00"),
            in: Self.newYork, limit: 10)
        #expect(
            day == [
                Self.at("2026-11-01T01:00:00-04:00"), Self.at("2026-11-01T02:00:00-05:00"),
                Self.at("2026-11-01T03:00:00-05:00"),
            ])
        // During the repeated hour, ticks already fired in its first pass are not fired again.
        let quarter = try Self.cron("*/15 * * * *")
        #expect(
            quarter.nextTick(after: Self.at("2026-11-01T01:50:00-04:00"), in: Self.newYork)
                == Self.at("2026-11-01T02:00:00-05:00"))
        #expect(
            quarter.nextTick(after: Self.at("2026-11-01T01:10:00-05:00"), in: Self.newYork)
                == Self.at("2026-11-01T02:00:00-05:00"))
    }

    @Test func ticksHonoursLimitAndBounds() throws {
        let c = try Self.cron("*/15 * * * *")
        let from = Self.at("2026-05-10T00:00:00Z")
        let to = Self.at("2026-05-10T02:00:00Z")
        #expect(
            c.ticks(after: from, through: to, in: Self.utc, limit: 3) == [
                Self.at("2026-05-10T00:15:00Z"), Self.at("2026-05-10T00:30:00Z"), Self.at("2026-05-10T00:45:00Z"),
            ])
        #expect(c.ticks(after: from, through: to, in: Self.utc, limit: 100).count == 8)
        #expect(c.ticks(after: from, through: to, in: Self.utc, limit: 0) == [])
        #expect(c.ticks(after: to, through: from, in: Self.utc, limit: 10) == [])
        #expect(c.ticks(after: from, through: from, in: Self.utc, limit: 10) == [])
        // `to` is inclusive, `from` exclusive.
        #expect(
            c.ticks(after: from, through: Self.at("2026-05-10T00:15:00Z"), in: Self.utc, limit: 10) == [
                Self.at("2026-05-10T00:15:00Z")
            ])
    }

    @Test func farApartTicksAreFoundQuickly() throws {
        let c = try Self.cron("59 23 31 DEC *")
        let clock = ContinuousClock()
        var result: Date?
        let elapsed = clock.measure {
            for _ in 0..<100 {
                result = c.nextTick(after: Self.at("2026-01-02T00:00:00Z"), in: Self.newYork)
            }
        }
        #expect(result == Self.at("2026-12-31T23:59:00-05:00"))
        #expect(elapsed < .seconds(1))
    }

    // MARK: - Cross-checks against Foundation

    @Test func civilDatesAgreeWithFoundation() {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = Self.utc
        // Foundation's Gregorian calendar switches to Julian dates before October 1582, so start in 1583.
        for days in stride(from: Int64(-141_000), through: 800_000, by: 997) {
            let date = Date(timeIntervalSince1970: TimeInterval(days * 86_400))
            let parts = calendar.dateComponents([.year, .month, .day], from: date)
            let civil = CivilCalendar.civil(fromDays: days)
            #expect(
                civil.year == Int64(parts.year!) && civil.month == parts.month! && civil.day == parts.day!,
                "day \(days)")
        }
    }

    /// Random expressions: `nextTick` agrees with a minute-by-minute walk through Foundation's calendar
    /// over the following eight days (starting near a DST change a third of the time).
    @Test(arguments: ["UTC", "Asia/Taipei", "America/New_York", "Australia/Lord_Howe"])
    func agreesWithBruteForce(zone: String) throws {
        let timeZone = TimeZone(identifier: zone)!
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
        func random(_ n: Int) -> Int {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((seed >> 33) % UInt64(n))
        }
        func field(_ lo: Int, _ hi: Int, wildcardWeight: Int) -> String {
            switch random(4 + wildcardWeight) {
            case 0: return "\(lo + random(hi - lo + 1))"
            case 1:
                let a = lo + random(hi - lo + 1)
                return "\(a)-\(a + random(hi - a + 1))"
            case 2: return "*/\(1 + random(max(1, (hi - lo) / 2)))"
            case 3: return "\(lo + random(hi - lo + 1)),\(lo + random(hi - lo + 1))"
            default: return "*"
            }
        }
        let window = 8 * 24 * 60
        let transitions = (0..<4).reduce(into: [Self.at("2026-01-01T00:00:00Z")]) { list, _ in
            if let next = timeZone.nextDaylightSavingTimeTransition(after: list.last!) { list.append(next) }
        }.dropFirst()
        for _ in 0..<50 {
            let text =
                "\(field(0, 59, wildcardWeight: 1)) \(field(0, 23, wildcardWeight: 2)) \(field(1, 31, wildcardWeight: 6)) \(field(1, 12, wildcardWeight: 12)) \(field(0, 7, wildcardWeight: 4))"
            let c = try Self.cron(text)
            let start: Date
            if !transitions.isEmpty, random(3) == 0 {
                let transition = Array(transitions)[random(transitions.count)]
                start = transition.addingTimeInterval(TimeInterval(random(4 * 3600) - 3 * 3600 + random(60)))
            } else {
                start = Self.at("2026-01-01T00:00:00Z").addingTimeInterval(
                    TimeInterval(random(365 * 24 * 60) * 60 + random(60)))
            }
            let actual = c.nextTick(after: start, in: timeZone)
            if let expected = Self.bruteForceNext(c, after: start, calendar: calendar, maxMinutes: window) {
                #expect(actual == expected, "`\(text)` after \(start) in \(zone)")
            } else {
                let end = start.addingTimeInterval(TimeInterval(window * 60))
                #expect(actual.map { $0 > end } ?? true, "`\(text)` after \(start) in \(zone)")
            }
        }
    }

    /// The first instant after `start` on a whole minute whose wall-clock fields match, skipping
    /// instants whose wall time already appeared earlier (the second pass of a repeated hour).
    static func bruteForceNext(_ c: CronExpression, after start: Date, calendar: Calendar, maxMinutes: Int) -> Date? {
        var t = (start.timeIntervalSince1970 / 60).rounded(.down) * 60 + 60
        for _ in 0..<maxMinutes {
            let date = Date(timeIntervalSince1970: t)
            let p = calendar.dateComponents([.year, .month, .day, .hour, .minute, .weekday], from: date)
            if c.minutes & (1 << UInt64(p.minute!)) != 0, c.hours & (1 << UInt64(p.hour!)) != 0,
                c.dayMatches(month: p.month!, day: p.day!, weekday: p.weekday! - 1)
            {
                // Was this wall time already shown within the previous day (a repeated hour)?
                let offsetNow = calendar.timeZone.secondsFromGMT(for: date)
                var repeated = false
                for earlierOffset in Set([calendar.timeZone.secondsFromGMT(for: date.addingTimeInterval(-86_400))])
                where earlierOffset > offsetNow {
                    let earlier = date.addingTimeInterval(TimeInterval(offsetNow - earlierOffset))
                    repeated = calendar.timeZone.secondsFromGMT(for: earlier) == earlierOffset
                }
                if !repeated { return date }
            }
            t += 60
        }
        return nil
    }
}
