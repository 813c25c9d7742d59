import Foundation
import Logging
import Testing

@testable import HoraeDispatcher

/// The daemon's pruning pass: unfinished tasks of rules that are no longer loaded are dropped once
/// older than `taskRetention`, with one log line saying how many and of which rules.
@Suite struct DaemonPruneTests {
    @Test func unfinishedTasksOfRemovedRulesArePrunedWithOneLogLine() async throws {
        let capture = LogCapture()
        let logger = Logger(label: "horae-test") { label in
            JSONLogHandler(label: label, sink: capture.sink, logLevel: .info)
        }
        let harness = try await DaemonHarness(rules: DispatcherEmulatorTests.uploadRule, logger: logger) { _, _ in
            .success(output: nil)
        } configure: {
            $0.taskRetention = .seconds(86_400)
        }
        defer { try? FileManager.default.removeItem(atPath: harness.directory) }
        let store = harness.daemon.store
        let now = Date()
        let old = now - 2 * 86_400
        for (id, rule) in [("a", "removed-rule"), ("b", "removed-rule"), ("c", "old-name")] {
            try await store.save(
                TaskRecord(key: TaskKey(messageID: id, rule: rule), state: .waiting, createdAt: old, updatedAt: old))
        }
        let loaded = try #require(harness.daemon.rules.ruleSet.rules.first?.name)
        try await store.save(
            TaskRecord(key: TaskKey(messageID: "d", rule: loaded), state: .waiting, createdAt: old, updatedAt: old))

        await harness.daemon.pruneStore(now: now)

        #expect(try await store.task(TaskKey(messageID: "a", rule: "removed-rule")) == nil)
        #expect(try await store.task(TaskKey(messageID: "c", rule: "old-name")) == nil)
        #expect(try await store.task(TaskKey(messageID: "d", rule: loaded)) != nil)
        let lines = try capture.jsonObjects().filter {
            ($0["message"] as? String)?.contains("rules that are no longer loaded") == true
        }
        #expect(lines.count == 1, "\(lines)")
        #expect(lines.first?["tasks"] as? String == "3")
        #expect(lines.first?["rules"] as? String == "old-name (1), removed-rule (2)")
    }
}
