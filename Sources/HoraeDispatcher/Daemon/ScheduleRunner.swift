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
                    logger.notice(
                        "resuming an unfinished schedule task",
                        metadata: ["rule": "\(rule.name)", "state": "\(record.state.rawValue)"])
                    group.addTask { _ = await self.runner.run(work) }
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
        do {
            guard try await store.claimTick(rule: rule.name, tick: tick) else {
                logger.debug("schedule tick already claimed", metadata: ["rule": "\(rule.name)"])
                return
            }
        } catch {
            logger.error("cannot claim schedule tick", metadata: ["rule": "\(rule.name)", "error": "\(error)"])
            return
        }
        metrics.scheduleTick(rule: rule.name)
        // One task, or one per item of the rule's `forEach`, side by side.
        await withDiscardingTaskGroup { group in
            for work in works(rule, tick: tick) {
                group.addTask {
                    var outcome = await self.runner.run(work)
                    // A schedule task has no message to come back: one that could not start because the
                    // state store was unavailable (given back) runs again here once the wait is over.
                    while case .givenBack(let after, _) = outcome, await self.shutdown.sleep(for: after) {
                        outcome = await self.runner.run(work)
                    }
                }
            }
        }
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
