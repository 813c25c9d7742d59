import HoraeRules
import Logging
import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Keeps the leases of one subscription's outstanding messages (docs/daemon.md, "Message path"): a modAck to the
/// ack deadline at receipt, then a renewal about ``renewalMargin`` before each deadline, in
/// batches; after ``maxLease`` a message is no longer renewed (logged loudly) and comes back to
/// the subscription, while its task's progress stays in the store.
public final class LeaseManager: Sendable {
    public let ackDeadline: Duration
    public let maxLease: Duration
    public let renewalMargin: Duration

    private struct Lease {
        var received: ContinuousClock.Instant
        var expires: ContinuousClock.Instant
        var messageID: String
    }

    private struct State {
        var leases: [String: Lease] = [:]
        var stopped = false
    }

    private let acks: AckQueue
    private let logger: Logger
    private let state = Mutex(State())
    private let onExpired: @Sendable (Int) -> Void
    private let onExtended: @Sendable (Int) -> Void

    public init(
        acks: AckQueue, ackDeadline: Duration, maxLease: Duration, logger: Logger,
        onExtended: @escaping @Sendable (Int) -> Void = { _ in },
        onExpired: @escaping @Sendable (Int) -> Void = { _ in }
    ) {
        self.acks = acks
        self.ackDeadline = ackDeadline
        self.maxLease = maxLease
        // Renew 5 s ahead, or a third of the deadline ahead when the deadline is short.
        self.renewalMargin = min(.seconds(5), ackDeadline / 3)
        self.logger = logger
        self.onExtended = onExtended
        self.onExpired = onExpired
    }

    private var deadlineSeconds: Int { Int(ackDeadline.wholeSeconds) }

    /// Messages just pulled: their leases are extended to the deadline at once.
    public func received(_ messages: [(ackID: String, messageID: String)]) {
        let now = ContinuousClock.now
        state.withLock { s in
            for m in messages {
                s.leases[m.ackID] = Lease(received: now, expires: now + ackDeadline, messageID: m.messageID)
            }
        }
        acks.enqueue(.modAck(seconds: deadlineSeconds), messages.map(\.ackID))
    }

    /// The message was acked or nacked: stop renewing it.
    public func finished(_ ackID: String) {
        _ = state.withLock { $0.leases.removeValue(forKey: ackID) }
    }

    /// Leases held now.
    public var count: Int { state.withLock { $0.leases.count } }

    /// Renews leases until cancelled. Wakes once a second at most (and not at all when idle
    /// beyond that), so an idle daemon costs no CPU here.
    public func run() async {
        while !Task.isCancelled {
            let nextDue = renewDue()
            let sleep =
                nextDue.map { max(.milliseconds(50), min(.seconds(1), $0 - ContinuousClock.now)) } ?? .seconds(1)
            do { try await Task.sleep(for: sleep) } catch { return }
        }
    }

    /// Renews every lease due within the margin; drops those past `maxLease`.
    /// - Returns: when the next renewal is due, if any lease is held.
    func renewDue(now: ContinuousClock.Instant = .now) -> ContinuousClock.Instant? {
        let horizon = now + renewalMargin
        var renew: [String] = []
        var expired: [(ackID: String, messageID: String)] = []
        let next = state.withLock { s -> ContinuousClock.Instant? in
            var next: ContinuousClock.Instant?
            for (ackID, lease) in s.leases {
                if lease.expires <= horizon {
                    if now - lease.received + ackDeadline > maxLease {
                        expired.append((ackID, lease.messageID))
                        continue
                    }
                    renew.append(ackID)
                    s.leases[ackID]?.expires = now + ackDeadline
                }
                let due = (s.leases[ackID]?.expires ?? lease.expires) - renewalMargin
                next = next.map { min($0, due) } ?? due
            }
            for e in expired { s.leases.removeValue(forKey: e.ackID) }
            return next
        }
        if !renew.isEmpty {
            acks.enqueue(.modAck(seconds: deadlineSeconds), renew)
            onExtended(renew.count)
        }
        if !expired.isEmpty {
            onExpired(expired.count)
            for e in expired {
                logger.error(
                    "lease not renewed past maxLease; the message will be redelivered (its task's progress is kept)",
                    metadata: [
                        "subscription": "\(acks.subscription)", "messageId": "\(e.messageID)",
                        "maxLease": "\(maxLease)",
                    ])
            }
        }
        return next
    }
}
