/// What to do with a dedup key in the same transaction as a task save
/// (``StateStore/save(_:transitionDetail:dedup:)``), so that a crash can never separate
/// "the task succeeded" from "its key is remembered", or "the task failed" from "its key is freed".
public enum DedupSettlement: Sendable, Hashable {
    /// As ``StateStore/completeDedup(rule:key:owner:now:window:)`` with the record's key as owner
    /// and its `updatedAt` as `now`.
    case complete(rule: String, key: String, window: Duration)
    /// As ``StateStore/releaseDedup(rule:key:owner:)`` with the record's key as owner.
    case release(rule: String, key: String)
}
