#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One recorded change of a task's state (docs/daemon.md, "Tasks": every transition is recorded with its
/// time), or a step within a state (`from == to`: an action done, with how long it took).
public struct TaskTransition: Sendable, Hashable, Codable {
    public var key: TaskKey
    /// The previous state; nil for the save that created the record.
    public var from: TaskState?
    public var to: TaskState
    /// The saved record's `updatedAt`, at millisecond precision.
    public var at: Date
    /// Free text from the caller (an error, "retry at …", "duplicate of …").
    public var detail: String?

    public init(key: TaskKey, from: TaskState?, to: TaskState, at: Date, detail: String? = nil) {
        self.key = key
        self.from = from
        self.to = to
        self.at = at
        self.detail = detail
    }
}
