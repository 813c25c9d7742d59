import HoraeRules
import Logging
import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The message path of docs/daemon.md, "Message path": pull under flow control, lease, match, run one task per
/// matching rule, then ack (every task final), give back with a delay (a task waits) or nack (a
/// task did not finish).
///
/// While the state store is unavailable (a PostgreSQL server out of reach), pulling pauses — a
/// task cannot start without its record and dedup claim, and a message pulled only to be given
/// back would spend one of its delivery attempts — and resumes once the store answers again.
/// Messages already held stay held: their tasks save their progress when the store is back.
///
/// ``run()`` returns after a graceful shutdown (``ShutdownSignal/stop()``): pulling stops at once,
/// tasks that have not started give their messages back, running tasks get `shutdownGrace` and
/// are then cancelled (their `exec` children killed), and every pending ack is flushed.
public final class Dispatcher: Sendable {
    public struct Configuration: Sendable {
        public var unmatched: DaemonConfig.UnmatchedPolicy = .ack
        public var shutdownGrace: Duration = .seconds(30)
        /// Backoff after a failed pull (429/5xx/transport), capped; `Retry-After` raises the floor.
        public var pullBackoff = Backoff(initial: .milliseconds(250), maximum: .seconds(30), multiplier: 2)
        /// Backoff after a pull refused for good (400/401/403/404): retried slowly.
        public var refusedPullDelay: Duration = .seconds(30)
        /// Pause after an empty pull that came back at once (the emulator does not hold pulls), growing to the cap.
        public var emptyPullPause: (initial: Duration, maximum: Duration) = (.milliseconds(20), .milliseconds(500))
        /// A pull still in flight after this long, without an answer or a transport error, makes its
        /// subscription ready: the server holds it (an empty subscription). Longer than the HTTP
        /// client's connect timeout (10 s), so such a pull has connected.
        public var heldPullIsReadyAfter: Duration = .seconds(11)
        /// After a pull response over the HTTP client's size cap, a pull loop asks for half as many
        /// messages (down to 1); after this many successful pulls it doubles again, up to the
        /// subscription's `maxMessagesPerPull`.
        public var pullSizeRecovery = 8
        /// While the state store is unavailable, pulling pauses: each pull loop asks the store
        /// again after this long.
        public var storeUnavailablePause: Duration = .seconds(1)
        public init() {}
    }

    public let subscriptions: [SubscriptionRuntime]
    public let rules: ActiveRules
    public let flow: FlowController
    public let runner: TaskRunner
    public let shutdown: ShutdownSignal
    /// Admin calls (the readiness check of a subscription).
    private let client: PubSubClient
    /// Where messages come from: ``client`` itself (REST pulls) or a streaming transport.
    private let source: any MessageSource
    private let limiter: RuleConcurrencyLimiter
    private let metrics: any DispatcherMetrics
    private let logger: Logger
    private let configuration: Configuration

    public init(
        client: PubSubClient, source: (any MessageSource)? = nil, subscriptions: [SubscriptionRuntime],
        rules: ActiveRules, flow: FlowController, runner: TaskRunner, limiter: RuleConcurrencyLimiter,
        shutdown: ShutdownSignal, metrics: any DispatcherMetrics, logger: Logger, configuration: Configuration
    ) {
        self.client = client
        self.source = source ?? client
        self.subscriptions = subscriptions
        self.rules = rules
        self.flow = flow
        self.runner = runner
        self.limiter = limiter
        self.shutdown = shutdown
        self.metrics = metrics
        self.logger = logger
        self.configuration = configuration
    }

    /// Pulls and dispatches until the shutdown signal, then shuts down gracefully.
    ///
    /// Everything it starts is a child task of this call: the ack queues, the lease extenders,
    /// the pull loops with their handler tasks, and the grace timer. Cancelling the task that
    /// runs it stops all of them at once (tasks are interrupted where they are and resume when
    /// their messages come back) without waiting for the grace period.
    public func run() async {
        await withDiscardingTaskGroup { transport in
            transport.addTask { await self.source.run() }
            await withDiscardingTaskGroup { acks in
                for s in subscriptions {
                    acks.addTask { await s.acks.run() }
                }
                await withDiscardingTaskGroup { leases in
                    for s in subscriptions { leases.addTask { await s.leases.run() } }
                    await pullAndDispatchUntilStopped()
                    // No message is held any more: stop extending leases.
                    leases.cancelAll()
                }
                for s in subscriptions { s.acks.close() }
            }
            // Every ack is flushed: the transport's streams may close.
            transport.cancelAll()
        }
        logger.notice("dispatcher stopped; every pending ack was flushed")
    }

    /// What ``run()`` does between the start and the flush of the last acks: the pull loops, and,
    /// once the shutdown begins, the grace period, after which whatever still runs is cancelled.
    private func pullAndDispatchUntilStopped() async {
        await withTaskGroup(of: RunEnd.self) { group in
            group.addTask {
                await withDiscardingTaskGroup { pulls in
                    for s in self.subscriptions {
                        for slot in 0..<max(1, s.config.concurrentPulls) {
                            pulls.addTask { await self.pullLoop(s, slot: slot) }
                        }
                    }
                }
                return .work
            }
            group.addTask { await self.graceAfterShutdown() }
            // Work done first: the grace timer is not needed. Grace over first: cancel the work.
            // Either way the other child is cancelled, and the group waits for it.
            _ = await group.next()
            group.cancelAll()
        }
    }

    /// Which child of ``pullAndDispatchUntilStopped()`` ended first.
    private enum RunEnd { case work, graceOver, cancelled }

    /// Waits for the shutdown to begin, stops new tasks, then waits `shutdownGrace`.
    private func graceAfterShutdown() async -> RunEnd {
        await shutdown.wait()
        guard !Task.isCancelled else { return .cancelled }
        logger.notice(
            "shutting down: pulling stopped, running tasks get the grace period",
            metadata: ["running": "\(runner.runningCount)", "grace": "\(configuration.shutdownGrace)"])
        // The streams close before anything is given back, so nothing given back is redelivered
        // to this process.
        await giveBackWhatTheSourceHolds()
        limiter.close()
        flow.wakeAll()
        guard (try? await Task.sleep(for: configuration.shutdownGrace)) != nil else { return .cancelled }
        logger.warning(
            "grace period over: cancelling the tasks still running; their messages come back",
            metadata: ["running": "\(runner.runningCount)"])
        return .graceOver
    }

    /// Nacks what the source received and did not hand out (``MessageSource/stopReceiving()``).
    private func giveBackWhatTheSourceHolds() async {
        for (name, messages) in await source.stopReceiving() {
            guard let s = subscriptions.first(where: { $0.name == name }) else { continue }
            // Never reserved in the flow budget nor leased: only the nack to send.
            s.acks.enqueue(.modAck(seconds: 0), messages.map(\.ackID), superseding: true)
            for _ in messages { metrics.messageNacked(subscription: s.logicalName) }
        }
    }

    // MARK: - Pulling

    private func pullLoop(_ s: SubscriptionRuntime, slot: Int) async {
        var log = logger
        log[metadataKey: "subscription"] = "\(s.logicalName)"
        var failures = 0
        var emptyPause = configuration.emptyPullPause.initial
        // What a pull asks for: `maxMessagesPerPull`, less after a response over the size cap.
        let fullSize = max(1, s.config.maxMessagesPerPull)
        var pullSize = fullSize
        var pullsSinceShrink = 0
        var unreceivable = 0
        if slot == 0 { await checkSubscription(s, log: log) }
        let pool = HandlerPool(maxIdle: max(1, s.config.maxMessagesPerPull))
        await withDiscardingTaskGroup { handlers in
            // Waiting handlers end with the loop; busy ones when their message is done.
            defer { pool.close() }
            while !shutdown.isStopping && !Task.isCancelled {
                guard await storeIsAvailable(log: log) else { continue }
                // Room in the global budget, then in the subscription's own.
                guard let granted = try? await flow.reserve(upTo: pullSize) else { break }
                var asked = granted
                if let own = s.flow {
                    guard let ownGranted = try? await own.reserve(upTo: granted) else {
                        flow.commit(reserved: granted, received: 0, bytes: 0)
                        break
                    }
                    flow.commit(reserved: granted - ownGranted, received: 0, bytes: 0)
                    asked = ownGranted
                }
                if shutdown.isStopping {
                    release(s, reserved: asked, received: [])
                    break
                }
                let started = ContinuousClock.now
                let result = await pullUnlessStopping(s, maxMessages: asked)
                switch result {
                case .success(let messages):
                    release(s, reserved: asked, received: messages)
                    if failures > 0 {
                        log.notice("pulling works again", metadata: ["afterFailures": "\(failures)"])
                    }
                    failures = 0
                    unreceivable = 0
                    s.markHealthy()
                    if pullSize < fullSize {
                        pullsSinceShrink += 1
                        if pullsSinceShrink >= configuration.pullSizeRecovery {
                            pullSize = min(fullSize, pullSize * 2)
                            pullsSinceShrink = 0
                        }
                    }
                    if messages.isEmpty {
                        if ContinuousClock.now - started < .seconds(1) {
                            _ = await shutdown.sleep(for: emptyPause)
                            emptyPause = min(emptyPause * 2, configuration.emptyPullPause.maximum)
                        }
                        continue
                    }
                    emptyPause = configuration.emptyPullPause.initial
                    let bytes = messages.reduce(0) { $0 + $1.size }
                    metrics.messagesPulled(subscription: s.logicalName, count: messages.count, bytes: bytes)
                    metrics.outstandingChanged(messages: flow.outstandingMessages, bytes: flow.outstandingBytes)
                    s.leases.received(messages.map { (ackID: $0.ackID, messageID: $0.message.id) })
                    if shutdown.isStopping {
                        // Pulled while stopping: give them straight back.
                        for m in messages { settle(m, in: s, .nack) }
                        break
                    }
                    for m in messages where !pool.handOff(m) {
                        handlers.addTask { await self.handleMessages(first: m, in: s, pool: pool) }
                    }
                case .stopped:
                    release(s, reserved: asked, received: [])
                case .failure(let error) where error.code == .responseTooLarge:
                    release(s, reserved: asked, received: [])
                    metrics.pullTooLarge(subscription: s.logicalName, maxMessages: asked)
                    pullsSinceShrink = 0
                    if asked > 1 {
                        pullSize = max(1, min(pullSize, asked) / 2)
                        log.warning(
                            "pull response over the size cap; asking for fewer messages",
                            metadata: ["error": "\(error)", "maxMessages": "\(pullSize)"])
                    } else {
                        // Even one message does not fit: it stays in the subscription (its own
                        // dead-letter policy may take it); the others keep coming, one per pull.
                        unreceivable += 1
                        let delay = configuration.pullBackoff.delay(afterFailures: unreceivable)
                        log.error(
                            "a message on \(s.name) is larger than the response size cap and cannot be received",
                            metadata: ["error": "\(error)", "retryIn": "\(delay)"])
                        _ = await shutdown.sleep(for: delay)
                    }
                case .failure(let error):
                    release(s, reserved: asked, received: [])
                    failures += 1
                    metrics.pullFailed(
                        subscription: s.logicalName, status: error.status.map(String.init) ?? "transport")
                    let delay: Duration
                    if error.isRetryable {
                        delay = configuration.pullBackoff.delay(
                            afterFailures: failures, floor: error.retryAfter ?? .zero)
                        s.markUnhealthy("pull failed: \(error)")
                        if failures == 1 || failures % 10 == 0 {
                            log.warning(
                                "pull failed; backing off",
                                metadata: [
                                    "error": "\(error)", "failures": "\(failures)",
                                    "retryIn": "\(delay)",
                                ])
                        }
                    } else {
                        delay = max(configuration.refusedPullDelay, error.retryAfter ?? .zero)
                        let reason = Self.explainRefusal(error, subscription: s.name)
                        s.markUnhealthy(reason)
                        log.error("\(reason)", metadata: ["error": "\(error)", "retryIn": "\(delay)"])
                    }
                    _ = await shutdown.sleep(for: delay)
                }
            }
        }
    }

    /// True when the state store can be used; otherwise waits ``Configuration/storeUnavailablePause``,
    /// asks the store again, and returns whether it answered (the caller's loop comes back here).
    /// Each pull loop logs the pause and its end.
    private func storeIsAvailable(log: Logger) async -> Bool {
        guard let problem = runner.storeProblem else { return true }
        log.warning("pulling paused while the state store is unavailable", metadata: ["problem": "\(problem)"])
        while !shutdown.isStopping && !Task.isCancelled {
            guard await shutdown.sleep(for: configuration.storeUnavailablePause) else { return false }
            await runner.checkStore()
            if runner.storeProblem == nil {
                log.notice("pulling resumed: the state store is available again")
                return true
            }
        }
        return false
    }

    /// Readiness before the first pull returns (a pull may be held by the server for a long time
    /// when the subscription is empty): the subscription exists and we may read it. A 403 proves
    /// nothing: `roles/pubsub.subscriber` may pull but not get the subscription; the pull decides.
    private func checkSubscription(_ s: SubscriptionRuntime, log: Logger) async {
        do throws(PubSubError) {
            guard try await client.getSubscription(s.name) != nil else {
                let reason = Self.explainRefusal(PubSubError(.http, "not found", status: 404), subscription: s.name)
                s.markUnhealthy(reason)
                log.error("\(reason)")
                return
            }
            if s.health == SubscriptionRuntime.notYetPulled { s.markHealthy() }
        } catch {
            guard !error.isRetryable, error.status != 403 else { return }
            let reason = Self.explainRefusal(error, subscription: s.name)
            s.markUnhealthy(reason)
            log.error("\(reason)", metadata: ["error": "\(error)"])
        }
    }

    private enum PullResult {
        case success([ReceivedMessage])
        case failure(PubSubError)
        case stopped
    }

    /// One pull, abandoned (cancelled in flight) when the shutdown begins. While the subscription
    /// is not ready, a pull held by the server for ``Configuration/heldPullIsReadyAfter`` makes it so.
    private func pullUnlessStopping(_ s: SubscriptionRuntime, maxMessages: Int) async -> PullResult {
        await withTaskGroup(of: PullResult?.self) { group in
            group.addTask {
                do throws(PubSubError) {
                    return .success(try await self.source.receive(s.name, maxMessages: maxMessages))
                } catch {
                    return Task.isCancelled ? .stopped : .failure(error)
                }
            }
            group.addTask {
                await self.shutdown.wait()
                return nil
            }
            if s.health != nil {
                let held = configuration.heldPullIsReadyAfter
                group.addTask {
                    // Cancelled (and so not marking anything) once the pull has answered.
                    guard (try? await Task.sleep(for: held)) != nil, s.health != nil else { return nil }
                    s.markHealthy()
                    self.logger.debug(
                        "a pull is held by the server: ready",
                        metadata: ["subscription": "\(s.logicalName)"])
                    return nil
                }
            }
            var result: PullResult = .stopped
            while let next = await group.next() {
                if let next {
                    result = next
                    break
                }
                if shutdown.isStopping { group.cancelAll() }
            }
            group.cancelAll()
            return result
        }
    }

    private func release(_ s: SubscriptionRuntime, reserved: Int, received: [ReceivedMessage]) {
        let bytes = received.reduce(0) { $0 + $1.size }
        flow.commit(reserved: reserved, received: received.count, bytes: bytes)
        s.flow?.commit(reserved: reserved, received: received.count, bytes: bytes)
    }

    static func explainRefusal(_ error: PubSubError, subscription: PubSubResourceName) -> String {
        switch error.status {
        case 404:
            "subscription \(subscription) does not exist (or its topic was deleted): create it, e.g. `horae pubsub subscriptions create`"
        case 403: "permission denied pulling \(subscription): the daemon's identity needs roles/pubsub.subscriber on it"
        case 401: "Pub/Sub rejected the daemon's credentials while pulling \(subscription)"
        case 400: "Pub/Sub refused the pull request on \(subscription)"
        default: "pulling \(subscription) failed: \(error)"
        }
    }

    // MARK: - Dispatching one message

    /// A handler task: `first`, then whatever the pull loop hands it while it waits in `pool`.
    private func handleMessages(first: ReceivedMessage, in s: SubscriptionRuntime, pool: HandlerPool) async {
        var next: ReceivedMessage? = first
        while let message = next {
            await handle(message, in: s)
            next = await pool.next()
        }
    }

    private func handle(_ received: ReceivedMessage, in s: SubscriptionRuntime) async {
        if let problem = received.problem {
            // Not a message Horae can read; the `unmatched` policy decides (with `nack`, the
            // subscription's own dead-letter policy catches it after its delivery attempts).
            metrics.messageInvalid(subscription: s.logicalName, reason: "undecodable")
            logger.warning(
                "message cannot be decoded",
                metadata: [
                    "subscription": "\(s.logicalName)",
                    "messageId": "\(received.message.id)", "problem": "\(problem)",
                ])
            settle(received, in: s, configuration.unmatched == .ack ? .ack : .nack)
            return
        }
        var message = received.message
        message.subscription = s.logicalName
        guard let disposition = await runTasks(for: message) else {
            metrics.messageUnmatched(subscription: s.logicalName)
            logger.debug(
                "message matched no rule", metadata: ["subscription": "\(s.logicalName)", "messageId": "\(message.id)"])
            settle(received, in: s, configuration.unmatched == .ack ? .ack : .nack)
            return
        }
        settle(received, in: s, disposition)
    }

    /// Runs one task per rule `message` matches (on its `subscription`; only `onlyRule` when
    /// given) — one per item for a rule with `forEach` — concurrently, and says what becomes of
    /// the message; nil when it matched nothing.
    /// Pulled messages and the inbox's (``InboxDispatcher``) both come here.
    func runTasks(for message: PubSubMessage, onlyRule: String? = nil, bypassDedupWindow: Bool = false) async
        -> MessageDisposition?
    {
        let snapshot = rules.snapshot
        let ruleSet = snapshot.ruleSet
        var matches = ruleSet.match(message)
        if let onlyRule { matches.removeAll { ruleSet.rules[$0.ruleIndex].name != onlyRule } }
        guard !matches.isEmpty else { return nil }
        // One task per matched rule, or per item of a rule's `forEach`.
        var works = matches.flatMap { m in
            TaskWork.expanded(
                rule: ruleSet.rules[m.ruleIndex], message: message, captures: m.captures,
                subscription: message.subscription, actionsFingerprint: snapshot.actionsFingerprints[m.ruleIndex])
        }
        // In place: a copy of each work would retain its every reference once more.
        if bypassDedupWindow { for i in works.indices { works[i].bypassDedupWindow = true } }
        let outcomes: [TaskOutcome]
        if works.count == 1 {
            // The common case runs in this task: no child task for one rule.
            outcomes = [await runner.run(works[0])]
        } else {
            outcomes = await withTaskGroup(of: TaskOutcome.self) { group in
                for w in works { group.addTask { await self.runner.run(w) } }
                return await group.reduce(into: []) { $0.append($1) }
            }
        }
        return MessageDisposition(outcomes: outcomes)
    }

    private func settle(_ received: ReceivedMessage, in s: SubscriptionRuntime, _ disposition: MessageDisposition) {
        s.leases.finished(received.ackID)
        switch disposition {
        case .ack:
            s.acks.enqueue(.ack, [received.ackID])
            metrics.messageAcked(subscription: s.logicalName)
        case .nack:
            s.acks.enqueue(.modAck(seconds: 0), [received.ackID], superseding: true)
            metrics.messageNacked(subscription: s.logicalName)
        case .giveBack(let seconds):
            s.acks.enqueue(.modAck(seconds: seconds), [received.ackID], superseding: true)
            metrics.messageGivenBack(subscription: s.logicalName)
        }
        flow.release(messages: 1, bytes: received.size)
        s.flow?.release(messages: 1, bytes: received.size)
        metrics.outstandingChanged(messages: flow.outstandingMessages, bytes: flow.outstandingBytes)
    }
}
