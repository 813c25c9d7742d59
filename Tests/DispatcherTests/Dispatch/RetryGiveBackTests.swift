import Foundation
import HoraeRules
import Testing

@testable import HoraeDispatcher

/// A rule whose downstream is down does not starve the others (docs/daemon.md, "Tasks"): a retry
/// wait longer than `retryHoldLimit` gives its message back to Pub/Sub, freeing its room in the
/// flow-control budget.
@Suite(.serialized) struct RetryGiveBackTests {
    static let rules = """
        rules:
          - name: down
            on: { message: { attributes: { kind: down } } }
            retry: { maxAttempts: 100, initialBackoff: 5m, maxBackoff: 5m }
            actions:
              - log: { message: "down {{ attributes.n }}" }
          - name: healthy
            on: { message: { attributes: { kind: ok } } }
            actions:
              - log: { message: "ok {{ attributes.n }}" }
        """

    /// 30 messages of a rule whose action keeps failing retryably with a 5 min backoff, then 5 of a
    /// healthy rule, with a budget of 20 messages: the healthy ones are handled within seconds.
    @Test func aRuleWhoseDownstreamIsDownDoesNotHoldTheBudget() async throws {
        try await withDaemon(
            DaemonHarness(
                rules: Self.rules,
                script: { invocation, _ in
                    invocation.ruleName == "down" ? .retryable("downstream down") : .success(output: nil)
                }, configure: { $0.maxOutstandingMessages = 20 })
        ) { h in
            h.start()
            try await h.publish((0..<30).map { OutgoingMessage(attributes: ["kind": "down", "n": String($0)]) })
            try await h.waitUntil("20 failing tasks wait for their retry") { h.metrics["attempts"] >= 20 }
            let published = ContinuousClock.now
            try await h.publish((0..<5).map { OutgoingMessage(attributes: ["kind": "ok", "n": String($0)]) })
            try await h.waitUntil("the healthy rule's messages are handled", timeout: .seconds(20)) {
                h.metrics["task.succeeded"] == 5
            }
            let elapsed = ContinuousClock.now - published
            print("healthy messages handled \(elapsed) after publishing, behind 30 failing ones")
            #expect(elapsed < .seconds(10))
            // Every failing message was given back rather than held (a few may retry in memory
            // when the jittered wait is under the limit).
            #expect(h.daemon.dispatcher.flow.outstandingMessages < 20)
        }
    }
}
