import Foundation
import Logging
import Testing

@testable import HoraeDispatcher

/// At `info`, each task logs its start and its end (docs/daemon.md, "Observability"): rule,
/// message id, outcome, attempts, how long it took, the dedup key; a rule with `taskLog: debug`
/// moves those lines to `debug`. Message data is never in them.
@Suite(.serialized)
struct TaskLogLineTests {
    static func logger(_ capture: LogCapture) -> Logger {
        Logger(label: "horae-test") { label in JSONLogHandler(label: label, sink: capture.sink, logLevel: .info) }
    }

    static func taskLines(_ capture: LogCapture) throws -> [[String: Any]] {
        try capture.jsonObjects().filter {
            let message = $0["message"] as? String
            return message == "task started" || message == "task finished"
        }
    }

    @Test func aTaskLogsItsStartAndItsEndAtInfo() async throws {
        let capture = LogCapture()
        let rules = """
            rules:
              - name: load
                on: { message: { attributes: { objectId: "in/*" } } }
                dedup: { key: "{{ attributes.objectId }}", window: 1h }
                actions:
                  - log: { message: "loading" }
            """
        try await withDaemon(DaemonHarness(rules: rules, logger: Self.logger(capture))) { h in
            h.start()
            let id = try await h.publish(DaemonHarness.gcsEvent(object: "in/a.csv"), data: "secret-payload")
            try await h.waitUntil("the task finishes") {
                try Self.taskLines(capture).contains { $0["message"] as? String == "task finished" }
            }
            let lines = try Self.taskLines(capture)
            let started = lines.first { $0["message"] as? String == "task started" }
            let finished = lines.first { $0["message"] as? String == "task finished" }
            #expect(lines.count == 2, "\(lines)")
            #expect(started?["rule"] as? String == "load")
            #expect(started?["messageId"] as? String == id)
            #expect(started?["subscription"] as? String == "events")
            #expect(started?["attempt"] as? String == "1")
            #expect(finished?["outcome"] as? String == "succeeded")
            #expect(finished?["attempts"] as? String == "1")
            #expect(finished?["dedupKey"] as? String == "in/a.csv")
            #expect((finished?["took"] as? String)?.hasSuffix("seconds") == true)
            let everything = capture.lines.map { String(decoding: $0, as: UTF8.self) }.joined()
            #expect(!everything.contains("secret-payload"))
        }
    }

    @Test func taskLogDebugKeepsARuleQuietAtInfo() async throws {
        let capture = LogCapture()
        let rules = """
            rules:
              - name: busy
                on: { message: { attributes: { objectId: "in/*" } } }
                taskLog: debug
                actions:
                  - log: { message: "loading" }
            """
        try await withDaemon(DaemonHarness(rules: rules, logger: Self.logger(capture))) { h in
            h.start()
            try await h.publish(DaemonHarness.gcsEvent(object: "in/a.csv"))
            try await h.waitUntil("the message is acked") { h.metrics["acked"] == 1 }
            let lines = try Self.taskLines(capture)
            #expect(lines.isEmpty, "\(lines)")
        }
    }
}
