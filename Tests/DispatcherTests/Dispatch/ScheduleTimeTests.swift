import Foundation
import HoraeRules
import Testing

@testable import HoraeDispatcher

/// A schedule task renders `schedule.time` in its schedule's zone (docs/rules.md, "Templates"),
/// so `date` gives the local date, not UTC's.
@Suite(.serialized)
struct ScheduleTimeTests {
    @Test func aTickRendersItsTimeWithTheScheduleZoneOffset() async throws {
        let rules = #"""
            rules:
              - name: taipei-tick
                on: { schedule: { cron: "* * * * * *", timezone: Asia/Taipei } }
                actions:
                  - log: { message: "{{ schedule.time }}|{{ schedule.time | date(\"%s %H\") }}|{{ schedule.time | add(\"-1d\") | date(\"%d\") }}" }
            """#
        try await withDaemon(DaemonHarness(rules: rules)) { h in
            h.start()
            try await h.waitUntil("a tick runs") { !h.plugin.calls.isEmpty }
            let text = h.plugin.calls[0].text
            let parts = text.split(separator: "|").map(String.init)
            #expect(parts.count == 3, "\(text)")
            guard parts.count == 3 else { return }
            #expect(parts[0].hasSuffix("+08:00"), "\(text)")
            let fields = parts[1].split(separator: " ")
            let seconds = Int64(fields[0]) ?? 0
            let taipeiHour = (seconds + 8 * 3600) % 86_400 / 3600
            let yesterday = (seconds + 8 * 3600 - 86_400) / 86_400
            let (_, _, day) = CivilCalendar.civil(fromDays: yesterday)
            #expect(Int64(fields[1]) == taipeiHour, "\(text)")
            #expect(Int(parts[2]) == day, "\(text)")
        }
    }
}
