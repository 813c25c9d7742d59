/// What ``StateStore/requestRetry(_:force:now:)`` did with a request to run a task again.
public enum RetryRequest: Sendable, Hashable {
    /// The task is `pending` again (fresh attempts, from the action that failed, or from the
    /// first for a forced re-run of a succeeded task) and its message is in the inbox.
    case queued(TaskRecord)
    /// The task is `pending` again, and its message was already in the inbox for its rule (the
    /// retry of another `forEach` item of the same message): it runs with that entry.
    case alreadyQueued
    /// No record of the task (never seen, or pruned).
    case unknownTask
    /// The task is not in a state a retry applies to: running or about to (`pending`, `running`,
    /// `waiting`), or `succeeded`/`duplicate` without `force`.
    case refused(TaskState)
    /// The store has no message for the task (recorded before messages were kept, or its data
    /// was over ``KeptMessage/maxDataBytes``).
    case messageNotKept
}

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension RetryRequest {
    /// The record a retry leaves, the same in every store: `pending` at attempt 0 (the next
    /// attempt is the first of a fresh count), resuming at the action that failed — or at the
    /// first for a task that never failed one (a forced re-run of a `succeeded` or `duplicate`
    /// task). Nil when `stored` is not in a state a retry applies to.
    public static func retried(_ stored: TaskRecord, force: Bool, now: Date) -> TaskRecord? {
        switch stored.state {
        case .failed, .deadLettered: break
        case .succeeded, .duplicate: guard force else { return nil }
        case .pending, .running, .waiting: return nil
        }
        var record = stored
        record.state = .pending
        record.attempt = 0
        record.retryAt = nil
        if stored.state == .succeeded || stored.state == .duplicate {
            record.nextAction = 0
            record.nextItem = 0
            record.steps = [:]
        }
        record.updatedAt = now
        return record
    }

    /// The transition's detail for a retry that leaves `record`.
    static func detail(_ record: TaskRecord, force: Bool) -> String {
        "retry requested\(force ? " (forced)" : ""): fresh attempts from action \(record.nextAction + 1)"
    }
}
