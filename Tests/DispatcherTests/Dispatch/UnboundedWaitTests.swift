import Foundation
import HoraeRules
import Testing

@testable import HoraeDispatcher

/// No wait is unbounded: an action without a timeout stops at `defaultActionTimeout`, and the
/// configuration key (and its environment override) sets it.
@Suite(.serialized)
struct UnboundedWaitTests {
    @Test func anExecWithoutATimeoutFailsAtTheDefaultActionTimeout() async throws {
        let rules = """
            rules:
              - name: hang
                on: { message: { attributes: { objectId: "hang/*" } } }
                retry: { maxAttempts: 1 }
                actions:
                  - exec: { command: ["sleep", "1000"] }
            """
        try await withDaemon(
            DaemonHarness(
                rules: rules, plugins: [ExecPlugin(runner: ProcessRunner(), terminationGrace: .milliseconds(200))],
                configure: { $0.defaultActionTimeout = .seconds(2) })
        ) { h in
            h.start()
            let started = ContinuousClock.now
            let id = try await h.publish(DaemonHarness.gcsEvent(object: "hang/forever"))
            // `failed` is recorded first, then `dead-lettered` once the task has given back its slot.
            try await h.waitUntil("the task fails and is given up", timeout: .seconds(20)) {
                try await h.daemon.store.task(TaskKey(messageID: id, rule: "hang"))?.state == .deadLettered
            }
            let record = try await h.daemon.store.task(TaskKey(messageID: id, rule: "hang"))
            let error = record?.lastError ?? ""
            #expect(record?.state == .deadLettered)
            #expect(error.contains("timed out after 2s"))
            #expect(ContinuousClock.now - started < .seconds(15))
        }
    }

    @Test func defaultActionTimeoutIsReadFromTheFileAndTheEnvironment() {
        let text = """
            subscriptions:
              events: { name: events-sub }
            defaultActionTimeout: 90s
            """
        #expect(DaemonConfig().defaultActionTimeout == .seconds(3600))
        #expect(DaemonConfigLoader.load(text: text).config?.defaultActionTimeout == .seconds(90))
        let overridden = DaemonConfigLoader.load(text: text, environment: ["HORAE_DEFAULT_ACTION_TIMEOUT": "5m"])
        #expect(overridden.config?.defaultActionTimeout == .seconds(300))
        let invalid = DaemonConfigLoader.load(
            text: text.replacingOccurrences(of: "90s", with: "0s"))
        #expect(invalid.config == nil)
    }
}
