import Foundation
import HoraeRules
import Logging
import Testing

@testable import HoraeDispatcher

/// A task runs the actions it started with (docs/daemon.md, "Tasks"): a task interrupted after a
/// failed action, resumed against a rule whose actions changed since (a reload), is refused and
/// ends failed instead of skipping or repeating an action; unchanged actions resume as before.
@Suite struct TaskRunnerActionsChangedTests {
    static func rule(_ actions: [String]) -> String {
        let list = actions.map { "      - log: { message: \"\($0)\" }" }.joined(separator: "\n")
        return """
            rules:
              - name: upload
                on: { message: { attributes: { objectId: "*" } } }
                retry: { maxAttempts: 5, initialBackoff: 1h, maxBackoff: 1h }
                actions:

            """ + list + "\n"
    }

    static func load(_ actions: [String]) throws -> Rule {
        let loaded = RuleLoader().load(sources: [(path: "rules.yaml", text: rule(actions))])
        #expect(loaded.diagnostics.isEmpty, "\(loaded.diagnostics)")
        return try #require(loaded.rules.first)
    }

    static func work(_ rule: Rule) -> TaskWork {
        TaskWork(
            rule: rule, message: PubSubMessage(id: "m1", attributes: ["objectId": "a.txt"]),
            captures: CaptureSet([]), subscription: "events")
    }

    /// Runs `rule` for message m1 until action `b` has failed (retryably, with a long backoff),
    /// then stops the runner: the task is left `waiting` at action `b`, as a crash would leave it,
    /// with its retry due.
    static func failAtB(_ rule: Rule, store: SQLiteStateStore, plugin: ScriptedLogPlugin) async throws {
        let shutdown = ShutdownSignal()
        let runner = TaskRunner(
            store: store, plugins: PluginRegistry([plugin]), publisher: nil, shutdown: shutdown,
            logger: Logger(label: "horae-test"))
        let running = Task { await runner.run(work(rule)) }
        let key = TaskKey(messageID: "m1", rule: "upload")
        try await Polling.waitUntil("the task waits for its retry", timeout: .seconds(10)) {
            try await store.task(key)?.state == .waiting
        }
        shutdown.stop()
        let outcome = await running.value
        #expect(!outcome.isFinal)
        // The retry is due now (as if the backoff had passed while the daemon was down).
        var waiting = try #require(try await store.task(key))
        waiting.retryAt = Date()
        try await store.save(waiting)
    }

    @Test func aTaskResumedAfterItsRulesActionsChangedFailsAndRunsNothing() async throws {
        let directory = TemporaryStoreDirectory()
        defer { directory.remove() }
        let store = try directory.open()
        defer { store.close() }
        let first = ScriptedLogPlugin(script: { invocation, _ in
            invocation.string("message") == "b" ? .retryable("b is down") : .success(output: nil)
        })
        try await Self.failAtB(try Self.load(["a", "b", "c"]), store: store, plugin: first)
        #expect(first.calls.map(\.text) == ["a", "b"])

        // The rules are reloaded with an action inserted before `b`; the message comes back.
        let lines = TaskRunnerTests.RecordingLogHandler.Lines()
        let second = ScriptedLogPlugin()
        let runner = TaskRunner(
            store: store, plugins: PluginRegistry([second]), publisher: nil, shutdown: ShutdownSignal(),
            logger: Logger(label: "horae-test") { _ in TaskRunnerTests.RecordingLogHandler(lines: lines) })
        let outcome = await runner.run(Self.work(try Self.load(["a", "x", "b", "c"])))

        // Failed for good, then given up as any failed task (no dead-letter topic); nothing ran.
        #expect(outcome == .final(.deadLettered))
        #expect(second.calls.isEmpty)
        let key = TaskKey(messageID: "m1", rule: "upload")
        let transitions = try await store.transitions(of: key)
        let failure = try #require(transitions.first { $0.to == .failed }?.detail)
        #expect(failure.contains("the rule's actions changed since the task started"))
        #expect(failure.contains("reached action 2 of those it started with"))
        #expect(failure.contains(" → "))
        #expect(lines.levels(of: "task failed") == [.error])
    }

    @Test func aTaskResumedWithUnchangedActionsResumesAtTheFailedAction() async throws {
        let directory = TemporaryStoreDirectory()
        defer { directory.remove() }
        let store = try directory.open()
        defer { store.close() }
        let first = ScriptedLogPlugin(script: { invocation, _ in
            invocation.string("message") == "b" ? .retryable("b is down") : .success(output: nil)
        })
        try await Self.failAtB(try Self.load(["a", "b", "c"]), store: store, plugin: first)

        // Reloaded from the same text (a new Rule value, same actions): the task resumes at `b`.
        let second = ScriptedLogPlugin()
        let runner = TaskRunner(
            store: store, plugins: PluginRegistry([second]), publisher: nil, shutdown: ShutdownSignal(),
            logger: Logger(label: "horae-test"))
        #expect(await runner.run(Self.work(try Self.load(["a", "b", "c"]))) == .final(.succeeded))
        #expect(second.calls.map(\.text) == ["b", "c"])
    }

    /// The fingerprint is part of the store's data: pinned here, so that a change to its canonical
    /// text (which would refuse every unfinished task at an upgrade) cannot go unnoticed.
    @Test func theFingerprintIsStableAndIgnoresActionNames() throws {
        let fingerprint = ActionsFingerprint.of(try Self.load(["a", "b", "c"]).actions)
        #expect(fingerprint == "12976ff34ffcf9c0557242b45f91fb3e8ce83decf38174eaed143fed6779e295")
        #expect(ActionsFingerprint.of(try Self.load(["a", "c", "b"]).actions) != fingerprint)
        var named = try Self.load(["a", "b", "c"]).actions
        named[0].name = "first"
        #expect(ActionsFingerprint.of(named) == fingerprint)
    }
}
