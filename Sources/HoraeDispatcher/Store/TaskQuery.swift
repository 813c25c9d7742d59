#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Which task records ``StateStore/tasks(matching:)`` returns, newest `updatedAt` first
/// (`horae tasks list`).
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
}
