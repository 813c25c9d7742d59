import HoraeRules
import Logging
import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Runs the store's inbox (``InboxEntry``: operators' retries, redrives and backfills) through
/// the rules as the pull loops run Pub/Sub messages (docs/operations.md): it claims entries of
/// the daemon's subscriptions (and schedule retries) under a lease, renews the lease while their
/// tasks run, and settles each as a message is settled — deleted when its tasks are final, made
/// available again after a wait or at once when a task did not finish. A daemon that dies holding
/// entries leaves them to come back when their leases end, to it or to another daemon.
public final class InboxDispatcher: Sendable {
    public struct Configuration: Sendable {
        /// How often an idle daemon looks for entries.
        public var pollInterval: Duration = .seconds(1)
        /// How long a claim lasts without renewal (renewed every third of it).
        public var lease: Duration = .seconds(60)
        /// Entries run at once; the next are claimed as these finish.
        public var concurrency = 16
        /// Wait before an entry whose task did not finish (or whose rule is not loaded here) is tried again.
        public var retryDelay: Duration = .seconds(10)
        public init() {}
    }

    private let store: any StateStore
    private let dispatcher: Dispatcher
    private let scheduler: ScheduleRunner
    private let rules: ActiveRules
    private let subscriptions: Set<String>
    private let shutdown: ShutdownSignal
    private let logger: Logger
    private let configuration: Configuration

    public init(
        store: any StateStore, dispatcher: Dispatcher, scheduler: ScheduleRunner, rules: ActiveRules,
        subscriptions: Set<String>, shutdown: ShutdownSignal, logger: Logger, configuration: Configuration = .init()
    ) {
        self.store = store
        self.dispatcher = dispatcher
        self.scheduler = scheduler
        self.rules = rules
        self.subscriptions = subscriptions
        self.shutdown = shutdown
        self.logger = logger
        self.configuration = configuration
    }

    /// Claims and runs entries until the shutdown signal; entries still running then are left
    /// to the tasks' own shutdown (their leases bring them back if they do not finish).
    public func run() async {
        let running = RunningCount()
        var failures = 0
        await withDiscardingTaskGroup { group in
            while !shutdown.isStopping && !Task.isCancelled {
                let room = configuration.concurrency - running.value
                var claimed: [InboxEntry] = []
                if room > 0 {
                    let now = Date()
                    do {
                        claimed = try await store.claimInbox(
                            subscriptions: subscriptions, limit: room, now: now,
                            leaseUntil: now + configuration.lease.timeInterval)
                        failures = 0
                    } catch {
                        failures += 1
                        if failures == 1 || failures % 60 == 0 {
                            logger.warning("cannot read the inbox", metadata: ["error": "\(error)"])
                        }
                    }
                }
                for entry in claimed {
                    running.add(1)
                    group.addTask {
                        await self.handle(entry)
                        running.add(-1)
                    }
                }
                if claimed.isEmpty || claimed.count == room {
                    // Idle, or full: look again after a while (a finishing entry frees room).
                    _ = await shutdown.sleep(for: configuration.pollInterval)
                }
            }
        }
    }

    /// Runs one entry's tasks under its lease, then settles it.
    private func handle(_ entry: InboxEntry) async {
        var entryLogger = logger
        entryLogger[metadataKey: "inbox"] = "\(entry.kind.rawValue) \(entry.id)"
        entryLogger[metadataKey: "messageId"] = "\(entry.message.id)"
        if let rule = entry.rule { entryLogger[metadataKey: "rule"] = "\(rule)" }
        let log = entryLogger
        log.info("inbox entry claimed", metadata: ["claims": "\(entry.claims)"])
        let disposition = await withTaskGroup(of: MessageDisposition?.self) { group in
            group.addTask { await self.renewLease(entry.id, log: log) }
            let disposition = await run(entry, log: log)
            group.cancelAll()
            return disposition
        }
        let availableAt: Date?
        switch disposition {
        case .ack: availableAt = nil
        case .nack: availableAt = Date() + configuration.retryDelay.timeInterval
        case .giveBack(let seconds): availableAt = Date() + Double(seconds)
        }
        do {
            try await store.settleInbox(entry.id, availableAt: availableAt)
            log.info(
                availableAt == nil ? "inbox entry done" : "inbox entry given back",
                metadata: availableAt.map { ["availableAt": "\(MessageTemplateContext.rfc3339($0))"] } ?? [:])
        } catch {
            log.warning(
                "cannot settle the inbox entry; it comes back when its lease ends", metadata: ["error": "\(error)"])
        }
    }

    /// The entry's tasks: a schedule task's retry runs its tick again; any other entry goes
    /// through the rules of its subscription (only its rule, when it names one).
    private func run(_ entry: InboxEntry, log: Logger) async -> MessageDisposition {
        var message = entry.message
        message.subscription = entry.subscription
        if entry.subscription == nil {
            guard let name = entry.rule,
                let rule = rules.ruleSet.rules.first(where: { $0.name == name && $0.isSchedule }),
                case let works = scheduler.works(rule, ofMessageID: message.id), !works.isEmpty
            else {
                log.warning("the schedule rule of this retry is not loaded here; it is tried again later")
                return .nack
            }
            var outcomes: [TaskOutcome] = []
            for var work in works {
                work.bypassDedupWindow = entry.kind == .retry
                // Under the task's run lease, as the scheduler runs it: another daemon running it
                // now (resumed at its start) means this entry waits.
                guard let outcome = await scheduler.runLeased(work) else { return .nack }
                outcomes.append(outcome)
            }
            return MessageDisposition(outcomes: outcomes)
        }
        if var disposition = await dispatcher.runTasks(
            for: message, onlyRule: entry.rule, bypassDedupWindow: entry.kind == .retry)
        {
            // The retry of another `forEach` item of this message, requested while these ran,
            // found the entry queued: its task is pending and runs now, before the entry goes.
            if entry.kind == .retry, disposition == .ack, let rule = entry.rule,
                await hasPendingItem(of: message.id, rule: rule, log: log),
                let again = await dispatcher.runTasks(for: message, onlyRule: rule, bypassDedupWindow: true)
            {
                disposition = again
            }
            return disposition
        }
        guard let name = entry.rule else {
            log.info("inbox message matched no rule of its subscription")
            return .ack
        }
        guard rules.ruleSet.rules.contains(where: { $0.name == name }) else {
            log.warning("the rule of this inbox entry is not loaded here; it is tried again later")
            return .nack
        }
        // The rule is loaded but no longer matches the message: the request cannot run.
        log.error("the rule no longer matches the message of this inbox entry; it is dropped")
        if entry.kind == .retry { await failRetry(of: message.id, rule: name, log: log) }
        return .ack
    }

    /// Whether a `forEach` item task of `messageID` for `rule` is `pending`.
    private func hasPendingItem(of messageID: String, rule: String, log: Logger) async -> Bool {
        do {
            return try await pendingTasks(of: messageID, rule: rule).contains { $0.key.messageID != messageID }
        } catch {
            log.warning("cannot look for retried items", metadata: ["error": "\(error)"])
            return false
        }
    }

    /// The `pending` tasks of `messageID` for `rule`: its own, or each `forEach` item's.
    private func pendingTasks(of messageID: String, rule: String) async throws -> [TaskRecord] {
        try await store.tasks(matching: TaskQuery(states: [.pending], rule: rule, limit: 1000)).filter {
            $0.key.messageID == messageID || TaskItemKey.split($0.key.messageID)?.messageID == messageID
        }
    }

    /// The retried tasks (of `messageID` for `rule`, each `forEach` item's) whose rule no longer
    /// matches their message end `failed` again, saying so, rather than staying `pending`.
    private func failRetry(of messageID: String, rule: String, log: Logger) async {
        do {
            for var record in try await pendingTasks(of: messageID, rule: rule) {
                record.state = .failed
                record.lastError = "retry not run: the rule no longer matches the task's message"
                record.updatedAt = Date()
                try await store.save(record, transitionDetail: record.lastError)
            }
        } catch {
            log.warning("cannot record the retry's failure", metadata: ["error": "\(error)"])
        }
    }

    /// Renews the entry's lease every third of it until cancelled. Returns nil (for the group).
    private func renewLease(_ id: Int64, log: Logger) async -> MessageDisposition? {
        let lease = configuration.lease
        while !Task.isCancelled {
            guard (try? await Task.sleep(for: lease / 3)) != nil else { return nil }
            do {
                try await store.settleInbox(id, availableAt: Date() + lease.timeInterval)
            } catch {
                log.warning("inbox lease renewal failed", metadata: ["error": "\(error)"])
            }
        }
        return nil
    }
}

/// The number of inbox entries running, shared by the claim loop and the entries' tasks.
private final class RunningCount: Sendable {
    private let count = Mutex(0)
    var value: Int { count.withLock { $0 } }
    func add(_ delta: Int) { count.withLock { $0 += delta } }
}
