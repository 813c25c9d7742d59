import Foundation
import HoraeRules
import ServiceLifecycle
import Synchronization
import Testing

@testable import HoraeDispatcher

/// Every task the daemon starts is a child of the call that runs it (docs/daemon.md, "Shutdown
/// and reload"): cancelling that call stops all of it at once, and the daemon's parts, run as
/// services of one group, stop together within one grace period.
@Suite(.serialized)
struct StructuredShutdownTests {
    @Test func cancellingTheDispatcherStopsItsPullsAndTasksWithoutWaitingForTheGrace() async throws {
        let rules = """
            rules:
              - name: slow
                on: { message: { attributes: { objectId: "slow/*" } } }
                actions:
                  - log: { message: "working" }
            """
        try await withDaemon(
            DaemonHarness(
                rules: rules,
                script: { _, _ in
                    // Runs until cancelled.
                    try? await Task.sleep(for: .seconds(600))
                    return .retryable("interrupted")
                },
                configure: { $0.shutdownGrace = .seconds(120) })
        ) { h in
            let dispatcher = h.daemon.dispatcher
            let running = Task { await dispatcher.run() }
            try await h.publish(DaemonHarness.gcsEvent(object: "slow/1"))
            try await h.waitUntil("the action runs") { h.plugin.calls.count == 1 }

            let cancelled = ContinuousClock.now
            running.cancel()
            await running.value
            let took = ContinuousClock.now - cancelled
            // Far below the 120 s grace, which only a graceful shutdown waits for.
            #expect(took < .seconds(20))

            // Nothing of the dispatcher pulls any more: a message published now stays in the
            // subscription, and the interrupted one comes back once its lease runs out.
            try await h.publish(DaemonHarness.gcsEvent(object: "slow/2"))
            var objects = Set<String>()
            let deadline = ContinuousClock.now + .seconds(60)
            while objects.count < 2 && ContinuousClock.now < deadline {
                // Patient pulls: a pull given up on may still have taken a message, for a lease.
                let pulled = try await h.pullDirectly(max: 10, patience: .seconds(20))
                for m in pulled { objects.insert(m.message.attributes["objectId"] ?? "") }
            }
            #expect(objects == ["slow/1", "slow/2"])
            #expect(h.plugin.calls.count == 1)
        }
    }

    @Test func thePartsOfTheDaemonBeginTheirGraceTogether() async throws {
        // Each part takes 3 s to stop once the shutdown begins. Told one after the other, as the
        // group tells its services, they would take 6 s; they begin together, so about 3.
        let shutdown = ShutdownSignal()
        let stopped = Mutex<[String]>([])
        func part(_ name: String) -> DaemonPartService {
            DaemonPartService(shutdown: shutdown) {
                await shutdown.wait()
                try? await Task.sleep(for: .seconds(3))
                stopped.withLock { $0.append(name) }
            }
        }
        let group = ServiceGroup(
            configuration: .init(
                services: [
                    .init(service: part("dispatcher"), serviceName: "dispatcher"),
                    .init(service: part("schedules"), serviceName: "schedules"),
                ],
                logger: .init(label: "test")))
        var started = ContinuousClock.now
        try await withThrowingDiscardingTaskGroup { tasks in
            tasks.addTask { try await group.run() }
            try await Task.sleep(for: .milliseconds(200))
            started = ContinuousClock.now
            await group.triggerGracefulShutdown()
        }
        let took = ContinuousClock.now - started
        #expect(took < .seconds(5))
        #expect(Set(stopped.withLock { $0 }) == ["dispatcher", "schedules"])
    }

    @Test func aPartThatStopsBeforeItsTurnDoesNotFailTheGroup() async throws {
        // `schedules` is told first (the group goes in reverse) but `dispatcher`, whose work
        // returns at once, is done before it: the group must still end without an error.
        let shutdown = ShutdownSignal()
        let group = ServiceGroup(
            configuration: .init(
                services: [
                    .init(
                        service: DaemonPartService(shutdown: shutdown) { await shutdown.wait() },
                        serviceName: "dispatcher"),
                    .init(
                        service: DaemonPartService(shutdown: shutdown) {
                            await shutdown.wait()
                            try? await Task.sleep(for: .seconds(1))
                        }, serviceName: "schedules"),
                ],
                logger: .init(label: "test")))
        try await withThrowingDiscardingTaskGroup { tasks in
            tasks.addTask { try await group.run() }
            try await Task.sleep(for: .milliseconds(200))
            shutdown.stop()  // as ``Daemon/stop()`` does, before the group is told
            await group.triggerGracefulShutdown()
        }
    }

    @Test func stoppingTheDaemonEndsEveryService() async throws {
        let rules = """
            rules:
              - name: quick
                on: { message: { attributes: { objectId: "quick/*" } } }
                actions:
                  - log: { message: "done" }
            """
        try await withDaemon(DaemonHarness(rules: rules, configure: { $0.watchRules = true })) { h in
            h.start()
            try await h.publish(DaemonHarness.gcsEvent(object: "quick/1"))
            try await h.waitUntil("the task runs") { h.plugin.calls.count == 1 }
            let started = ContinuousClock.now
            await h.stop()
            let took = ContinuousClock.now - started
            #expect(took < .seconds(15))
        }
    }
}
