import HoraeRules
import Logging

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Runs `on.schedule` rules at their cron ticks (docs/daemon.md, "Schedules"). Each tick is claimed in the
/// store first, so with several daemons sharing a store it runs once; a tick missed while the
/// daemon was down runs once at start when the rule says `catchUp: true`, and is skipped otherwise.
public final class ScheduleRunner: Sendable {
    private let rules: ActiveRules
    private let store: any StateStore
    private let runner: TaskRunner
    private let shutdown: ShutdownSignal
    private let metrics: any DispatcherMetrics
    private let logger: Logger
    /// How long tick tasks still running may finish after the shutdown begins.
    private let shutdownGrace: Duration
    /// This daemon, as the owner of the run leases of the schedule tasks it runs.
    private let instance = TaskKey(messageID: "daemon:\(UUID().uuidString)", rule: "horae.schedule")

    public init(
        rules: ActiveRules, store: any StateStore, runner: TaskRunner, shutdown: ShutdownSignal,
        metrics: any DispatcherMetrics, logger: Logger, shutdownGrace: Duration = .seconds(30)
    ) {
        self.rules = rules
        self.store = store
        self.runner = runner
        self.shutdown = shutdown
        self.metrics = metrics
        self.logger = logger
        self.shutdownGrace = shutdownGrace
    }

    /// Runs until the shutdown signal; then waits up to `shutdownGrace` for the tick tasks in
    /// flight and cancels those still running (their tasks resume at the next start).
    public func run(now start: Date = Date()) async {
        await withTaskGroup(of: Void.self) { outer in
            outer.addTask { await self.runTicks(now: start) }
            outer.addTask {
                await self.shutdown.wait()
                guard (try? await Task.sleep(for: self.shutdownGrace)) != nil else { return }
                self.logger.warning(
                    "grace period over: cancelling the schedule tasks still running; they resume at the next start")
            }
            // Either the ticks are done, or the grace is over: cancel the other one.
            await outer.next()
            outer.cancelAll()
        }
    }

    private func runTicks(now start: Date) async {
        var scheduledFrom: [String: Date] = [:]
        await withDiscardingTaskGroup { group in
            // Schedule tasks interrupted by a stop or a crash have no message to bring them back: resume them.
            if let unfinished = try? await store.tasks(in: [.pending, .running, .waiting, .failed]) {
                let byName = Dictionary(scheduleRules().map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
                for record in unfinished {
                    guard let rule = byName[record.key.rule],
                        let work = works(rule, ofMessageID: record.key.messageID).first(where: { $0.key == record.key })
                    else { continue }
                    group.addTask { await self.resume(work, state: record.state) }
                }
            }
            // Catch up ticks missed while the daemon was down.
            for rule in scheduleRules() {
                guard case .schedule(let schedule) = rule.trigger, schedule.catchUp else { continue }
                guard let last = try? await store.lastTick(rule: rule.name) else { continue }
                let zone = schedule.timeZone
                if let missed = schedule.cron.ticks(after: last, through: start, in: zone, limit: 100_000).last {
                    logger.notice(
                        "running a schedule tick missed while the daemon was down",
                        metadata: ["rule": "\(rule.name)", "tick": "\(MessageTemplateContext.rfc3339(missed))"])
                    group.addTask { await self.fire(rule, tick: missed) }
                }
            }
            while !shutdown.isStopping && !Task.isCancelled {
                let now = Date()
                var nextWake = now + 60  // picks up reloaded rules at least every minute
                for rule in scheduleRules() {
                    guard case .schedule(let schedule) = rule.trigger else { continue }
                    let zone = schedule.timeZone
                    let from = scheduledFrom[rule.name] ?? start
                    guard let next = schedule.cron.nextTick(after: from, in: zone) else { continue }
                    if next <= now {
                        scheduledFrom[rule.name] = next
                        group.addTask { await self.fire(rule, tick: next) }
                        nextWake = now
                    } else {
                        nextWake = min(nextWake, next)
                    }
                }
                let wait = nextWake.timeIntervalSince(Date())
                if wait > 0 { _ = await shutdown.sleep(for: .milliseconds(Int64(wait * 1000) + 1)) }
            }
        }
    }

    private func scheduleRules() -> [Rule] {
        rules.ruleSet.rules.filter(\.isSchedule)
    }

    private func fire(_ rule: Rule, tick: Date) async {
        guard await claim(rule, tick: tick) else { return }
        metrics.scheduleTick(rule: rule.name)
        // One task, or one per item of the rule's `forEach`, side by side.
        await withDiscardingTaskGroup { group in
            for work in works(rule, tick: tick) {
                group.addTask {
                    guard var outcome = await self.runLeased(work) else { return }
                    // A schedule task has no message to come back: one that could not start because the
                    // state store was unavailable (given back) runs again here once the wait is over.
                    while case .givenBack(let after, _) = outcome, await self.shutdown.sleep(for: after) {
                        guard let again = await self.runLeased(work) else { return }
                        outcome = again
                    }
                }
            }
        }
    }

    /// Claims `tick` of `rule` in the store; false when another daemon has it, or when it cannot
    /// be claimed. While the store is unavailable (a PostgreSQL server out of reach) the claim is
    /// tried again, with a growing wait, so that a tick due during an outage runs late instead of
    /// being lost — until the rule's next tick is due: that one supersedes it (it is skipped, as
    /// a tick missed while the daemon was down is without `catchUp`), so an outage leaves at most
    /// one late tick per rule.
    private func claim(_ rule: Rule, tick: Date) async -> Bool {
        var failures = 0
        while true {
            do {
                guard try await store.claimTick(rule: rule.name, tick: tick) else {
                    logger.debug("schedule tick already claimed", metadata: ["rule": "\(rule.name)"])
                    return false
                }
                if failures > 0 {
                    logger.notice(
                        "schedule tick claimed once the state store was back; it runs late",
                        metadata: ["rule": "\(rule.name)", "tick": "\(MessageTemplateContext.rfc3339(tick))"])
                }
                return true
            } catch let error as StateStoreError where error.code == .unavailable && !shutdown.isStopping {
                failures += 1
                let tickText = MessageTemplateContext.rfc3339(tick)
                if case .schedule(let schedule) = rule.trigger,
                    let next = schedule.cron.nextTick(after: tick, in: schedule.timeZone), next <= Date()
                {
                    logger.warning(
                        "schedule tick skipped: the state store was unavailable until the next tick was due",
                        metadata: ["rule": "\(rule.name)", "tick": "\(tickText)", "error": "\(error)"])
                    return false
                }
                if failures == 1 {
                    logger.warning(
                        "state store unavailable; the schedule tick waits until it can be claimed",
                        metadata: ["rule": "\(rule.name)", "tick": "\(tickText)", "error": "\(error)"])
                }
                guard await shutdown.sleep(for: Self.claimRetry.delay(afterFailures: failures)) else { return false }
            } catch {
                logger.error("cannot claim schedule tick", metadata: ["rule": "\(rule.name)", "error": "\(error)"])
                return false
            }
        }
    }

    /// The wait between two tries of claiming a tick while the store is unavailable.
    static let claimRetry = Backoff(initial: .milliseconds(500), maximum: .seconds(5), multiplier: 2)

    /// Resumes a schedule task found unfinished at start, once its run lease is free: at once
    /// when its daemon is gone and the lease has run out, or — while another daemon of the fleet
    /// still runs it — never, unless that daemon dies first.
    private func resume(_ work: TaskWork, state: TaskState) async {
        while !shutdown.isStopping {
            if let outcome = await runLeased(work, resuming: state) {
                if case .givenBack(let after, _) = outcome, await shutdown.sleep(for: after) { continue }
                return
            }
            // Held by a live daemon: look again once its lease could have run out.
            guard await shutdown.sleep(for: Self.runLease / 3) else { return }
            if let stored = try? await store.task(work.key), stored.state.isFinal { return }
        }
    }

    /// How long a schedule task's run lease lasts without renewal (renewed every third of it).
    static let runLease: Duration = .seconds(60)

    /// Runs a schedule task while holding its run lease in the store, so that no other daemon
    /// of a fleet runs it meanwhile (a daemon that starts resumes the unfinished schedule tasks
    /// it finds: without the lease it would also run one that another daemon is running). Nil
    /// when another daemon holds the lease; the lease is renewed while the task runs and freed
    /// when it returns.
    func runLeased(_ work: TaskWork, resuming state: TaskState? = nil) async -> TaskOutcome? {
        let key = "horae:run:" + work.key.messageID
        let rule = work.rule.name
        do {
            let now = Date()
            let claim = try await store.claimDedup(
                rule: rule, key: key, owner: instance, now: now, leaseUntil: now + Self.runLease.timeInterval)
            guard claim == .acquired else { return nil }
        } catch {
            logger.warning(
                "cannot take the run lease of a schedule task; it is tried again later",
                metadata: ["rule": "\(rule)", "error": "\(error)"])
            return .givenBack(after: .seconds(10), "run lease: \(error)")
        }
        if let state {
            logger.notice(
                "resuming an unfinished schedule task", metadata: ["rule": "\(rule)", "state": "\(state.rawValue)"])
        }
        let outcome = await withTaskGroup(of: TaskOutcome?.self) { group in
            group.addTask {
                while (try? await Task.sleep(for: Self.runLease / 3)) != nil {
                    let until = Date() + Self.runLease.timeInterval
                    _ = try? await self.store.renewDedup(rule: rule, key: key, owner: self.instance, leaseUntil: until)
                }
                return nil
            }
            let outcome = await runner.run(work)
            group.cancelAll()
            return outcome
        }
        try? await store.releaseDedup(rule: rule, key: key, owner: instance)
        return outcome
    }

    /// The tick of a schedule task's message id (``Schedule/message(forTick:)``, with a `forEach`
    /// item's part when it has one), nil for another id.
    public static func tick(ofMessageID id: String) -> Date? {
        let base = TaskItemKey.split(id)?.messageID ?? id
        guard base.hasPrefix("schedule:"), let millis = Int64(base.dropFirst("schedule:".count)) else { return nil }
        return Date(timeIntervalSince1970: Double(millis) / 1000)
    }

    /// The tasks of one tick: a synthetic message `schedule:<tick in ms>`, stable across restarts,
    /// for the rule (or for each of its `forEach` items).
    func works(_ rule: Rule, tick: Date) -> [TaskWork] {
        TaskWork.expanded(
            rule: rule, message: Schedule.message(forTick: tick), captures: CaptureSet(), subscription: nil,
            scheduleTime: tick)
    }

    /// The tasks of the tick a task's message id names (empty for another id).
    func works(_ rule: Rule, ofMessageID id: String) -> [TaskWork] {
        guard let tick = Self.tick(ofMessageID: id) else { return [] }
        return works(rule, tick: tick)
    }

}
