import Foundation
import HoraeRules
import Testing

@testable import HoraeDispatcher

/// The harness itself: the shared emulator starts and a publish → pull → ack round trip works.
@Suite struct PubSubEmulatorSmokeTests {
    @Test func publishPullAckRoundTripAgainstTheEmulator() async throws {
        let emulator = try await PubSubEmulator.shared()
        let project = PubSubEmulator.uniqueProject()
        let client = try emulator.client(project: project)
        let topic = try client.topic("smoke-topic")
        let subscription = try client.subscription("smoke-sub")
        try await client.createTopic(topic)
        try await client.createSubscription(subscription, .init(topic: topic))
        let ids = try await client.publish(
            topic, messages: [OutgoingMessage(data: Array("hello".utf8), attributes: ["bucketId": "b"])])
        #expect(ids.count == 1)
        var received: [ReceivedMessage] = []
        for _ in 0..<20 where received.isEmpty {
            received = try await client.pull(subscription, maxMessages: 10)
        }
        #expect(received.count == 1)
        #expect(received.first?.message.attributes["bucketId"] == "b")
        #expect(received.first?.message.data == Array("hello".utf8))
        try await client.acknowledge(subscription, ackIDs: received.map(\.ackID))
    }
}
