/// Where a task (one rule run for one message) stands.
///
/// The life cycle (docs/daemon.md, "Tasks"): `pending → running → succeeded`; `running → waiting → running`
/// while retries remain; `running → failed → dead-lettered`; `duplicate` when the dedup gate
/// refused the task. The raw values are what the store persists and what `/status` shows.
public enum TaskState: String, Sendable, Codable, CaseIterable {
    /// Created, not started yet.
    case pending
    /// An attempt is in progress.
    case running
    /// An attempt failed retryably; the next one is due at ``TaskRecord/retryAt``. At attempt 0:
    /// the task waits for the outcome of the task holding its dedup key (its message was given
    /// back and comes back around ``TaskRecord/retryAt``).
    case waiting
    /// Every action succeeded. Final.
    case succeeded
    /// Gave up (permanent failure or attempts exhausted); dead-lettering follows. Final.
    case failed
    /// Published to the dead-letter topic (or given up with none configured). Final.
    case deadLettered = "dead-lettered"
    /// Skipped by the dedup gate. Final.
    case duplicate

    /// Whether the task is over: its message may be acknowledged as far as this task is concerned,
    /// and ``StateStore/prune(now:finishedBefore:)`` may delete the record once it is old enough.
    public var isFinal: Bool {
        switch self {
        case .succeeded, .failed, .deadLettered, .duplicate: true
        case .pending, .running, .waiting: false
        }
    }

    /// The states ``isFinal`` is true for.
    public static let finalStates: Set<TaskState> = Set(allCases.filter(\.isFinal))
}
