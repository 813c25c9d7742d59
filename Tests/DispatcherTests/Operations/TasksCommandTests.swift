import Foundation
import HoraeTestSupport
import Testing

@testable import HoraeDispatcher

/// `horae tasks list/show/retry` on the store of a running `horae run` (real Pub/Sub emulator;
/// SQLite and a real PostgreSQL): a task that failed overnight is found, read, and re-run after
/// the fix, from the action that failed, without republishing or restarting anything.
@Suite(.serialized, .enabled(if: HoraeExecutable.path != nil, "the horae executable is not built"))
struct TasksCommandTests {
    @Test(arguments: StoreKind.allCases)
    func aFailedTaskIsListedShownAndRetriedWhileTheDaemonRuns(_ kind: StoreKind) async throws {
        var stack = try await OperatorStack(store: kind)
        stack.broken = true
        try stack.start()
        let a = try await stack.publish(object: "gocc/a.tar.gz")
        let b = try await stack.publish(object: "gocc/b.tar.gz")
        do {
            try await stack.waitUntil("both tasks failed for good") {
                try stack.tasks(["--state", "dead-lettered"]).count == 2
            }
            // The JSON list, for scripts.
            let listed = try stack.tasks()
            let first = try #require(listed.first { $0["messageId"] as? String == a })
            #expect(first["id"] as? String == "load/\(a)")
            #expect(first["rule"] as? String == "load")
            #expect(first["subscription"] as? String == "events")
            #expect(first["attempt"] as? Int == 1)
            #expect(first["nextAction"] as? Int == 1)
            #expect(first["dedupKey"] as? String == "gocc/a.tar.gz#1")
            #expect((first["error"] as? String)?.contains("action exec#2") == true)
            for field in ["createdAt", "updatedAt"] { #expect(first[field] is String) }

            // The table, for people.
            let table = try stack.horae(["tasks", "list", "--state", "dead-lettered"])
            #expect(table.status == 0, "\(table.stderr)")
            #expect(table.stdout.hasPrefix("ID "))
            #expect(table.stdout.contains("load/\(b)"))
            #expect(table.stdout.contains(" ago"))

            // One task whole.
            let shown = try stack.horae(["tasks", "show", "load/\(a)"])
            #expect(shown.status == 0, "\(shown.stderr)")
            for part in [
                "task load/\(a)", "dead-lettered, attempt 1, resumes at action 2", "objectId: gocc/a.tar.gz",
                "1. exec#1: exec", "succeeded in ", "2. exec#2: exec", "failed in ", "history:",
                "action exec#1 succeeded (",
            ] {
                #expect(shown.stdout.contains(part), "\(part) in \(shown.stdout)")
            }

            // Fixed: retry one by id. The daemon picks it up from the store; it runs from the
            // action that failed.
            stack.broken = false
            let retried = try stack.horae(["tasks", "retry", "load/\(a)"])
            #expect(retried.status == 0, "\(retried.stderr)")
            #expect(retried.stdout.contains("queued load/\(a): fresh attempts from action 2"))
            try await stack.waitUntil("the retried task succeeded") { try stack.state(a) == "succeeded" }
            #expect(stack.count("first gocc/a.tar.gz") == 1)
            #expect(stack.count("second gocc/a.tar.gz") == 2)
            let after = try stack.horae(["tasks", "show", "load/\(a)"])
            #expect(after.stdout.contains("retry requested: fresh attempts from action 2"), "\(after.stdout)")
            #expect(after.stdout.contains("succeeded, attempt 1"), "\(after.stdout)")

            // A succeeded task is refused without --force; with it, every action runs again,
            // past the dedup window.
            let refused = try stack.horae(["tasks", "retry", "load/\(a)"])
            #expect(refused.status == 1)
            #expect(refused.stderr.contains("it is succeeded; --force runs it again"), "\(refused.stderr)")
            let forced = try stack.horae(["tasks", "retry", "load/\(a)", "--force"])
            #expect(forced.status == 0, "\(forced.stderr)")
            try await stack.waitUntil("the forced re-run ran both actions") {
                stack.count("first gocc/a.tar.gz") == 2 && stack.count("second gocc/a.tar.gz") == 3
            }

            // Retry by selection: every dead-lettered task of the rule.
            let selection = try stack.horae(["tasks", "retry", "--state", "dead-lettered", "--rule", "load"])
            #expect(selection.status == 0, "\(selection.stderr)")
            #expect(selection.stdout.contains("queued load/\(b)"))
            try await stack.waitUntil("the selected task succeeded") { try stack.state(b) == "succeeded" }

            // Bad input: exit status 2 and a message, never a stack trace.
            let unknown = try stack.horae(["tasks", "retry", "load/no-such-message"])
            #expect(unknown.status == 2)
            #expect(unknown.stderr.contains("no task load/no-such-message"))
            let notAnID = try stack.horae(["tasks", "show", "load"])
            #expect(notAnID.status == 2)
            #expect(notAnID.stderr.contains("is not a task id: write RULE/MESSAGEID"))
            let missing = try stack.horae(["tasks", "show", "load/nothing"])
            #expect(missing.status == 2)
            #expect(missing.stderr.contains("no task load/nothing"))
            let noConfig = try HoraeExecutable.run(
                ["tasks", "list", "--config", "absent.yaml"], in: URL(fileURLWithPath: stack.directory),
                environment: stack.environment)
            #expect(noConfig.status == 2)
        } catch {
            await stack.stop()
            throw error
        }
        await stack.stop()
    }
}
