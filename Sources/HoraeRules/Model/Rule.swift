/// One rule of a rules file: what triggers it and the actions it runs.
public struct Rule: Sendable {
    public var name: String
    public var description: String?
    /// Where the rule's mapping starts (its `- name:` line).
    public var location: SourceLocation
    public var trigger: Trigger
    public var dedup: Dedup?
    public var retry: RetryPolicy
    /// Limit for the whole task (all attempts of all actions), if any.
    public var timeout: Duration?
    /// At most this many tasks of the rule run at once; nil means no per-rule cap.
    public var concurrency: Int?
    /// The level of the lines a routine task of the rule logs (its start and its end): `info`,
    /// or `debug` for a high-rate rule whose every task would otherwise add two lines.
    public var taskLog: TaskLogLevel
    /// `forEach:`: one task per item (nil: one task).
    public var forEach: ForEach?
    public var actions: [Action]

    public enum TaskLogLevel: String, Sendable, CaseIterable {
        case info, debug
    }

    public init(
        name: String, description: String? = nil, location: SourceLocation, trigger: Trigger,
        dedup: Dedup? = nil, retry: RetryPolicy = RetryPolicy(), timeout: Duration? = nil,
        concurrency: Int? = nil, taskLog: TaskLogLevel = .info, forEach: ForEach? = nil, actions: [Action]
    ) {
        self.name = name
        self.description = description
        self.location = location
        self.trigger = trigger
        self.dedup = dedup
        self.retry = retry
        self.timeout = timeout
        self.concurrency = concurrency
        self.taskLog = taskLog
        self.forEach = forEach
        self.actions = actions
    }

    /// Every capture name the rule's patterns define (what templates may reference by bare name).
    public var captureNames: Set<String> {
        guard case .message(let clauses) = trigger else { return [] }
        return Set(clauses.flatMap { $0.conditions.flatMap { $0.matcher.captureNames } })
    }

    /// The tasks a match of the rule makes: one (nil), or one per item of its `forEach` (a list
    /// written in the rule, so its items are always had).
    public var taskItems: [ForEach.Item?] {
        guard let forEach else { return [nil] }
        return (try? forEach.items()) ?? []
    }

    public var isSchedule: Bool {
        if case .schedule = trigger { return true }
        return false
    }
}

/// What starts a rule's task: Pub/Sub messages (any of several clauses) or a schedule.
public enum Trigger: Sendable {
    case message([MessageClause])
    case schedule(Schedule)
}

/// One mapping under `on.message`: all of its conditions must hold.
public struct MessageClause: Sendable {
    /// Logical subscription names from the daemon config; nil means any subscription.
    public var subscriptions: [String]?
    public var conditions: [FieldCondition]
    public var location: SourceLocation

    public init(subscriptions: [String]? = nil, conditions: [FieldCondition], location: SourceLocation) {
        self.subscriptions = subscriptions
        self.conditions = conditions
        self.location = location
    }
}

/// `dedup:` — at most one task per key while running and for `window` after it succeeded.
public struct Dedup: Sendable {
    public var key: Template
    public var window: Duration
    public init(key: Template, window: Duration) {
        self.key = key
        self.window = window
    }
}

/// `retry:` with the defaults of docs/rules.md, "Dedup, retries and timeouts".
public struct RetryPolicy: Sendable, Hashable {
    public var maxAttempts = 5
    public var initialBackoff: Duration = .seconds(10)
    public var maxBackoff: Duration = .seconds(600)
    public var multiplier = 2.0
    /// Topic (template) that receives messages whose task failed for good.
    public var deadLetter: Template?
    public init() {}
}
