import Foundation
import HoraeRules
import Testing

@testable import HoraeDispatcher

/// Topics and subscriptions: create, read back, list, delete, against the official emulator.
@Suite struct PubSubClientAdminTests {
    private func client(_ hint: String) async throws -> (PubSubClient, RecordingTransport) {
        let transport = try RecordingTransport()
        return (
            try await PubSubEmulator.shared().client(project: PubSubEmulator.uniqueProject(hint), transport: transport),
            transport
        )
    }

    @Test func topicLifecycle() async throws {
        let (client, _) = try await client("topics")
        let topic = try client.topic("orders")
        #expect(try await client.getTopic(topic) == nil)
        try await client.createTopic(topic)
        #expect(try await client.getTopic(topic)?["name"]?.string == "projects/\(client.project)/topics/orders")
        #expect(try await client.listTopics() == ["projects/\(client.project)/topics/orders"])

        let duplicate = await #expect(throws: PubSubError.self) { try await client.createTopic(topic) }
        #expect(duplicate?.code == .http)
        #expect(duplicate?.status == 409)
        #expect(duplicate?.isRetryable == false)
        #expect(duplicate?.message.contains("create topic projects/\(client.project)/topics/orders") == true)

        try await client.deleteTopic(topic)
        #expect(try await client.getTopic(topic) == nil)
        #expect(try await client.listTopics().isEmpty)
        let missing = await #expect(throws: PubSubError.self) { try await client.deleteTopic(topic) }
        #expect(missing?.status == 404)
        #expect(missing?.isRetryable == false)
    }

    @Test func subscriptionSettingsReadBackAsCreated() async throws {
        let (client, _) = try await client("subs")
        let topic = try client.topic("uploads")
        let deadLetters = try client.topic("uploads-dead")
        try await client.createTopic(topic)
        try await client.createTopic(deadLetters)
        let name = try client.subscription("uploads-worker")
        var settings = PubSubClient.SubscriptionSettings(topic: topic)
        settings.ackDeadlineSeconds = 42
        settings.deadLetterTopic = deadLetters
        settings.maxDeliveryAttempts = 7
        settings.minimumBackoff = .seconds(15)
        settings.maximumBackoff = .milliseconds(300_500)
        try await client.createSubscription(name, settings)

        let got = try #require(try await client.getSubscription(name))
        #expect(got.name == name)
        #expect(got.topic == topic.description)
        #expect(got.ackDeadlineSeconds == 42)
        #expect(got.deadLetterTopic == deadLetters.description)
        #expect(got.maxDeliveryAttempts == 7)
        #expect(got.minimumBackoff == .seconds(15))
        #expect(got.maximumBackoff == .milliseconds(300_500))
        #expect(got.resource["messageRetentionDuration"] != nil, "the whole resource is kept")

        let duplicate = await #expect(throws: PubSubError.self) { try await client.createSubscription(name, settings) }
        #expect(duplicate?.status == 409)

        #expect(try await client.listSubscriptions() == [name.description])
        let resources = try await client.listResources(.subscriptions)
        #expect(try resources.map { try PubSubSubscription(resource: $0) } == [got])

        try await client.deleteSubscription(name)
        #expect(try await client.getSubscription(name) == nil)
        #expect(try await client.listSubscriptions().isEmpty)
    }

    @Test func subscriptionDefaultsHaveNoPolicies() async throws {
        let (client, _) = try await client("defaults")
        let topic = try client.topic("plain")
        try await client.createTopic(topic)
        let name = try client.subscription("plain-sub")
        try await client.createSubscription(name, .init(topic: topic))
        let got = try #require(try await client.getSubscription(name))
        #expect(got.ackDeadlineSeconds == 60)
        #expect(got.deadLetterTopic == nil)
        #expect(got.maxDeliveryAttempts == nil)
        #expect(got.minimumBackoff == nil)
        #expect(got.maximumBackoff == nil)

        // Deleting the topic detaches the subscription.
        try await client.deleteTopic(topic)
        #expect(try await client.getSubscription(name)?.topic == PubSubSubscription.deletedTopic)
    }

    @Test func listingFollowsPageTokens() async throws {
        let (client, transport) = try await client("pages")
        let names = (1...5).map { "topic-\($0)" }
        for name in names { try await client.createTopic(try client.topic(name)) }
        let before = transport.requests.count
        let listed = try await client.listResources(.topics, pageSize: 2).compactMap { $0["name"]?.string }
        #expect(listed.sorted() == names.map { "projects/\(client.project)/topics/\($0)" })
        let pages = transport.requests.dropFirst(before)
        #expect(pages.count == 3)
        #expect(pages.dropFirst().allSatisfy { $0.contains("pageToken=") })
    }

    /// `+`, `%` and `~` are allowed in ids: they travel percent-encoded and come back as written.
    /// (Not `%` followed by `25`: the emulator decodes `%25` twice.)
    @Test func idsWithReservedCharactersRoundTrip() async throws {
        let (client, transport) = try await client("escapes")
        let topic = try client.topic("odd+name%zz~x")
        try await client.createTopic(topic)
        let endpoint = try await PubSubEmulator.shared().endpoint
        #expect(transport.requests.last == "PUT \(endpoint)/v1/projects/\(client.project)/topics/odd%2Bname%25zz~x")
        #expect(try await client.listTopics() == ["projects/\(client.project)/topics/odd+name%zz~x"])
        #expect(try await client.getTopic(topic) != nil)
    }
}
