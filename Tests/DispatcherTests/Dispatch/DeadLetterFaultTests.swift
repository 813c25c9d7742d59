import Foundation
import HoraeRules
import Testing

@testable import HoraeDispatcher

/// Dead letters that Pub/Sub would refuse, against the real emulator (docs/daemon.md, "Tasks"):
/// attributes are cut to Pub/Sub's limits, and a topic that refuses for good ends the task
/// `failed` without holding its rule's concurrency slot.
@Suite(.serialized) struct DeadLetterFaultTests {
    static let rules = """
        rules:
          - name: fragile
            on: { message: { attributes: { objectId: "*" } } }
            retry: { maxAttempts: 1, deadLetter: dead-letters }
            concurrency: 1
            actions:
              - log: { message: "{{ attributes.objectId }}" }
        """

    /// 2000 bytes of two-byte characters.
    static let longError = String(repeating: "é", count: 1000)

    static func failTheFirst(_ invocation: ActionInvocation, _ call: Int) async -> ActionOutcome {
        invocation.string("message") == "fail" ? .permanent(longError) : .success(output: nil)
    }

    @Test func aDeadLetterWithAHugeMultiByteErrorAndManyAttributesIsPublishedWithinTheLimits() async throws {
        try await withDaemon(DaemonHarness(rules: Self.rules, script: Self.failTheFirst)) { h in
            let deadTopic = try h.client.topic("dead-letters")
            let deadSub = try h.client.subscription("dead-letters-sub")
            try await h.client.createTopic(deadTopic)
            try await h.client.createSubscription(deadSub, .init(topic: deadTopic))
            h.start()
            var attributes = ["objectId": "fail"]
            for i in 0..<119 { attributes[String(format: "x-%03d", i)] = String(repeating: "v", count: 10) }
            try await h.publish(attributes, data: "payload")
            try await h.waitUntil("dead-lettered and acked") {
                h.metrics["task.dead_lettered"] == 1 && h.metrics["acked"] == 1
            }
            var dead: [ReceivedMessage] = []
            try await h.waitUntil("the dead-letter message arrives") {
                dead += try await h.client.pull(deadSub, maxMessages: 10)
                return !dead.isEmpty
            }
            let published = dead[0].message.attributes
            // The four `horae.*` ones, then the first 96 original attributes by key.
            #expect(published.count == 100)
            #expect(published["x-094"] != nil && published["x-095"] == nil)
            #expect(published["horae.rule"] == "fragile")
            #expect(published["horae.subscription"] == "events")
            #expect(published["horae.attempts"] == "1")
            #expect(published["objectId"] == "fail")
            let error = try #require(published["horae.error"])
            #expect(error.utf8.count <= 1024)
            #expect(error.hasPrefix("action log#1: éé"))
            #expect(error.contains("dropped"))
            for (key, value) in published {
                #expect(key.utf8.count <= 256)
                #expect(value.utf8.count <= 1024)
            }
            #expect(dead[0].message.data == Array("payload".utf8))
        }
    }

    @Test func aDeadLetterTopicDeletedAfterStartEndsTheTaskFailedAndFreesTheSlot() async throws {
        try await withDaemon(DaemonHarness(rules: Self.rules, script: Self.failTheFirst)) { h in
            let deadTopic = try h.client.topic("dead-letters")
            try await h.client.createTopic(deadTopic)
            h.start()
            try await h.client.deleteTopic(deadTopic)
            let failing = try await h.publish(["objectId": "fail"])
            try await h.waitUntil("the first task failed") { h.metrics["task.failed"] == 1 }
            try await h.publish(["objectId": "works"])
            // The dead-letter backoff starts at 1 s: a publish retried forever would hold the slot.
            try await h.waitUntil("the second task ran and both messages were acked", timeout: .seconds(15)) {
                h.metrics["task.succeeded"] == 1 && h.metrics["acked"] == 2
            }
            let record = try #require(try await h.daemon.store.task(TaskKey(messageID: failing, rule: "fragile")))
            #expect(record.state == .failed)
            #expect(record.lastError?.contains("dead letter") == true)
            #expect(h.metrics["deadLetterRefused"] == 1)
            #expect(h.metrics["task.dead_lettered"] == 0)
        }
    }
}
