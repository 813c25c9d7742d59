#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// How long ago a time was, for people: `12s ago`, `5m ago`, `3h ago`, `2d ago`; `in 40s` for a
/// time still to come.
enum RelativeTime {
    static func text(_ date: Date, now: Date = Date()) -> String {
        let seconds = Int((now.timeIntervalSince(date)).rounded())
        let magnitude = abs(seconds)
        let amount: String
        switch magnitude {
        case ..<60: amount = "\(magnitude)s"
        case ..<3600: amount = "\(magnitude / 60)m"
        case ..<86400: amount = "\(magnitude / 3600)h"
        default: amount = "\(magnitude / 86400)d"
        }
        return seconds >= 0 ? "\(amount) ago" : "in \(amount)"
    }
}
