import Foundation
import HoraeTestSupport
import Testing

@testable import HoraeDispatcher

/// `horae redrive` against the real Pub/Sub emulator while `horae run` runs on the same store:
/// dead letters go back through the rule that failed them, and only that rule, with their
/// original attributes; what cannot be redriven stays on the subscription.
@Suite(.serialized, .enabled(if: HoraeExecutable.path != nil, "the horae executable is not built"))
struct RedriveCommandTests {
    @Test func deadLettersGoBackThroughTheirRuleAndAreAckedOnceStored() async throws {
        var stack = try await OperatorStack(store: .sqlite, deadLetter: "dead-letters")
        stack.broken = true
        try stack.start()
        do {
            try await stack.publish(object: "gocc/a.tar.gz")
            try await stack.publish(object: "gocc/b.tar.gz")
            try await stack.waitUntil("both tasks dead-lettered") {
                try stack.tasks(["--state", "dead-lettered"]).count == 2
            }
            // A message on the dead-letter topic that Horae did not publish.
            try await stack.client.publish(
                try stack.client.topic("dead-letters"), messages: [OutgoingMessage(attributes: ["objectId": "gocc/x"])])

            // A dry run moves nothing.
            let dry = try stack.horae(["redrive", "--from", "dead-letters-sub", "--dry-run"])
            #expect(dry.status == 1, "\(dry.stderr)")
            #expect(dry.stdout.components(separatedBy: "would redrive ").count - 1 == 3, "\(dry.stdout)")
            #expect(dry.stdout.contains("would redrive 2 dead letters, left 1 on the subscription"), "\(dry.stdout)")
            #expect(dry.stderr.contains("no `horae.rule` attribute: not a Horae dead letter"), "\(dry.stderr)")

            stack.broken = false
            let moved = try stack.horae(["redrive", "--from", "dead-letters-sub", "--rule", "load"])
            #expect(moved.status == 1, "\(moved.stderr)")  // one left
            #expect(moved.stdout.contains("redrove 2 dead letters, left 1 on the subscription"), "\(moved.stdout)")
            #expect(moved.stdout.contains("→ rule load on subscription events as redrive:"), "\(moved.stdout)")

            // The running daemon runs both from the store: each a new task of its own.
            try await stack.waitUntil("the redriven tasks succeeded") {
                try stack.tasks(["--state", "succeeded"]).count == 2
            }
            let redriven = try stack.tasks(["--state", "succeeded"])
            #expect(redriven.allSatisfy { ($0["messageId"] as? String)?.hasPrefix("redrive:") == true })
            #expect(redriven.allSatisfy { $0["subscription"] as? String == "events" })
            #expect(stack.count("second gocc/a.tar.gz") == 2 && stack.count("second gocc/b.tar.gz") == 2)
            // The original attributes, without the dead letter's `horae.*` ones.
            let id = try #require(redriven.first?["id"] as? String)
            let shown = try stack.horae(["tasks", "show", id])
            #expect(shown.stdout.contains("objectGeneration: 1"), "\(shown.stdout)")
            #expect(!shown.stdout.contains("horae."), "\(shown.stdout)")

            // Acked: only the foreign message is still on the subscription.
            let rest = try await Polling.pull(
                stack.client, try stack.client.subscription("dead-letters-sub"), patience: .seconds(3))
            #expect(rest.map(\.message.attributes) == [["objectId": "gocc/x"]])

            let unknown = try stack.horae(["redrive", "--from", "no-such-subscription"])
            #expect(unknown.status == 2, "\(unknown.stdout) \(unknown.stderr)")
            #expect(unknown.stderr.contains("no-such-subscription"))
        } catch {
            await stack.stop()
            throw error
        }
        await stack.stop()
    }
}
