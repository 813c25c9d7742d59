#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// An OAuth2 access token and the instant it stops being accepted.
///
/// `description` and `debugDescription` never show the token itself, so a token that ends up in a
/// log line or a test failure message is not leaked.
public struct AccessToken: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible {
    /// How long before `expiresAt` a provider fetches a new token (5 minutes).
    public static let refreshMargin: TimeInterval = 300

    public var value: String
    public var expiresAt: Date

    public init(value: String, expiresAt: Date) {
        self.value = value
        self.expiresAt = expiresAt
    }

    /// Whether the token stays valid for more than `margin` seconds after `now`.
    public func isValid(at now: Date, margin: TimeInterval = 0) -> Bool {
        expiresAt.timeIntervalSince(now) > margin
    }

    public var description: String {
        "AccessToken(<redacted>, expires \(expiresAt))"
    }

    public var debugDescription: String { description }
}
