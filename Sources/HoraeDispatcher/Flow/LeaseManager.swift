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

    /// Renews leases until cancelled. Wakes when the next lease is due, once a second when none
    /// is (an idle daemon costs almost no CPU here), and never sooner than ``wakeInterval`` after
    /// the last wake: each wake reads every lease, and with messages arriving all the time one is
    /// always due. A lease due just after a wake is renewed at the next, well inside its margin.
    public func run() async {
        while !Task.isCancelled {
            let nextDue = renewDue()
            let sleep = nextDue.map { max(wakeInterval, min(.seconds(1), $0 - ContinuousClock.now)) } ?? .seconds(1)
            do { try await Task.sleep(for: sleep) } catch { return }
        }
    }

    /// The shortest time between two renewal passes: a quarter of the margin, at most a second.
    var wakeInterval: Duration { min(.seconds(1), renewalMargin / 4) }

    /// Renews every lease due within the margin; drops those past `maxLease`.
    /// - Returns: when the next renewal is due, if any lease is held.
    func renewDue(now: ContinuousClock.Instant = .now) -> ContinuousClock.Instant? {
        let horizon = now + renewalMargin
        var renew: [String] = []
        var expired: [(ackID: String, messageID: String)] = []
        let next = state.withLock { s -> ContinuousClock.Instant? in
            var next: ContinuousClock.Instant?
            var index = s.leases.startIndex
            // By index and in place: neither a copy of the table nor a look-up by ack id.
            while index != s.leases.endIndex {
                let lease = s.leases.values[index]
                if lease.expires <= horizon {
                    if now - lease.received + ackDeadline > maxLease {
                        expired.append((s.leases.keys[index], lease.messageID))
                        s.leases.formIndex(after: &index)
                        continue
                    }
                    renew.append(s.leases.keys[index])
                    s.leases.values[index].expires = now + ackDeadline
                }
                let due = s.leases.values[index].expires - renewalMargin
                next = next.map { min($0, due) } ?? due
                s.leases.formIndex(after: &index)
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
