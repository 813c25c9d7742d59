#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension CronExpression {
    /// How far ahead `nextTick` looks before giving up (a little over five years of days).
    static let searchHorizonDays: Int64 = 5 * 366

    /// The first tick strictly after `date`, evaluated in `timeZone` (wall-clock fields): a
    /// `ScheduleTimeZone`, or a `TimeZone`.
    /// DST: a wall time that does not exist (spring forward) is skipped; a wall time that occurs
    /// twice (fall back) fires once, at its first occurrence. Returns nil if no tick exists within
    /// 5 years (e.g. `0 0 30 2 *`).
    public func nextTick(after date: Date, in timeZone: some UTCOffsetSource) -> Date? {
        nextTick(after: date, in: timeZone, notAfter: nil)
    }

    /// All ticks in (from, to], at most `limit` of them.
    public func ticks(after from: Date, through to: Date, in timeZone: some UTCOffsetSource, limit: Int) -> [Date] {
        var result: [Date] = []
        guard limit > 0, from < to else { return result }
        var current = from
        while result.count < limit, let next = nextTick(after: current, in: timeZone, notAfter: to), next <= to {
            result.append(next)
            current = next
        }
        return result
    }

    /// Whether a calendar day is allowed by the month, day-of-month and day-of-week fields.
    func dayMatches(month: Int, day: Int, weekday: Int) -> Bool {
        guard months & (1 << UInt64(month)) != 0 else { return false }
        let domHit = daysOfMonth & (1 << UInt64(day)) != 0
        let dowHit = daysOfWeek & (1 << UInt64(weekday)) != 0
        if dayOfMonthIsWildcard || dayOfWeekIsWildcard { return domHit && dowHit }
        return domHit || dowHit
    }

    /// Walks wall-clock days from the wall time just after `date`; on each matching day walks the
    /// matching times in order and returns the first one that exists and lies after `date`.
    /// `limit`, when given, lets the walk stop soon after that instant instead of after five years.
    func nextTick(after date: Date, in timeZone: some UTCOffsetSource, notAfter limit: Date?) -> Date? {
        let t = date.timeIntervalSince1970
        guard t.isFinite, abs(t) < 1e14 else { return nil }
        let instant = Int64(t.rounded(.down))
        let firstWall = instant + Int64(timeZone.secondsFromGMT(for: date)) + 1
        var day = CivilCalendar.floorDiv(firstWall, 86_400)
        var timeOfDay = Int(firstWall - day * 86_400)
        var lastDay = day + Self.searchHorizonDays
        if let limit {
            let l = limit.timeIntervalSince1970
            if l.isFinite, abs(l) < 1e14 {
                let limitWall = Int64(l.rounded(.down)) + Int64(timeZone.secondsFromGMT(for: limit))
                lastDay = min(lastDay, CivilCalendar.floorDiv(limitWall, 86_400) + 1)
            }
        }
        var (year, month, dayOfMonth) = CivilCalendar.civil(fromDays: day)
        var weekday = CivilCalendar.weekday(fromDays: day)
        while day <= lastDay {
            if months & (1 << UInt64(month)) == 0 {
                // Skip the rest of this month.
                let skip = CivilCalendar.daysIn(year: year, month: month) - dayOfMonth + 1
                day += Int64(skip)
                weekday = (weekday + skip) % 7
                dayOfMonth = 1
                timeOfDay = 0
                month += 1
                if month > 12 {
                    month = 1
                    year += 1
                }
                continue
            }
            if dayMatches(month: month, day: dayOfMonth, weekday: weekday),
                let found = firstTime(onDay: day, from: timeOfDay, after: t, in: timeZone)
            {
                return Date(timeIntervalSince1970: TimeInterval(found))
            }
            day += 1
            weekday = (weekday + 1) % 7
            timeOfDay = 0
            dayOfMonth += 1
            if dayOfMonth > CivilCalendar.daysIn(year: year, month: month) {
                dayOfMonth = 1
                month += 1
                if month > 12 {
                    month = 1
                    year += 1
                }
            }
        }
        return nil
    }

    /// The first matching wall time on `day` at or after `timeOfDay` (seconds since wall midnight)
    /// that exists in `timeZone` and whose first occurrence is after `t`, as epoch seconds.
    func firstTime(onDay day: Int64, from timeOfDay: Int, after t: TimeInterval, in timeZone: some UTCOffsetSource)
        -> Int64?
    {
        let h0 = timeOfDay / 3600
        let m0 = timeOfDay % 3600 / 60
        let s0 = timeOfDay % 60
        var h = Self.nextBit(hours, from: h0)
        while let hour = h, hour < 24 {
            var m = Self.nextBit(minutes, from: hour == h0 ? m0 : 0)
            while let minute = m, minute < 60 {
                var s = Self.nextBit(seconds, from: hour == h0 && minute == m0 ? s0 : 0)
                while let second = s, second < 60 {
                    let wall = day * 86_400 + Int64(hour * 3600 + minute * 60 + second)
                    if let instant = Self.firstInstant(ofWallTime: wall, in: timeZone), TimeInterval(instant) > t {
                        return instant
                    }
                    s = Self.nextBit(seconds, from: second + 1)
                }
                m = Self.nextBit(minutes, from: minute + 1)
            }
            h = Self.nextBit(hours, from: hour + 1)
        }
        return nil
    }

    /// The earliest instant (epoch seconds) whose wall-clock time in `timeZone` is `wall`
    /// (wall-clock seconds counted as if in UTC), or nil if that wall time is skipped.
    static func firstInstant(ofWallTime wall: Int64, in timeZone: some UTCOffsetSource) -> Int64? {
        func offset(_ instant: Int64) -> Int64 {
            Int64(timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(instant))))
        }
        // The offsets in force a day either side cover every instant that can show this wall time
        // (offsets are within ±1 day), assuming at most one offset change in those two days.
        let before = offset(wall - 86_400)
        let after = offset(wall + 86_400)
        var best: Int64?
        for candidate in before == after ? [before] : [before, after] {
            let instant = wall - candidate
            if offset(instant) == candidate, best.map({ instant < $0 }) ?? true {
                best = instant
            }
        }
        return best
    }

    /// The lowest set bit at or above `from`, if any.
    static func nextBit(_ bits: UInt64, from: Int) -> Int? {
        guard from < 64 else { return nil }
        let masked = bits & (~UInt64(0) << UInt64(from))
        return masked == 0 ? nil : masked.trailingZeroBitCount
    }
}
