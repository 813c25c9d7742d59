import HoraeRules

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One task to run: a rule for a message (or for a schedule tick), with the captures the match
/// bound — and, for a rule with `forEach`, one of its items.
public struct TaskWork: Sendable {
    public var key: TaskKey
    public var rule: Rule
    /// The message (for schedule ticks, a synthetic one without attributes).
    public var message: PubSubMessage
    public var captures: CaptureSet
    /// Logical subscription name (nil for schedules).
    public var subscription: String?
    /// The tick, for schedule rules.
    public var scheduleTime: Date?
    /// The ``ActionsFingerprint`` of the rule's actions, when the caller has it from the rule
    /// set's load (``ActiveRules/Snapshot``); computed by the task runner otherwise.
    public var actionsFingerprint: String?
    /// An operator's retry (`horae tasks retry`): a dedup key that succeeded within its window
    /// does not make the task a duplicate for this run.
    public var bypassDedupWindow = false
    /// The rule's `forEach` item this task runs for (``TaskItemKey`` adds it to the key).
    public var item: ForEach.Item?

    public init(
        rule: Rule, message: PubSubMessage, captures: CaptureSet, subscription: String?, scheduleTime: Date? = nil,
        actionsFingerprint: String? = nil, item: ForEach.Item? = nil
    ) {
        self.key = TaskKey(messageID: message.id + (item.map(TaskItemKey.suffix) ?? ""), rule: rule.name)
        self.item = item
        self.rule = rule
        self.message = message
        self.captures = captures
        self.subscription = subscription
        self.scheduleTime = scheduleTime
        self.actionsFingerprint = actionsFingerprint
    }

    /// The tasks of `rule` for one message or tick: one, or one per `forEach` item.
    public static func expanded(
        rule: Rule, message: PubSubMessage, captures: CaptureSet, subscription: String?, scheduleTime: Date? = nil,
        actionsFingerprint: String? = nil
    ) -> [TaskWork] {
        rule.taskItems.map {
            TaskWork(
                rule: rule, message: message, captures: captures, subscription: subscription,
                scheduleTime: scheduleTime, actionsFingerprint: actionsFingerprint, item: $0)
        }
    }
}

/// How ``TaskRunner/run(_:)`` left a task.
public enum TaskOutcome: Sendable, Hashable {
    /// The task is final (succeeded, duplicate, dead-lettered): its message may be acked.
    case final(TaskState)
    /// The task did not finish (shutdown, or the store failed): its message must come back.
    case abandoned(String)
    /// The task must wait (for the outcome of the task holding its dedup key, or for a retry due
    /// later than ``TaskRunner/Configuration/retryHoldLimit``): its message is given back to
    /// Pub/Sub for `after` (at most ``maxGiveBack``), holding no budget, and the task is decided
    /// again when the message returns.
    case givenBack(after: Duration, String)

    /// The longest ack deadline Pub/Sub accepts: a longer wait is given back for this long, again.
    public static let maxGiveBack: Duration = .seconds(600)

    public var isFinal: Bool {
        if case .final = self { return true }
        return false
    }
}
