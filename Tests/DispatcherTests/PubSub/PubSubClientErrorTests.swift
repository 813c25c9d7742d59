import Foundation
import HoraeRules
import Testing

@testable import HoraeDispatcher

/// How failures surface: HTTP statuses, a dead port, and input that must never be sent.
@Suite struct PubSubClientErrorTests {
    @Test func pullFromAMissingSubscriptionIsANonRetryable404() async throws {
        let client = try await PubSubEmulator.shared().client(project: PubSubEmulator.uniqueProject("missing"))
        let subscription = try client.subscription("not-there")
        let error = await #expect(throws: PubSubError.self) { _ = try await client.pull(subscription, maxMessages: 10) }
        #expect(error?.code == .http)
        #expect(error?.status == 404)
        #expect(error?.isRetryable == false)
        #expect(error?.message.contains("projects/\(client.project)/subscriptions/not-there") == true)

        let publish = await #expect(throws: PubSubError.self) {
            _ = try await client.publish(try client.topic("not-there"), messages: [OutgoingMessage(data: [1])])
        }
        #expect(publish?.status == 404)
    }

    @Test func aBadAckIDIsANonRetryable400() async throws {
        let f = try await EmulatorFixture.make("badack")
        let error = await #expect(throws: PubSubError.self) {
            try await f.client.acknowledge(f.subscription, ackIDs: ["not-an-ack-id"])
        }
        #expect(error?.status == 400)
        #expect(error?.isRetryable == false)
    }

    @Test func nothingListeningIsARetryableTransportError() async throws {
        let port = try LoopbackPort.free()
        let transport = try CurlHTTPClient()
        defer { transport.shutdown() }
        let client = try PubSubClient.fromEnvironment(
            project: "horae-test", environment: ["PUBSUB_EMULATOR_HOST": "127.0.0.1:\(port)"], transport: transport)
        let subscription = try client.subscription("anything")
        let error = await #expect(throws: PubSubError.self) { _ = try await client.pull(subscription, maxMessages: 1) }
        #expect(error?.code == .transport)
        #expect(error?.status == nil)
        #expect(error?.isRetryable == true)
        let list = await #expect(throws: PubSubError.self) { _ = try await client.listTopics() }
        #expect(list?.code == .transport)
        #expect(list?.isRetryable == true)
    }

    @Test(arguments: [
        "ab", "1starts-with-digit", "goog-reserved", "../escape", "a/b", "has space", "q?x=1", "frag#x", "colon:verb",
        String(repeating: "x", count: 256), "projects/p/topics/wrong-kind", "projects//subscriptions/no-project",
        "projects/bad/project/subscriptions/x", "projects/p%2F/subscriptions/abc",
    ])
    func invalidSubscriptionNamesAreRejectedBeforeAnyRequest(name: String) async throws {
        let f = try await EmulatorFixture.make("names")
        let sent = f.transport.requests.count
        let error = #expect(throws: PubSubError.self) { _ = try f.client.subscription(name) }
        #expect(error?.code == .invalidName)
        #expect(f.transport.requests.count == sent)
    }

    @Test func invalidArgumentsAreRejectedBeforeAnyRequest() async throws {
        let f = try await EmulatorFixture.make("args")
        let sent = f.transport.requests.count
        let c = f.client
        let s = f.subscription
        var errors: [PubSubError?] = []
        errors.append(await #expect(throws: PubSubError.self) { _ = try await c.pull(s, maxMessages: 0) })
        errors.append(
            await #expect(throws: PubSubError.self) { try await c.modifyAckDeadline(s, ackIDs: ["x"], seconds: 601) })
        errors.append(
            await #expect(throws: PubSubError.self) { try await c.modifyAckDeadline(s, ackIDs: ["x"], seconds: -1) })
        let tooMany = (0...2_500).map { "ack-\($0)" }
        errors.append(await #expect(throws: PubSubError.self) { try await c.acknowledge(s, ackIDs: tooMany) })
        var settings = PubSubClient.SubscriptionSettings(topic: f.topic)
        settings.ackDeadlineSeconds = 5
        errors.append(
            await #expect(throws: PubSubError.self) {
                try await c.createSubscription(try c.subscription("other"), settings)
            })
        #expect(errors.count == 5)
        #expect(errors.allSatisfy { $0?.code == .invalidArgument })

        // Nothing to send: no request at all (the API would answer 400 to an empty list).
        try await c.acknowledge(s, ackIDs: [])
        try await c.modifyAckDeadline(s, ackIDs: [], seconds: 0)
        #expect(try await c.publish(f.topic, messages: []).isEmpty)
        #expect(f.transport.requests.count == sent)
    }

    @Test func anInvalidProjectIsNeverSent() async throws {
        let transport = try RecordingTransport()
        let emulator = try await PubSubEmulator.shared()
        for project in ["", "a/b", "x?y", "p#q", "has space"] {
            let client = try emulator.client(project: project, transport: transport)
            let list = await #expect(throws: PubSubError.self) { _ = try await client.listTopics() }
            #expect(list?.code == .invalidName)
            let name = #expect(throws: PubSubError.self) { _ = try client.topic("fine-topic") }
            #expect(name?.code == .invalidName)
        }
        #expect(transport.requests.isEmpty)
    }
}
