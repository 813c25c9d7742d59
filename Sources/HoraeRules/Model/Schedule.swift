#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `on.schedule`: run a rule's actions at each tick of a cron expression.
public struct Schedule: Sendable {
    public var cron: CronExpression
    /// IANA time zone identifier; nil means UTC.
    public var timezone: String?
    /// Run a tick missed while the daemon was down once at start.
    public var catchUp: Bool
    public var location: SourceLocation

    /// The zone of `timezone` (validated when the rules were loaded; read once per process), UTC
    /// when absent.
    public var timeZone: ScheduleTimeZone {
        timezone.flatMap(ScheduleTimeZone.init(identifier:)) ?? .utc
    }

    /// `schedule.time` of the tick at `tick`: RFC 3339 on the schedule zone's wall clock, with
    /// that zone's offset (`2026-03-05T01:00:00+08:00`; `Z` in UTC).
    public func timeText(of tick: Date) -> String {
        let seconds = Int64(tick.timeIntervalSince1970.rounded(.down))
        return StrftimeFormatter.rfc3339(epochSeconds: seconds, offsetSeconds: timeZone.secondsFromGMT(at: seconds))
    }

    public init(cron: CronExpression, timezone: String?, catchUp: Bool, location: SourceLocation) {
        self.cron = cron
        self.timezone = timezone
        self.catchUp = catchUp
        self.location = location
    }
}
