import Foundation
import HoraeRules
import Synchronization
import Testing

@testable import HoraeDispatcher

/// Messages whose task must wait are given back to Pub/Sub with a delay instead of being held
/// (docs/daemon.md, "Tasks"): a duplicate arriving while the first task of its key still runs or
/// retries waits for that task's outcome.
@Suite(.serialized) struct GiveBackTests {
    /// Message A's second attempt holds until the test lets it go, then fails (for good: two
    /// attempts) or succeeds; every other call succeeds.
    static let dedupRule = """
        rules:
          - name: load
            on: { message: { attributes: { n: { exists: true } } } }
            dedup: { key: "{{ attributes.key }}", window: 1h }
            retry: { maxAttempts: 2, initialBackoff: 100ms, maxBackoff: 100ms }
            actions:
              - log: { message: "{{ attributes.n }}" }
        """

    /// A's attempts: the first fails at once, the second waits for `release` and then answers `second`.
    static func script(release: Gate, second: ActionOutcome) -> ScriptedLogPlugin.Script {
        { invocation, _ in
            guard invocation.string("message") == "A" else { return .success(output: nil) }
            if invocation.attempt == 1 { return .retryable("downstream down") }
            while !release.isOpen { try? await Task.sleep(for: .milliseconds(20)) }
            return second
        }
    }

    /// Publishes A, then B with the same key while A is in its second attempt; returns B's task key
    /// once B has been pulled and decided for now.
    static func publishBWhileAHoldsTheKey(_ h: DaemonHarness) async throws -> TaskKey {
        try await h.publish(["n": "A", "key": "k"])
        try await h.waitUntil("A is in its second attempt") { h.plugin.calls.count == 2 }
        let b = try await h.publish(["n": "B", "key": "k"])
        try await h.waitUntil("B was pulled") { h.metrics["pulled"] == 2 }
        try await Task.sleep(for: .milliseconds(500))
        return TaskKey(messageID: b, rule: "load")
    }

    @Test func aDuplicateOfATaskThatThenFailsForGoodRunsAfterIt() async throws {
        let release = Gate()
        try await withDaemon(
            DaemonHarness(
                rules: Self.dedupRule,
                script: Self.script(release: release, second: ActionOutcome.retryable("still down")))
        ) { h in
            h.start()
            let b = try await Self.publishBWhileAHoldsTheKey(h)
            let waiting = try await h.daemon.store.task(b)?.state
            #expect(waiting != .duplicate)
            release.open()
            try await h.waitUntil("A failed for good") { h.metrics["task.dead_lettered"] == 1 }
            try await h.waitUntil("B ran and succeeded", timeout: .seconds(40)) { h.metrics["task.succeeded"] == 1 }
            let record = try await h.daemon.store.task(b)
            #expect(record?.state == .succeeded)
            #expect(h.metrics["task.duplicate"] == 0)
            try await h.waitUntil("both acked") { h.metrics["acked"] == 2 }
        }
    }

    @Test func aDuplicateOfATaskThatThenSucceedsEndsDuplicate() async throws {
        let release = Gate()
        try await withDaemon(
            DaemonHarness(
                rules: Self.dedupRule, script: Self.script(release: release, second: ActionOutcome.success(output: nil))
            )
        ) { h in
            h.start()
            let b = try await Self.publishBWhileAHoldsTheKey(h)
            // Not decided while A runs: B is not recorded final `duplicate` yet.
            let waiting = try await h.daemon.store.task(b)?.state
            #expect(waiting != .duplicate)
            release.open()
            try await h.waitUntil("A succeeded") { h.metrics["task.succeeded"] == 1 }
            try await h.waitUntil("B is a duplicate and acked", timeout: .seconds(40)) {
                h.metrics["task.duplicate"] == 1 && h.metrics["acked"] == 2
            }
            let record = try await h.daemon.store.task(b)
            #expect(record?.state == .duplicate)
            // B never ran.
            #expect(h.plugin.calls.map(\.text) == ["A", "A"])
        }
    }
}

/// A flag a test opens once.
final class Gate: Sendable {
    private let state = Mutex(false)
    var isOpen: Bool { state.withLock { $0 } }
    func open() { state.withLock { $0 = true } }
}
