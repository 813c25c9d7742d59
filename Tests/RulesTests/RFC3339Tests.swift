import Foundation
import Testing

@testable import HoraeRules

/// `MessageTemplateContext.rfc3339` (the `now` and `schedule.time` variables) formats dates
/// itself; Foundation's `ISO8601DateFormatter` is the reference.
struct RFC3339Tests {
    @Test func rfc3339MatchesFoundationsFormatter() {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        formatter.timeZone = TimeZone(identifier: "UTC")
        #expect(MessageTemplateContext.rfc3339(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00.000Z")
        #expect(
            MessageTemplateContext.rfc3339(Date(timeIntervalSince1970: 1_780_000_000.123456))
                == "2026-05-28T20:26:40.123Z")
        #expect(
            MessageTemplateContext.rfc3339(Date(timeIntervalSince1970: 1_780_000_000.9996))
                == "2026-05-28T20:26:41.000Z")
        #expect(MessageTemplateContext.rfc3339(Date(timeIntervalSince1970: -1.5)) == "1969-12-31T23:59:58.500Z")
        #expect(
            MessageTemplateContext.rfc3339(Date(timeIntervalSince1970: 951_782_400.007)) == "2000-02-29T00:00:00.007Z")
        var seed: UInt64 = 42
        for _ in 0..<5000 {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            // 1583 to 9999 (Foundation's calendar is Julian before 1583), with sub-millisecond parts
            // away from the half-millisecond ties, which floating point (a few microseconds at these
            // magnitudes) rounds either way.
            let micros = Int64(seed >> 12) % 264_000_000_000_000_000 - 12_200_000_000_000_000
            guard abs(abs(micros % 1000) - 500) > 20 else { continue }
            let date = Date(timeIntervalSince1970: TimeInterval(micros) / 1_000_000)
            #expect(MessageTemplateContext.rfc3339(date) == formatter.string(from: date), "\(micros)")
        }
    }
}
