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

    /// The message a tick's task is given: id `schedule:<tick in ms>` (stable across restarts,
    /// so the task key is too) and the tick as its publish time.
    public static func message(forTick tick: Date) -> PubSubMessage {
        let millis = Int64((tick.timeIntervalSince1970 * 1000).rounded())
        return PubSubMessage(id: "schedule:\(millis)", publishTime: MessageTemplateContext.rfc3339(tick))
    }

    /// Whether `time` is a tick of the cron in the schedule's zone; if not, the ticks just before
    /// and after it (either may be nil).
    public func tickCheck(_ time: Date) -> (isTick: Bool, before: Date?, after: Date?) {
        let zone = timeZone
        let after = cron.nextTick(after: time, in: zone)
        if cron.nextTick(after: time - 1, in: zone) == time { return (true, nil, after) }
        // The latest tick before `time`: the last of a window that grows until it has one.
        var before: Date?
        for window: TimeInterval in [120, 7_200, 172_800, 5_356_800, 126_489_600] {
            if let last = cron.ticks(after: time - window, through: time, in: zone, limit: 200_000).last {
                before = last
                break
            }
        }
        return (false, before, after)
    }

    public init(cron: CronExpression, timezone: String?, catchUp: Bool, location: SourceLocation) {
        self.cron = cron
        self.timezone = timezone
        self.catchUp = catchUp
        self.location = location
    }
}
