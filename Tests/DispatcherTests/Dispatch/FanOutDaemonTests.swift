import Foundation
import HoraeRules
import Testing

@testable import HoraeDispatcher

/// A rule's `forEach` in the running daemon, against the real Pub/Sub emulator: one message, one
/// task per item, each recorded under its own key, and the message acked once all are final —
/// and given back while one is not, without running the items that succeeded again.
@Suite(.serialized) struct FanOutDaemonTests {
    static let rules = """
        rules:
          - name: per-index
            on: { message: { attributes: { objectId: "gocc/*" } } }
            forEach: [goods, items, users]
            retry: { maxAttempts: 2, initialBackoff: 200ms, maxBackoff: 400ms }
            actions:
              - log: { message: "{{ item }} {{ attributes.objectId }}" }
        """

    @Test func oneMessageRunsOneTaskPerItemAndIsAckedWhenAllAreFinal() async throws {
        // `items` fails its first attempt: only it runs again.
        let harness = try await DaemonHarness(
            rules: Self.rules,
            script: { invocation, _ in
                invocation.string("message")?.hasPrefix("items ") == true && invocation.attempt == 1
                    ? .retryable("items index is busy") : .success(output: nil)
            })
        try await withDaemon(harness) { h in
            h.start()
            let id = try await h.publish(["objectId": "gocc/acme.tar.gz"])
            try await h.waitUntil("the three tasks succeeded and the message was acked") {
                h.metrics["task.succeeded"] == 3 && h.metrics["acked"] == 1
            }
            let texts = h.plugin.calls.map(\.text).sorted()
            #expect(
                texts == [
                    "goods gocc/acme.tar.gz", "items gocc/acme.tar.gz", "items gocc/acme.tar.gz",
                    "users gocc/acme.tar.gz",
                ])
            let keys = ["\(id)#0:goods", "\(id)#1:items", "\(id)#2:users"].map {
                TaskKey(messageID: $0, rule: "per-index")
            }
            for key in keys {
                let state = try await h.daemon.store.task(key)?.state
                #expect(state == .succeeded, "\(key)")
            }
            let retried = try await h.daemon.store.task(keys[1])
            #expect(retried?.attempt == 2)
        }
    }
}
