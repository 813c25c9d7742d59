#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What the dispatcher reports as it works; ``DaemonMetrics`` turns it into Prometheus series.
/// Every method has a no-op default, so tests pass ``NoDispatcherMetrics`` or record what they need.
public protocol DispatcherMetrics: Sendable {
    func messagesPulled(subscription: String, count: Int, bytes: Int)
    func messageAcked(subscription: String)
    func messageNacked(subscription: String)
    /// A message was given back for a while (a modAck): one of its tasks waits.
    func messageGivenBack(subscription: String)
    func messageUnmatched(subscription: String)
    func messageDuplicate(subscription: String)
    func messageInvalid(subscription: String, reason: String)
    /// outcome: `succeeded`, `failed`, `dead_lettered` or `duplicate`.
    func taskFinished(rule: String, outcome: String)
    func taskAttempt(rule: String)
    func runningTasksChanged(by delta: Int)
    func actionFinished(plugin: String, duration: Duration)
    func outstandingChanged(messages: Int, bytes: Int)
    func leasesExtended(subscription: String, count: Int)
    func leasesExpired(subscription: String, count: Int)
    /// status: the HTTP status, or `transport`.
    func pullFailed(subscription: String, status: String)
    /// A pull of `maxMessages` on `subscription` came back larger than the HTTP client's response
    /// cap; with `maxMessages` 1, one message cannot be received.
    func pullTooLarge(subscription: String, maxMessages: Int)
    /// Pub/Sub refused a dead letter of `rule` for good; the task stays `failed`.
    func deadLetterRefused(rule: String)
    func rulesReloaded(ok: Bool, rules: Int)
    func scheduleTick(rule: String)
}

extension DispatcherMetrics {
    public func messagesPulled(subscription: String, count: Int, bytes: Int) {}
    public func messageAcked(subscription: String) {}
    public func messageNacked(subscription: String) {}
    public func messageGivenBack(subscription: String) {}
    public func messageUnmatched(subscription: String) {}
    public func messageDuplicate(subscription: String) {}
    public func messageInvalid(subscription: String, reason: String) {}
    public func taskFinished(rule: String, outcome: String) {}
    public func taskAttempt(rule: String) {}
    public func runningTasksChanged(by delta: Int) {}
    public func actionFinished(plugin: String, duration: Duration) {}
    public func outstandingChanged(messages: Int, bytes: Int) {}
    public func leasesExtended(subscription: String, count: Int) {}
    public func leasesExpired(subscription: String, count: Int) {}
    public func pullFailed(subscription: String, status: String) {}
    public func pullTooLarge(subscription: String, maxMessages: Int) {}
    public func deadLetterRefused(rule: String) {}
    public func rulesReloaded(ok: Bool, rules: Int) {}
    public func scheduleTick(rule: String) {}
}

/// Reports nothing.
public struct NoDispatcherMetrics: DispatcherMetrics {
    public init() {}
}
