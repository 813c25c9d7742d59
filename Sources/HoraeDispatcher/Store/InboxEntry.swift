import HoraeRules

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A message waiting in the store's inbox (schema version 3) for a running daemon to run it
/// through its rules, as if Pub/Sub had delivered it: how `horae tasks retry`, `horae redrive`
/// and `horae backfill` hand work to the daemons without republishing anything
/// (docs/operations.md).
///
/// The inbox is a queue with leases, like a subscription: a daemon claims entries of the
/// subscriptions it pulls (``StateStore/claimInbox(subscriptions:limit:now:leaseUntil:)``), keeps
/// them leased while their tasks run, and deletes each when its tasks are final; an entry whose
/// daemon died comes back when its lease ends.
public struct InboxEntry: Sendable, Hashable {
    /// Why the entry is there.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// `horae tasks retry`: the task `message.id`/`rule` runs again from its stored progress,
        /// with fresh attempts, past a succeeded dedup key.
        case retry
        /// `horae redrive`: a dead letter goes back through the rule that failed it.
        case redrive
        /// `horae backfill`: an existing object's notification goes through every rule of its
        /// subscription.
        case backfill
    }

    /// Assigned by the store; 0 in an entry not stored yet.
    public var id: Int64
    public var kind: Kind
    /// The logical subscription whose rules see the message; nil for a schedule task's retry.
    public var subscription: String?
    /// Only this rule runs (retry, redrive); nil: every rule the message matches.
    public var rule: String?
    /// The message; its `id` keys the tasks it starts.
    public var message: PubSubMessage
    /// When it was queued.
    public var createdAt: Date
    /// How many times a daemon claimed it (1 on the first claim).
    public var claims: Int

    public init(
        id: Int64 = 0, kind: Kind, subscription: String?, rule: String?, message: PubSubMessage, createdAt: Date,
        claims: Int = 0
    ) {
        self.id = id
        self.kind = kind
        self.subscription = subscription
        self.rule = rule
        self.message = message
        self.createdAt = createdAt
        self.claims = claims
    }
}

extension InboxEntry {
    /// An entry as a store row holds it.
    init(
        stored id: Int64, kind: String, subscription: String?, rule: String?, message: String, createdAt: Int64,
        claims: Int
    ) throws {
        guard let kind = Kind(rawValue: kind) else {
            throw StateStoreError(
                code: .invalidData, message: "unknown inbox entry kind \"\(kind)\"", operation: "claimInbox")
        }
        self.init(
            id: id, kind: kind, subscription: subscription, rule: rule, message: try KeptMessage(json: message).message,
            createdAt: Date(millisecondsSince1970: createdAt), claims: claims)
    }
}
