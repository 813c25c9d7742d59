import HoraeRules

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The durable state of one task, as ``StateStore/save(_:transitionDetail:dedup:)`` writes it.
///
/// Dates are stored as integer milliseconds since 1970 (UTC), rounded to the nearest
/// millisecond: a record read back carries its dates at millisecond precision.
public struct TaskRecord: Sendable, Hashable {
    /// The (message, rule) pair; the primary key.
    public var key: TaskKey
    /// Current state.
    public var state: TaskState
    /// 1-based number of the attempt in progress or last made; 0 before the first attempt.
    public var attempt: Int
    /// Index of the first action that has not yet succeeded: where the next attempt resumes.
    public var nextAction: Int
    /// For an action with `forEach`: how many of its items succeeded (the next attempt resumes at
    /// the next one); 0 otherwise.
    public var nextItem: Int
    /// The outputs of the task's named actions that ran (``StepOutput``), for the later actions'
    /// templates: kept so that a resumed task renders them as the first attempt would have.
    public var steps: [String: StepOutput]
    /// The last failure, for `/status` and dead-lettering.
    public var lastError: String?
    /// When the next attempt is due (meaningful when `state == .waiting`).
    public var retryAt: Date?
    /// The rendered `dedup.key`, when the rule has one.
    public var dedupKey: String?
    /// The last action's output, already truncated by the caller.
    public var output: String?
    /// Logical name of the subscription the message came from (nil for schedules).
    public var subscription: String?
    /// When the task was first recorded.
    public var createdAt: Date
    /// When the record was last saved; also the time of the transition a save records.
    public var updatedAt: Date
    /// The ``ActionsFingerprint`` of the rule's actions the task started with; nil in records
    /// written before fingerprints were kept (such a task resumes without the check).
    public var actionsFingerprint: String?
    /// The message the task is for, kept beside the record when the store first inserts it (a
    /// later save never changes it); records read back leave it nil (``StateStore/keptMessage(of:)``
    /// reads it).
    public var message: KeptMessage?

    public init(
        key: TaskKey,
        state: TaskState,
        attempt: Int = 0,
        nextAction: Int = 0,
        lastError: String? = nil,
        retryAt: Date? = nil,
        dedupKey: String? = nil,
        output: String? = nil,
        subscription: String? = nil,
        createdAt: Date,
        updatedAt: Date? = nil,
        actionsFingerprint: String? = nil,
        message: KeptMessage? = nil,
        nextItem: Int = 0,
        steps: [String: StepOutput] = [:]
    ) {
        self.key = key
        self.state = state
        self.attempt = attempt
        self.nextAction = nextAction
        self.lastError = lastError
        self.retryAt = retryAt
        self.dedupKey = dedupKey
        self.output = output
        self.subscription = subscription
        self.createdAt = createdAt
        self.updatedAt = updatedAt ?? createdAt
        self.actionsFingerprint = actionsFingerprint
        self.message = message
        self.nextItem = nextItem
        self.steps = steps
    }
}
