import Foundation
import HoraeRules
import Synchronization
import Testing

@testable import HoraeDispatcher

/// SIGHUP's reload (docs/daemon.md, "Shutdown and reload"): a valid set is swapped in atomically; an invalid
/// one, or one using a plugin the daemon lacks, keeps the running set; a task resumes only against
/// the actions it started with (docs/daemon.md, "Tasks").
@Suite(.serialized) struct RulesReloadTests {
    static func rule(_ name: String, object: String) -> String {
        """
        rules:
          - name: \(name)
            on: { message: { attributes: { objectId: "\(object)" } } }
            actions:
              - log: { message: "{{ attributes.objectId }}" }
        """
    }

    @Test func anInvalidReloadKeepsTheRunningRulesAndAValidOneReplacesThem() async throws {
        try await withDaemon(DaemonHarness(rules: Self.rule("first", object: "a/*"))) { h in
            let file = h.directory + "/rules/rules.yaml"
            func matches(_ object: String) -> [String] {
                let set = h.daemon.rules.ruleSet
                return set.match(PubSubMessage(id: "1", attributes: ["objectId": object])).map {
                    set.rules[$0.ruleIndex].name
                }
            }
            #expect(matches("a/x") == ["first"])

            try "rules:\n  - name: broken\n    on: { message: { attributes: { objectId: { regx: x } } } }\n"
                .write(toFile: file, atomically: true, encoding: .utf8)
            #expect(h.daemon.reload() == false)
            #expect(matches("a/x") == ["first"])

            try Self.rule("second", object: "b/*").write(toFile: file, atomically: true, encoding: .utf8)
            #expect(h.daemon.reload() == true)
            #expect(matches("a/x") == [])
            #expect(matches("b/x") == ["second"])

            // A rule needing a plugin this daemon lacks is refused like an invalid one.
            try """
            rules:
              - name: third
                on: { message: { attributes: { objectId: "c/*" } } }
                actions:
                  - gcs: { operation: delete, bucket: b, object: "{{ attributes.objectId }}" }
            """.write(toFile: file, atomically: true, encoding: .utf8)
            #expect(h.daemon.reload() == false)
            #expect(matches("b/x") == ["second"])
        }
    }

    @Test func aTaskRetryingAcrossAReloadThatChangesItsActionsIsNotResumedAgainstTheNewOnes() async throws {
        // The first action succeeds; while the second runs (and fails, its retry wait given back
        // to Pub/Sub), a reload puts a new action first. Resumed at its saved index, the task
        // would run the old first action again; it is failed instead, with the reason.
        @Sendable func rules(_ actions: [String]) -> String {
            """
            rules:
              - name: load
                on: { message: { attributes: { objectId: "in/*" } } }
                retry: { maxAttempts: 5, initialBackoff: 2s, maxBackoff: 2s }
                actions:
            \(actions.map { "      - log: { message: \"\($0)\" }" }.joined(separator: "\n"))
            """
        }
        let duringStore = Mutex<(@Sendable () -> Void)?>(nil)
        try await withDaemon(
            DaemonHarness(
                rules: rules(["extract", "store"]),
                script: { invocation, _ in
                    guard invocation.string("message") == "store" else { return .success(output: nil) }
                    duringStore.withLock { hook in
                        defer { hook = nil }
                        return hook
                    }?()
                    return .retryable("downstream down")
                },
                configure: { $0.retryHoldLimit = .milliseconds(1) })
        ) { h in
            let file = h.directory + "/rules/rules.yaml"
            let daemon = h.daemon!
            let reloaded = Mutex(false)
            duringStore.withLock {
                $0 = {
                    try? rules(["announce", "extract", "store"]).write(toFile: file, atomically: true, encoding: .utf8)
                    let ok = daemon.reload()
                    reloaded.withLock { $0 = ok }
                }
            }
            h.start()
            let id = try await h.publish(DaemonHarness.gcsEvent(object: "in/a.csv"))
            let key = TaskKey(messageID: id, rule: "load")
            // `failed` is final too, but dead-lettering follows it: wait for the last state.
            try await h.waitUntil("the task is given up and dead-lettered", timeout: .seconds(30)) {
                try await h.daemon.store.task(key)?.state == .deadLettered
            }
            let record = try await h.daemon.store.task(key)
            let error = record?.lastError ?? ""
            let texts = h.plugin.calls.map(\.text)
            #expect(reloaded.withLock { $0 })
            #expect(record?.state == .deadLettered)
            #expect(error.contains("actions changed since the task started"))
            #expect(error.contains("reached action 2"))
            #expect(texts == ["extract", "store"])
        }
    }
}
