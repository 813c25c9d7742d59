#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Which task records ``StateStore/tasks(matching:)`` returns, newest `updatedAt` first
/// (`horae tasks list`).
///
/// Both stores answer it one state at a time, each from its range of the `tasks_by_state
/// (state, updated_at)` index read backwards and cut at ``limit``, and merge the answers
/// (``merged(_:)``): schema version 5 dropped the index on `updated_at` alone, which every task
/// write paid for (docs/benchmarks.md).
public struct TaskQuery: Sendable, Hashable {
    /// Only these states; empty: every state.
    public var states: Set<TaskState>
    /// Only this rule.
    public var rule: String?
    /// Only records updated at or after this time.
    public var updatedSince: Date?
    /// At most this many.
    public var limit: Int

    public init(states: Set<TaskState> = [], rule: String? = nil, updatedSince: Date? = nil, limit: Int = 50) {
        self.states = states
        self.rule = rule
        self.updatedSince = updatedSince
        self.limit = limit
    }

    /// The states to read, one query each, in a fixed order: ``states``, or every state.
    var statesToRead: [TaskState] {
        (states.isEmpty ? TaskState.allCases : Array(states)).sorted { $0.rawValue < $1.rawValue }
    }

    /// The first ``limit`` records of the per-state answers, in the stores' order (``isNewer(_:than:)``).
    func merged(_ answers: [[TaskRecord]]) -> [TaskRecord] {
        Array(answers.joined().sorted(by: Self.isNewer).prefix(limit))
    }

    /// The order of ``StateStore/tasks(matching:)``: newest `updatedAt` first, then newest
    /// `createdAt`, then message id and rule in byte order (SQLite's `BINARY` collation,
    /// PostgreSQL's `COLLATE "C"`).
    static func isNewer(_ a: TaskRecord, than b: TaskRecord) -> Bool {
        let (aUpdated, bUpdated) = (a.updatedAt.millisecondsSince1970, b.updatedAt.millisecondsSince1970)
        if aUpdated != bUpdated { return aUpdated > bUpdated }
        let (aCreated, bCreated) = (a.createdAt.millisecondsSince1970, b.createdAt.millisecondsSince1970)
        if aCreated != bCreated { return aCreated > bCreated }
        // Not `String`'s `!=` and `<`: they treat canonically equivalent texts as equal.
        if !a.key.messageID.utf8.elementsEqual(b.key.messageID.utf8) {
            return a.key.messageID.utf8.lexicographicallyPrecedes(b.key.messageID.utf8)
        }
        return a.key.rule.utf8.lexicographicallyPrecedes(b.key.rule.utf8)
    }
}
