import HoraeRules
import Logging
import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Runs tasks (one rule for one message) on top of the state store, as docs/daemon.md, "Tasks" and
/// docs/rules.md, "Dedup, retries and timeouts" say: the dedup gate, actions in order, retries with
/// backoff that resume at the failed action, the task timeout, and the dead-letter step.
///
/// Every step is saved before the next begins, so a task interrupted at any instant (shutdown,
/// SIGKILL) resumes where it was when its message comes back: actions that succeeded never run
/// again, a succeeded task is never run again for the same message.
public final class TaskRunner: Sendable {
    public struct Configuration: Sendable {
        /// How long a dedup claim lasts without renewal (renewed every third of it while the task runs).
        public var dedupLease: Duration = .seconds(60)
        /// Longest text kept from a plugin's output in the task record.
        public var maxOutputBytes = 4096
        /// Backoff of dead-letter publishing, which is retried until it succeeds or the daemon stops.
        public var deadLetterBackoff = Backoff(initial: .seconds(1), maximum: .seconds(300), multiplier: 2)
        /// The limit of an action that neither its own `timeout` nor the rule's `timeout` bounds
        /// (`defaultActionTimeout` in horae.yaml; a plugin's own shorter default is kept), so that
        /// no action runs forever.
        public var defaultActionTimeout: Duration = .seconds(3600)
        /// A retry wait up to this long is waited holding the message; a longer one gives the
        /// message back to Pub/Sub for what is left of it (``TaskOutcome/givenBack(after:_:)``),
        /// so a rule whose downstream is down holds no budget. Message tasks only.
        public var retryHoldLimit: Duration = .seconds(5)
        /// How long a message is given back for while its dedup key is held by a task that runs
        /// or retries (``Backoff/delay(afterWaiting:)``: 10 s, growing with the wait, to 5 min).
        public var dedupWait = Backoff(initial: .seconds(10), maximum: .seconds(300), multiplier: 2)
        /// While the store is unavailable, the wait between two tries of saving a task's progress
        /// (``TaskRunner`` holds the message meanwhile; each try is itself the store's own retries).
        public var storeRetry = Backoff(initial: .seconds(1), maximum: .seconds(10), multiplier: 2)
        /// A task that cannot begin because the store is unavailable (its record or its dedup
        /// claim cannot be read or taken) gives its message back for this long: nothing runs
        /// without its claim, and the message returns once the store may be back.
        public var storeUnavailableGiveBack: Duration = .seconds(10)
        /// Retry waits drawn with full jitter (``Backoff``); without, each is its ceiling, for
        /// tests that need an exact wait.
        public var retryJitter = true
        public init() {}
    }

    private let store: any StateStore
    private let plugins: PluginRegistry
    private let publisher: (any MessagePublisher)?
    private let limiter: RuleConcurrencyLimiter
    private let shutdown: ShutdownSignal
    private let metrics: any DispatcherMetrics
    private let logger: Logger
    private let configuration: Configuration
    /// Tasks running in this process, so that a message delivered twice at once runs its task
    /// once: the calls that find their key here wait for the running one's outcome.
    private let inFlight = Mutex<[TaskKey: [CheckedContinuation<TaskOutcome?, Never>]]>([:])

    public init(
        store: any StateStore, plugins: PluginRegistry, publisher: (any MessagePublisher)?,
        limiter: RuleConcurrencyLimiter = RuleConcurrencyLimiter(), shutdown: ShutdownSignal,
        metrics: any DispatcherMetrics = NoDispatcherMetrics(), logger: Logger,
        configuration: Configuration = Configuration()
    ) {
        self.store = store
        self.plugins = plugins
        self.publisher = publisher
        self.limiter = limiter
        self.shutdown = shutdown
        self.metrics = metrics
        self.logger = logger
        self.configuration = configuration
    }

    /// Runs the task to a final state, gives its message back to wait (``TaskOutcome/givenBack(after:_:)``),
    /// or gives it up (shutdown, store failure), in the calling task (whose cancellation interrupts it). A second call for the same key while the first
    /// runs waits for it and returns its outcome.
    public func run(_ work: TaskWork) async -> TaskOutcome {
        let owner = inFlight.withLock { running -> Bool in
            guard running[work.key] == nil else { return false }
            running[work.key] = []
            return true
        }
        guard owner else {
            let outcome = await withCheckedContinuation { (c: CheckedContinuation<TaskOutcome?, Never>) in
                let waiting = inFlight.withLock { running -> Bool in
                    guard running[work.key] != nil else { return false }
                    running[work.key]!.append(c)
                    return true
                }
                if !waiting { c.resume(returning: nil) }
            }
            // nil: the other call finished in between; the store now knows where the task is.
            if let outcome { return outcome }
            return await run(work)
        }
        let outcome = await execute(work)
        let waiting = inFlight.withLock { $0.removeValue(forKey: work.key) } ?? []
        for c in waiting { c.resume(returning: outcome) }
        return outcome
    }

    /// Tasks running in this process now.
    public var runningCount: Int { inFlight.withLock { $0.count } }

    /// Why the state store cannot be used now (``StateStore/availabilityProblem``), nil when it can.
    public var storeProblem: String? { store.availabilityProblem }

    /// Asks the state store whether it can be used again (``StateStore/checkAvailability()``).
    public func checkStore() async { await store.checkAvailability() }

    private func execute(_ work: TaskWork) async -> TaskOutcome {
        let log = TaskLogger(base: logger, rule: work.rule.name, messageID: work.key.messageID)
        do {
            return try await execute(work, log: log)
        } catch let error as StateStoreError where error.code == .unavailable && !shutdown.isStopping {
            // Only a call that starts or decides a task gets here (a save of progress waits for
            // the store, ``keep(_:transitionDetail:dedup:log:)``): nothing ran that is not saved.
            let after = configuration.storeUnavailableGiveBack
            log.warning(
                "state store unavailable; the task does not start and its message is given back",
                metadata: ["error": "\(error)", "givenBackFor": "\(after)"])
            return .givenBack(after: after, "state store unavailable: \(error.message)")
        } catch {
            log.error("state store failed; the message will come back", metadata: ["error": "\(error)"])
            return .abandoned("state store: \(error)")
        }
    }

    /// Saves the task's progress. While the store is unavailable, tries again (``Configuration/storeRetry``)
    /// until it is saved, holding the message (its lease is extended meanwhile): an action that
    /// ran is not run again, as it would be if the message came back with its progress unsaved.
    /// Only the task's cancellation (a shutdown's grace period over) ends the wait: then the
    /// message is given back with the progress unsaved, and the step may run again.
    private func keep(
        _ record: inout TaskProgress, transitionDetail: String?, dedup: DedupSettlement? = nil, log: TaskLogger
    ) async throws {
        var failures = 0
        while true {
            do {
                try await record.save(to: store, transitionDetail: transitionDetail, dedup: dedup)
                if failures > 0 { log.info("state store available again; the task's progress is saved") }
                return
            } catch let error as StateStoreError where error.code == .unavailable {
                failures += 1
                if failures == 1 {
                    log.warning(
                        "state store unavailable; the task's progress waits here until it is saved",
                        metadata: ["error": "\(error)"])
                }
                guard (try? await Task.sleep(for: configuration.storeRetry.delay(afterFailures: failures))) != nil
                else { throw error }
            }
        }
    }

    /// A task's run, in its phases: ``begin(_:fingerprint:log:)`` finds or creates its record;
    /// in the rule's concurrency slot, ``passDedupGate(_:_:log:)`` and then
    /// ``runAttempts(_:_:start:dedupKey:log:)`` under a dedup-lease renewal; once the slot is
    /// free, what the attempts left to do: give the message back for a long retry wait, or the
    /// dead-letter step of a task that failed for good — so neither holds a slot.
    private func execute(_ work: TaskWork, log: TaskLogger) async throws -> TaskOutcome {
        let fingerprint = work.actionsFingerprint ?? ActionsFingerprint.of(work.rule.actions)
        var record: TaskProgress
        let start: Start
        switch try await begin(work, fingerprint: fingerprint, log: log) {
        case .settled(let outcome): return outcome
        case .run(let found, let how):
            record = found
            start = how
        }
        let rule = work.rule
        // A first attempt already recorded has nothing to wait for (its rule has no limit).
        if start != .firstAttemptRecorded {
            guard await limiter.acquire(rule: rule.name, limit: rule.concurrency) else {
                return .abandoned("shutting down before the task started")
            }
        }
        let began = ContinuousClock.now
        let end: SlotEnd
        do {
            defer { if rule.concurrency != nil { limiter.release(rule: rule.name) } }
            end = try await runInSlot(work, &record, start: start, log: log)
        }
        let outcome: TaskOutcome
        switch end {
        case .retryLater(let wait):
            outcome = try await giveBackRetry(work, record, wait: wait, log: log)
        case .outcome(.final(.failed)):
            outcome = try await deadLetter(work, &record, log: log)
        case .outcome(let settled):
            outcome = settled
        }
        logFinished(work, outcome, record, since: began, log: log)
        return outcome
    }

    /// The end of a task's run in this process, at `info` (or the rule's `taskLog` level): the
    /// outcome, the attempts so far, how long the run took, and the dedup key when it had one.
    private func logFinished(
        _ work: TaskWork, _ outcome: TaskOutcome, _ record: TaskProgress, since began: ContinuousClock.Instant,
        log: TaskLogger
    ) {
        log.log(level: Self.level(work.rule.taskLog), "task finished") {
            var fields: Logger.Metadata = [
                "outcome": "\(Self.describe(outcome))", "attempts": "\(record.attempt)",
                "took": "\(ContinuousClock.now - began)",
            ]
            if let subscription = work.subscription { fields["subscription"] = "\(subscription)" }
            if let key = record.dedupKey { fields["dedupKey"] = "\(key)" }
            return fields
        }
    }

    static func level(_ taskLog: Rule.TaskLogLevel) -> Logger.Level {
        taskLog == .debug ? .debug : .info
    }

    /// The outcome as a task-log line gives it: the final state, `given back` or `interrupted`.
    static func describe(_ outcome: TaskOutcome) -> String {
        switch outcome {
        case .final(let state): state.rawValue
        case .givenBack: "given back"
        case .abandoned: "interrupted"
        }
    }

    /// How a task begins its run in this process.
    private enum Start {
        /// A new task: nothing recorded yet.
        case new
        /// A new task whose first attempt was recorded as it was created.
        case firstAttemptRecorded
        /// A task the store knew: a redelivery, a message given back coming back, a restart.
        case resumed
    }

    private enum Beginning {
        /// Nothing to run: the outcome is known (or the stored record decided it).
        case settled(TaskOutcome)
        case run(TaskProgress, Start)
    }

    /// How the part of a task run in the concurrency slot ended.
    private enum SlotEnd {
        /// A failure for good (`.final(.failed)`) goes on to the dead-letter step.
        case outcome(TaskOutcome)
        /// A retry wait too long to hold the message: give it back for `wait`.
        case retryLater(Duration)
    }

    /// The task's record: created for a new task (with its first attempt at once when the rule
    /// has nothing to wait for, in one store call instead of a read and then a save), or the
    /// stored one, which may settle the task without running anything: already final, failed
    /// before its dead-letter step completed, started with other actions, or waiting for a
    /// retry longer than the hold limit.
    private func begin(_ work: TaskWork, fingerprint: String, log: TaskLogger) async throws -> Beginning {
        let rule = work.rule
        let stored: TaskRecord?
        if rule.concurrency == nil && rule.dedup == nil {
            if shutdown.isStopping || Task.isCancelled {
                return .settled(.abandoned("shutting down before the task started"))
            }
            let first = TaskRecord(
                key: work.key, state: .running, attempt: 1, subscription: work.subscription,
                createdAt: Date(), actionsFingerprint: fingerprint, message: KeptMessage(work.message))
            stored = try await store.insertIfAbsent(first, transitionDetail: "attempt 1")
            if stored == nil { return .run(TaskProgress(stored: first), .firstAttemptRecorded) }
        } else {
            stored = try await store.task(work.key)
        }
        guard let stored else {
            return .run(
                TaskProgress(
                    new: TaskRecord(
                        key: work.key, state: .pending, subscription: work.subscription,
                        createdAt: Date(), actionsFingerprint: fingerprint, message: KeptMessage(work.message))), .new)
        }
        var record = TaskProgress(stored: stored)
        switch stored.state {
        case .succeeded, .duplicate, .deadLettered:
            log.debug("task already final", metadata: ["state": "\(stored.state.rawValue)"])
            return .settled(.final(stored.state))
        case .failed:
            // Failed for good, and the dead-letter step did not complete before a restart or its
            // publish was refused: it is tried once more (a topic created since is used; one still
            // refused ends it as before).
            return .settled(try await deadLetter(work, &record, log: log))
        case .pending, .running, .waiting:
            // Progress was made (an attempt, or a retry's fresh count that resumes past action 1).
            if let started = stored.actionsFingerprint, started != fingerprint,
                stored.attempt > 0 || stored.nextAction > 0
            {
                return .settled(
                    try await refuseChangedActions(work, &record, startedWith: started, now: fingerprint, log: log))
            }
            // No attempt yet (nothing ran), or a record from before fingerprints were kept: the
            // task runs the actions loaded now, and keeps their fingerprint from here on.
            record.actionsFingerprint = fingerprint
            if let wait = longRetryWait(work, stored) {
                return .settled(try await giveBackRetry(work, record, wait: wait, log: log))
            }
            log.info(
                "resuming task",
                metadata: [
                    "state": "\(stored.state.rawValue)", "attempt": "\(stored.attempt)",
                    "nextAction": "\(stored.nextAction)",
                ])
            return .run(record, .resumed)
        }
    }

    /// In the concurrency slot: the dedup gate, then the attempts, while the dedup claim is renewed.
    private func runInSlot(_ work: TaskWork, _ record: inout TaskProgress, start: Start, log: TaskLogger)
        async throws -> SlotEnd
    {
        if start != .firstAttemptRecorded && (shutdown.isStopping || Task.isCancelled) {
            return .outcome(.abandoned("shutting down before the task started"))
        }
        let dedupKey: String?
        switch try await passDedupGate(work, &record, log: log) {
        case .closed(let outcome): return .outcome(outcome)
        case .open(let key): dedupKey = key
        }
        metrics.runningTasksChanged(by: 1)
        defer { metrics.runningTasksChanged(by: -1) }
        guard let dedupKey else {
            return try await runAttempts(work, &record, start: start, dedupKey: nil, log: log)
        }
        // The renewal is a child task: it has stopped when the attempts are over, so no renewal
        // in flight can shorten the lease a give-back extends.
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await self.renewDedup(rule: work.rule.name, key: dedupKey, owner: work.key, log: log) }
            defer { group.cancelAll() }
            return try await runAttempts(work, &record, start: start, dedupKey: dedupKey, log: log)
        }
    }

    private enum DedupGate {
        /// The task may run; it holds `key` (nil: the rule has no dedup).
        case open(key: String?)
        /// The task does not run now: a duplicate, a wait for the key's holder, or a failure.
        case closed(TaskOutcome)
    }

    /// Claims the rule's dedup key for the task. A key held by a running or retrying task makes a
    /// message wait for that task's outcome; a key that succeeded within its window makes the
    /// task a duplicate.
    private func passDedupGate(_ work: TaskWork, _ record: inout TaskProgress, log: TaskLogger) async throws
        -> DedupGate
    {
        let rule = work.rule
        guard let dedup = rule.dedup else { return .open(key: nil) }
        let key: String
        do {
            key = try dedup.key.render(context(work, attempt: max(1, record.attempt)))
        } catch {
            record.lastError = "dedup key: \(error)"
            return .closed(try await fail(work, &record, log: log))
        }
        record.dedupKey = key
        let now = Date()
        let claim = try await store.claimDedup(
            rule: rule.name, key: key, owner: work.key, now: now,
            leaseUntil: now + configuration.dedupLease.timeInterval)
        switch claim {
        case .acquired:
            return .open(key: key)
        case .heldByRunningTask(let other):
            // A schedule tick has no message to give back: it stays a duplicate of the running one.
            guard work.scheduleTime == nil else {
                return .closed(
                    try await duplicate(
                        work, &record, detail: "task \(other.messageID) with key \(key) is running", log: log))
            }
            return .closed(try await waitForHolder(work, &record, holder: other, key: key, log: log))
        case .recentlySucceeded where work.bypassDedupWindow:
            // An operator's retry runs past the window once, without taking the key.
            log.info("dedup window bypassed for a requested retry", metadata: ["dedupKey": "\(key)"])
            return .open(key: nil)
        case .recentlySucceeded(let until):
            return .closed(
                try await duplicate(work, &record, detail: "key \(key) succeeded; window ends \(until)", log: log))
        }
    }

    /// Attempts until the task succeeds, fails for good (`.final(.failed)`), is interrupted, or
    /// must wait for a retry longer than ``Configuration/retryHoldLimit`` (``SlotEnd/retryLater(_:)``).
    private func runAttempts(
        _ work: TaskWork, _ record: inout TaskProgress, start: Start, dedupKey: String?, log: TaskLogger
    ) async throws -> SlotEnd {
        let rule = work.rule
        let backoff = Backoff(rule.retry)
        let deadline = rule.timeout.map { record.createdAt + $0.timeInterval }
        // A retry due soon (a longer wait gave the message back before the slot was taken); a
        // `waiting` record of attempt 0 waited for a dedup key, which it now holds.
        if record.state == .waiting, record.attempt > 0, let due = record.retryAt, due > Date() {
            guard await shutdown.sleep(for: .seconds(due.timeIntervalSinceNow)) else {
                return .outcome(.abandoned("shutting down while waiting for a retry"))
            }
        }
        var recordAttempt = start != .firstAttemptRecorded
        log.log(level: Self.level(rule.taskLog), "task started") {
            var fields: Logger.Metadata = [
                "attempt": "\(record.attempt + (recordAttempt ? 1 : 0))", "nextAction": "\(record.nextAction)",
            ]
            if let subscription = work.subscription { fields["subscription"] = "\(subscription)" }
            if let tick = work.scheduleTime { fields["tick"] = "\(MessageTemplateContext.rfc3339(tick))" }
            if start == .resumed { fields["resumed"] = "true" }
            return fields
        }
        var firstAttempt = true
        while true {
            if recordAttempt {
                record.attempt += 1
                record.state = .running
                record.retryAt = nil
                record.updatedAt = Date()
                try await keep(&record, transitionDetail: "attempt \(record.attempt)", log: log)
            }
            recordAttempt = true
            metrics.taskAttempt(rule: rule.name)
            if !firstAttempt {
                log.info(
                    "task attempt started",
                    metadata: ["attempt": "\(record.attempt)", "nextAction": "\(record.nextAction)"])
            }
            firstAttempt = false

            switch try await runActions(work, &record, deadline: deadline, log: log) {
            case .succeeded(let lastStep):
                record.state = .succeeded
                record.lastError = nil
                record.updatedAt = Date()
                let settle = dedupKey.map {
                    DedupSettlement.complete(rule: rule.name, key: $0, window: rule.dedup!.window)
                }
                try await keep(&record, transitionDetail: lastStep, dedup: settle, log: log)
                metrics.taskFinished(rule: rule.name, outcome: "succeeded")
                return .outcome(.final(.succeeded))
            case .interrupted(let reason):
                log.warning(
                    "task interrupted; it resumes when the message comes back", metadata: ["reason": "\(reason)"])
                return .outcome(.abandoned(reason))
            case .failed(let message, let retryable, let took):
                record.lastError = message
                let timedOut = deadline.map { Date() >= $0 } ?? false
                guard retryable, !timedOut, record.attempt < rule.retry.maxAttempts else {
                    if timedOut { record.lastError = "task timeout (\(rule.timeout!)) exceeded: \(message)" }
                    return .outcome(
                        try await fail(
                            work, &record, detail: Self.step(record.lastError ?? message, took: took), log: log))
                }
                var delay =
                    configuration.retryJitter
                    ? backoff.delay(afterFailures: record.attempt) : backoff.ceiling(afterFailures: record.attempt)
                if let deadline { delay = min(delay, .seconds(max(0, deadline.timeIntervalSinceNow))) }
                record.state = .waiting
                record.retryAt = Date() + delay.timeInterval
                record.updatedAt = Date()
                try await keep(&record, transitionDetail: Self.step(message, took: took), log: log)
                log.warning(
                    "action failed; retrying",
                    metadata: [
                        "attempt": "\(record.attempt)", "error": "\(message)",
                        "retryIn": "\(delay)",
                    ])
                if work.scheduleTime == nil && delay > configuration.retryHoldLimit {
                    return .retryLater(delay)
                }
                guard await shutdown.sleep(for: delay) else {
                    return .outcome(.abandoned("shutting down while waiting for a retry"))
                }
            }
        }
    }

    /// How one run of an action went: done, or the attempt ends with this result.
    private enum ActionRunResult {
        case done(took: Duration)
        case ended(AttemptResult)
    }

    private enum AttemptResult {
        /// With the detail of the last action's step ("action NAME succeeded in …"), nil when
        /// there was none left to run.
        case succeeded(lastStep: String?)
        /// The error, and how long the failed action ran (nil: it did not start).
        case failed(String, retryable: Bool, took: Duration? = nil)
        case interrupted(String)
    }

    /// A transition's detail for an action's end: the text, and how long the action ran.
    static func step(_ text: String, took: Duration?) -> String {
        guard let took else { return text }
        return "\(text) (\(took.wholeMilliseconds) ms)"
    }

    /// Runs the actions from `record.nextAction` on — an action with `forEach` once per item,
    /// from `record.nextItem` — saving progress (and the named steps' outputs) after each run
    /// that succeeds.
    private func runActions(_ work: TaskWork, _ record: inout TaskProgress, deadline: Date?, log: TaskLogger)
        async throws -> AttemptResult
    {
        let actions = work.rule.actions
        var lastStep: String?
        while record.nextAction < actions.count {
            let index = record.nextAction
            let action = actions[index]
            let name = action.displayName(index: index)
            var items: [ForEach.Item?] = [nil]
            if let forEach = action.forEach {
                do {
                    items = try forEach.items(steps: record.steps)
                } catch {
                    return .failed("action \(name): forEach: \(error.description)", retryable: false)
                }
            }
            while record.nextItem < items.count {
                let item = items[record.nextItem]
                let label = Self.label(action: name, item: item)
                let result = try await runAction(
                    action, index: index, name: label, item: item, work, &record, deadline: deadline)
                switch result {
                case .ended(let failed): return failed
                case .done(let took):
                    lastStep = Self.step("\(label) succeeded", took: took)
                    if record.nextItem + 1 < items.count {
                        record.nextItem += 1
                    } else {
                        record.nextItem = 0
                        record.nextAction = index + 1
                    }
                    if record.nextAction < actions.count {
                        record.updatedAt = Date()
                        try await keep(&record, transitionDetail: lastStep, log: log)
                    }
                    log.debug("action succeeded", metadata: ["action": "\(label)"])
                }
                if record.nextAction > index { break }
            }
            if record.nextAction == index {
                // A forEach that selected nothing: the action is done without a run.
                record.nextItem = 0
                record.nextAction = index + 1
            }
        }
        return .succeeded(lastStep: lastStep)
    }

    /// How the history names a run of an action: `action NAME`, or `action NAME item N (LABEL)`
    /// for an item of its `forEach` (`horae tasks show` finds each run's end by it).
    public static func label(action name: String, item: ForEach.Item?) -> String {
        item.map { "action \(name) item \($0.index + 1) (\(ActionPlan.label($0)))" } ?? "action \(name)"
    }

    /// One run of one action (for one item of its `forEach`); on success the record holds its
    /// output and, for a named action, its step output.
    private func runAction(
        _ action: Action, index: Int, name: String, item: ForEach.Item?, _ work: TaskWork,
        _ record: inout TaskProgress, deadline: Date?
    ) async throws -> ActionRunResult {
        var renderContext = context(work, attempt: record.attempt, steps: record.steps)
        if let item { renderContext.item = item.value }
        let options: [(key: String, value: RenderedValue)]
        do {
            options = try action.render(renderContext)
        } catch {
            return .ended(.failed("\(name): \(error)", retryable: false))
        }
        guard let plugin = plugins[action.plugin] else {
            return .ended(
                .failed(
                    "\(name): plugin `\(action.plugin.rawValue)` is not available in this daemon",
                    retryable: false))
        }
        var timeout = action.timeout
        if let deadline {
            let left = Duration.seconds(deadline.timeIntervalSinceNow)
            guard left > .zero else {
                return .ended(.failed("\(name): task timeout exceeded", retryable: false))
            }
            timeout = timeout.map { min($0, left) } ?? left
        }
        if timeout == nil {
            let limit = configuration.defaultActionTimeout
            timeout = plugin.ownDefaultTimeout.map { min($0, limit) } ?? limit
        }
        let invocation = ActionInvocation(
            ruleName: work.rule.name, actionIndex: index, actionName: action.displayName(index: index),
            options: .map(options), message: work.message, attempt: record.attempt,
            timeout: timeout, action: action)
        let started = ContinuousClock.now
        let outcome = await plugin.run(invocation)
        let took = ContinuousClock.now - started
        metrics.actionFinished(plugin: action.plugin.rawValue, duration: took)
        if Task.isCancelled {
            return .ended(.interrupted("cancelled during \(name)"))
        }
        switch outcome {
        case .success(let output, let step):
            record.output = output.map { truncate($0) }
            if let stepName = action.name, let step { record.steps[stepName] = step }
            return .done(took: took)
        case .retryable(let message):
            return .ended(.failed("\(name): \(message)", retryable: true, took: took))
        case .permanent(let message):
            return .ended(.failed("\(name): \(message)", retryable: false, took: took))
        }
    }

    /// The retry wait left of a message task found `waiting` for a retry, when it is longer than
    /// ``Configuration/retryHoldLimit``.
    private func longRetryWait(_ work: TaskWork, _ stored: TaskRecord) -> Duration? {
        guard work.scheduleTime == nil, stored.state == .waiting, stored.attempt > 0, let due = stored.retryAt
        else { return nil }
        let left = Duration.seconds(due.timeIntervalSinceNow)
        return left > configuration.retryHoldLimit ? left : nil
    }

    /// A retry due in `wait`, longer than ``Configuration/retryHoldLimit``: the message is given
    /// back for it (at most ``TaskOutcome/maxGiveBack``, then again), and the task resumes at its
    /// saved action and attempt when the message returns. Its dedup key stays held meanwhile: the
    /// lease is extended past the give-back.
    private func giveBackRetry(_ work: TaskWork, _ record: TaskProgress, wait: Duration, log: TaskLogger)
        async throws -> TaskOutcome
    {
        let after = min(wait, TaskOutcome.maxGiveBack)
        if let key = record.dedupKey {
            let held = try await store.renewDedup(
                rule: work.rule.name, key: key, owner: work.key,
                leaseUntil: Date() + (after + configuration.dedupLease).timeInterval)
            if !held {
                log.warning(
                    "dedup key no longer held by this task while it waits for a retry",
                    metadata: ["dedupKey": "\(key)"])
            }
        }
        log.info(
            "retry wait given back to Pub/Sub",
            metadata: ["attempt": "\(record.attempt)", "retryIn": "\(wait)", "givenBackFor": "\(after)"])
        return .givenBack(after: after, "retry due in \(wait)")
    }

    /// The dedup key is held by a task that runs or retries, so whether this message is a duplicate
    /// depends on that task's outcome: the message is given back and decided when it returns
    /// (duplicate if the holder succeeded, run if it failed and freed the key). Meanwhile the task
    /// is recorded `waiting` at attempt 0 with the reason, never final.
    private func waitForHolder(
        _ work: TaskWork, _ record: inout TaskProgress, holder: TaskKey, key: String, log: TaskLogger
    ) async throws -> TaskOutcome {
        let now = Date()
        let after = configuration.dedupWait.delay(afterWaiting: .seconds(now.timeIntervalSince(record.createdAt)))
        let detail = "dedup key \(key) is held by task \(holder.messageID), which runs or retries"
        record.state = .waiting
        record.retryAt = now + after.timeInterval
        record.updatedAt = now
        try await record.save(to: store, transitionDetail: detail)
        log.info(
            "waiting for the task holding the dedup key; message given back",
            metadata: ["detail": "\(detail)", "decidedIn": "\(after)"])
        return .givenBack(after: after, detail)
    }

    private func duplicate(_ work: TaskWork, _ record: inout TaskProgress, detail: String, log: TaskLogger) async throws
        -> TaskOutcome
    {
        record.state = .duplicate
        record.updatedAt = Date()
        try await record.save(to: store, transitionDetail: detail)
        metrics.taskFinished(rule: work.rule.name, outcome: "duplicate")
        if let subscription = work.subscription { metrics.messageDuplicate(subscription: subscription) }
        log.info("duplicate; not run", metadata: ["detail": "\(detail)"])
        return .final(.duplicate)
    }

    /// The task's progress is an index into the actions it started with; the rule was reloaded
    /// since with other actions, so resuming could skip or repeat one. It fails for good without
    /// running anything (then the dead-letter step, as for any failed task).
    private func refuseChangedActions(
        _ work: TaskWork, _ record: inout TaskProgress, startedWith started: String, now current: String,
        log: TaskLogger
    ) async throws -> TaskOutcome {
        let reached = record.nextAction
        record.lastError = """
            the rule's actions changed since the task started (fingerprint \(started) → \(current)); it had \
            reached action \(reached + 1) of those it started with and is not resumed
            """
        log.error(
            "the rule's actions changed since the task started; not resuming it",
            metadata: [
                "startedWith": "\(started)", "actionsNow": "\(current)", "nextAction": "\(reached)",
            ])
        let outcome = try await fail(work, &record, log: log)
        guard case .final(.failed) = outcome else { return outcome }
        return try await deadLetter(work, &record, log: log)
    }

    /// Failed for good: the dedup key is freed in the same transaction. Returns `.final(.failed)`;
    /// the caller runs the dead-letter step once it has given back the concurrency slot.
    private func fail(_ work: TaskWork, _ record: inout TaskProgress, detail: String? = nil, log: TaskLogger)
        async throws -> TaskOutcome
    {
        record.state = .failed
        record.updatedAt = Date()
        let settle = record.dedupKey.map { DedupSettlement.release(rule: work.rule.name, key: $0) }
        try await keep(&record, transitionDetail: detail ?? record.lastError, dedup: settle, log: log)
        metrics.taskFinished(rule: work.rule.name, outcome: "failed")
        log.error("task failed", metadata: ["attempts": "\(record.attempt)", "error": "\(record.lastError ?? "")"])
        return .final(.failed)
    }

    /// Publishes the original message with `horae.rule`, `horae.error`, `horae.attempts` to the
    /// rule's dead-letter topic, cut to Pub/Sub's limits (``DeadLetterMessage``), then records the
    /// task `dead-lettered`. Transient errors are retried with backoff until the publish works or
    /// the daemon stops; a refusal for good (400, 404, an invalid topic name) leaves the task
    /// `failed` with the reason, final. Without a dead-letter topic the task is given up the same way.
    private func deadLetter(_ work: TaskWork, _ record: inout TaskProgress, log: TaskLogger) async throws -> TaskOutcome
    {
        if let template = work.rule.retry.deadLetter {
            let topic: String
            do {
                topic = try template.render(context(work, attempt: record.attempt))
                try TemplatedName.checkTopic(topic, template: template, option: "retry.deadLetter")
            } catch {
                log.error("dead-letter topic cannot be rendered; giving the task up", metadata: ["error": "\(error)"])
                return try await deadLettered(work, &record, detail: "dead-letter topic: \(error)", log: log)
            }
            let dead = DeadLetterMessage(
                data: work.message.data, attributes: work.message.attributes, rule: work.rule.name,
                subscription: work.subscription, error: record.lastError ?? "unknown error", attempts: record.attempt)
            if let note = dead.note {
                log.warning(
                    "dead letter cut to Pub/Sub's limits", metadata: ["topic": "\(topic)", "dropped": "\(note)"])
            }
            var failures = 0
            while true {
                guard let publisher else {
                    log.error("no publisher to dead-letter with")
                    break
                }
                let published: Result<String, PubSubError> = await { () async -> Result<String, PubSubError> in
                    do throws(PubSubError) {
                        return .success(try await publisher.publish(topic: topic, message: dead.message))
                    } catch { return .failure(error) }
                }()
                switch published {
                case .success(let id):
                    log.warning(
                        "message dead-lettered", metadata: ["topic": "\(topic)", "deadLetterMessageId": "\(id)"])
                    return try await deadLettered(work, &record, detail: "published to \(topic) as \(id)", log: log)
                case .failure(let error) where Self.isRefusedForGood(error):
                    return try await deadLetterRefused(work, &record, topic: topic, error: error, log: log)
                case .failure(let error):
                    failures += 1
                    let delay = configuration.deadLetterBackoff.delay(
                        afterFailures: failures, floor: error.retryAfter ?? .zero)
                    log.error(
                        "dead-letter publish failed; retrying",
                        metadata: [
                            "topic": "\(topic)", "error": "\(error)",
                            "retryIn": "\(delay)",
                        ])
                    guard await shutdown.sleep(for: delay) else {
                        return .abandoned("shutting down before the dead-letter publish succeeded")
                    }
                }
            }
        }
        return try await deadLettered(work, &record, detail: "no dead-letter topic; given up", log: log)
    }

    /// A dead-letter publish that can never succeed as it is: the topic is missing (404), the
    /// request is refused (400), or the rendered topic is not a valid name.
    static func isRefusedForGood(_ error: PubSubError) -> Bool {
        switch error.code {
        case .invalidName, .invalidArgument: true
        case .http: error.status == 400 || error.status == 404
        case .transport, .invalidResponse, .credentials, .responseTooLarge: false
        }
    }

    /// The dead letter was refused for good: the task stays `failed`, with the reason, and is final.
    private func deadLetterRefused(
        _ work: TaskWork, _ record: inout TaskProgress, topic: String, error: PubSubError, log: TaskLogger
    ) async throws -> TaskOutcome {
        let reason = "dead letter refused: \(topic): \(error)"
        record.lastError = "\(reason); task error: \(record.lastError ?? "unknown error")"
        record.updatedAt = Date()
        try await keep(&record, transitionDetail: reason, log: log)
        metrics.deadLetterRefused(rule: work.rule.name)
        log.error(
            "dead-letter publish refused for good; the task stays failed and its message is acked",
            metadata: ["topic": "\(topic)", "error": "\(error)"])
        return .final(.failed)
    }

    private func deadLettered(_ work: TaskWork, _ record: inout TaskProgress, detail: String, log: TaskLogger)
        async throws -> TaskOutcome
    {
        record.state = .deadLettered
        record.updatedAt = Date()
        try await keep(&record, transitionDetail: detail, log: log)
        metrics.taskFinished(rule: work.rule.name, outcome: "dead_lettered")
        return .final(.deadLettered)
    }

    /// Renews the dedup claim every third of its lease until cancelled, or until another task
    /// has taken the key over.
    private func renewDedup(rule: String, key: String, owner: TaskKey, log: TaskLogger) async {
        let lease = configuration.dedupLease
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: lease / 3)
                let held = try await store.renewDedup(
                    rule: rule, key: key, owner: owner, leaseUntil: Date() + lease.timeInterval)
                if !held {
                    log.error(
                        "dedup key taken over by another task while this one runs", metadata: ["dedupKey": "\(key)"])
                    return
                }
            } catch is CancellationError {
                return
            } catch {
                log.warning("dedup lease renewal failed", metadata: ["error": "\(error)"])
            }
        }
    }

    /// What the task's templates see: the message (or tick), the captures, the task's `forEach`
    /// item and the outputs of its named steps so far.
    private func context(_ work: TaskWork, attempt: Int, steps: [String: StepOutput] = [:]) -> MessageTemplateContext {
        MessageTemplateContext(
            fields: MessageFields(work.message), captures: work.captures, ruleName: work.rule.name,
            attempt: attempt,
            scheduleTime: work.scheduleTime.map { tick in
                guard case .schedule(let schedule) = work.rule.trigger else {
                    return MessageTemplateContext.rfc3339(tick)
                }
                return schedule.timeText(of: tick)
            }, item: work.item?.value, steps: steps)
    }

    private func truncate(_ text: String) -> String {
        let utf8 = text.utf8
        guard utf8.count > configuration.maxOutputBytes else { return text }
        let tail = utf8.suffix(configuration.maxOutputBytes)
        return "…(\(utf8.count - tail.count) bytes truncated)\n" + String(decoding: tail, as: UTF8.self)
    }
}
