import Foundation
import HoraeRules
import Testing

@testable import HoraeDispatcher

/// Publish, pull, acknowledge and lease changes against the official emulator.
@Suite struct PubSubClientMessagingTests {
    @Test func publishedDataAttributesAndOrderingKeyComeBackIntact() async throws {
        let f = try await EmulatorFixture.make("roundtrip")
        let binary = (0...255).map { UInt8($0) } + [0, 0xFF, 0x0A]
        let attributes = ["bucketId": "b", "quote\"back\\slash": "line\nbreak\ttab", "ünï": "😀 ü", "empty": ""]
        let published = [
            OutgoingMessage(data: binary, attributes: attributes, orderingKey: "key-1"),
            OutgoingMessage(attributes: ["only": "attributes"]),
        ]
        let ids = try await f.client.publish(f.topic, messages: published)
        #expect(ids.count == 2)
        #expect(Set(ids).count == 2)

        let received = try await f.pull(count: 2)
        try #require(received.count == 2)
        let first = try #require(received.first { $0.message.id == ids[0] })
        #expect(first.problem == nil)
        #expect(first.message.data == binary)
        #expect(first.message.attributes == attributes)
        #expect(first.message.orderingKey == "key-1")
        #expect(first.message.publishTime?.isEmpty == false)
        #expect(first.deliveryAttempt == nil, "no dead-letter policy, so no delivery attempt")
        let attributeBytes = attributes.reduce(0) { $0 + $1.key.utf8.count + $1.value.utf8.count }
        #expect(first.size == binary.count + attributeBytes + "key-1".utf8.count)

        let second = try #require(received.first { $0.message.id == ids[1] })
        #expect(second.message.data.isEmpty)
        #expect(second.message.attributes == ["only": "attributes"])
        #expect(second.size == "only".utf8.count + "attributes".utf8.count)
        try await f.client.acknowledge(f.subscription, ackIDs: received.map(\.ackID))
    }

    @Test func modAckZeroRedeliversAtOnceDespiteALongDeadline() async throws {
        let f = try await EmulatorFixture.make("nack") { $0.ackDeadlineSeconds = 120 }
        let ids = try await f.client.publish(f.topic, messages: [OutgoingMessage(data: Array("again".utf8))])
        let first = try await f.pull(count: 1)
        try #require(first.count == 1)

        let start = ContinuousClock.now
        try await f.client.modifyAckDeadline(f.subscription, ackIDs: [first[0].ackID], seconds: 0)
        let again = try await f.pull(count: 1, within: .seconds(20))
        try #require(again.count == 1)
        #expect(again[0].message.id == ids[0])
        // Without the modAck it would stay leased for 120 s.
        #expect(ContinuousClock.now - start < .seconds(20))
        try await f.client.acknowledge(f.subscription, ackIDs: [again[0].ackID])
    }

    /// One 10 s deadline, three messages: acknowledged (never back), left alone (back after the
    /// deadline), extended to 120 s (not back either). A marker published afterwards shows the
    /// subscription was read past the point where the others would have come back.
    @Test func ackedAndExtendedMessagesAreNotRedeliveredAfterTheDeadline() async throws {
        let f = try await EmulatorFixture.make("deadline") { $0.ackDeadlineSeconds = 10 }
        let ids = try await f.client.publish(
            f.topic,
            messages: ["acked", "expired", "extended"].map {
                OutgoingMessage(data: Array($0.utf8))
            })
        let first = try await f.pull(count: 3)
        try #require(first.count == 3)
        func ackID(_ index: Int) throws -> String { try #require(first.first { $0.message.id == ids[index] }).ackID }
        let pulledAt = ContinuousClock.now
        try await f.client.acknowledge(f.subscription, ackIDs: [try ackID(0)])
        try await f.client.modifyAckDeadline(f.subscription, ackIDs: [try ackID(2)], seconds: 120)

        // The pull waits on the server until the unacknowledged message's lease runs out.
        let redelivered = try await f.pull(within: .seconds(40)) { got in got.contains { $0.message.id == ids[1] } }
        #expect(redelivered.contains { $0.message.id == ids[1] })
        #expect(ContinuousClock.now - pulledAt >= .seconds(8), "redelivered before the 10 s deadline")

        let marker = try await f.client.publish(f.topic, messages: [OutgoingMessage(data: Array("marker".utf8))])
        let later = try await f.pull(within: .seconds(20)) { got in got.contains { $0.message.id == marker[0] } }
        let seen = Set((redelivered + later).map(\.message.id))
        #expect(seen.contains(marker[0]))
        #expect(!seen.contains(ids[0]), "an acknowledged message came back")
        #expect(!seen.contains(ids[2]), "a message whose lease was extended came back")
    }

    @Test func deliveryAttemptCountsRedeliveriesThenTheMessageIsDeadLettered() async throws {
        let f = try await EmulatorFixture.make("attempts", otherTopics: ["dead-letters"]) { settings in
            settings.ackDeadlineSeconds = 60
            settings.deadLetterTopic = try PubSubResourceName(
                "dead-letters", kind: .topics, defaultProject: settings.topic.project)
            settings.maxDeliveryAttempts = 5
        }
        let deadLetters = try f.client.topic("dead-letters")
        let deadSubscription = try f.client.subscription("dead-letters-sub")
        try await f.client.createSubscription(deadSubscription, .init(topic: deadLetters))

        let ids = try await f.client.publish(f.topic, messages: [OutgoingMessage(data: Array("poison".utf8))])
        var attempts: [Int?] = []
        for _ in 1...5 {
            let got = try await f.pull(count: 1)
            try #require(got.count == 1)
            #expect(got[0].message.id == ids[0])
            attempts.append(got[0].deliveryAttempt)
            try await f.client.modifyAckDeadline(f.subscription, ackIDs: [got[0].ackID], seconds: 0)
        }
        #expect(attempts == [1, 2, 3, 4, 5])

        // The emulator moves the message when it would deliver it a sixth time: a pull triggers
        // that, and gets nothing (it is held, then times out on our side).
        let sixth = try? await f.client.pull(f.subscription, maxMessages: 10, timeout: .seconds(3))
        #expect(sixth?.isEmpty ?? true)

        let deadFixture = EmulatorFixture(
            client: f.client, transport: f.transport, topic: deadLetters, subscription: deadSubscription)
        let dead = try await deadFixture.pull(count: 1)
        try #require(dead.count == 1)
        #expect(dead[0].message.data == Array("poison".utf8))
        #expect(dead[0].message.attributes["CloudPubSubDeadLetterSourceDeliveryCount"] == "5")
    }
}
