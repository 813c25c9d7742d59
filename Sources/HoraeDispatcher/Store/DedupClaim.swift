#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The answer of the dedup gate, ``StateStore/claimDedup(rule:key:owner:now:leaseUntil:)``.
public enum DedupClaim: Sendable, Hashable {
    /// This task now holds the key (fresh, re-claimed by the same owner, or taken over from an
    /// expired lease or an elapsed success window). Run the task.
    case acquired
    /// Another task holds the key and its lease has not expired: the message is a duplicate.
    case heldByRunningTask(TaskKey)
    /// A task with this key succeeded and the window ends at `until`: the message is a duplicate.
    case recentlySucceeded(until: Date)
}

/// A row of `dedup_keys` as stored (expired or not), for tests and diagnostics.
struct DedupEntry: Sendable, Hashable {
    var owner: TaskKey
    /// `running` or `succeeded`.
    var status: String
    var expiresAt: Date
}
