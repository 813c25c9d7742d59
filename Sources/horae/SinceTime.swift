import ArgumentParser
import HoraeRules

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A `--since` value: a duration back from now (`90m`, `2h`, `1d`) or an RFC 3339 time
/// (`2026-12-07T03:00:00Z`).
struct SinceTime: ExpressibleByArgument, Sendable {
    /// The duration it was given as, when it was one (resolved against the clock at use).
    let ago: Duration?
    let time: Date?

    init?(argument: String) {
        if let duration = DurationParser.parse(argument), duration > .zero {
            ago = duration
            time = nil
        } else if let date = try? Date(argument, strategy: .iso8601) {
            ago = nil
            time = date
        } else {
            return nil
        }
    }

    static var defaultCompletionKind: CompletionKind { .default }

    /// The time it names.
    func date(now: Date = Date()) -> Date {
        if let time { return time }
        return now - (ago ?? .zero).timeInterval
    }
}
