import Foundation
import HoraeRules
import Testing

@testable import HoraeDispatcher

/// The logic behind `horae pubsub`, against the emulator: what it returns and its error messages
/// (what the command prints is PubSubCommandTests').
@Suite struct PubSubAdminTests {
    private func admin(_ hint: String) async throws -> PubSubAdmin {
        PubSubAdmin(client: try await PubSubEmulator.shared().client(project: PubSubEmulator.uniqueProject(hint)))
    }

    @Test func topicsCreateListDelete() async throws {
        let admin = try await admin("admin-topics")
        let p = admin.client.project
        #expect(try await admin.createTopic("alpha").description == "projects/\(p)/topics/alpha")
        #expect(try await admin.createTopic("projects/\(p)/topics/beta").description == "projects/\(p)/topics/beta")
        let topics = try await admin.listTopics()
        #expect(topics.map(\.name.description) == ["projects/\(p)/topics/alpha", "projects/\(p)/topics/beta"])
        #expect(
            topics.map(\.resource) == [
                .object([(key: "name", value: .string("projects/\(p)/topics/alpha"))]),
                .object([(key: "name", value: .string("projects/\(p)/topics/beta"))]),
            ])

        let exists = await #expect(throws: PubSubError.self) { _ = try await admin.createTopic("alpha") }
        #expect(exists?.message == "topic projects/\(p)/topics/alpha already exists")
        #expect(exists?.status == 409)

        #expect(try await admin.deleteTopic("alpha").description == "projects/\(p)/topics/alpha")
        let missing = await #expect(throws: PubSubError.self) { _ = try await admin.deleteTopic("alpha") }
        #expect(missing?.message == "topic projects/\(p)/topics/alpha does not exist")
        #expect(missing?.status == 404)
    }

    @Test func subscriptionsCreateListDelete() async throws {
        let admin = try await admin("admin-subs")
        let p = admin.client.project
        _ = try await admin.createTopic("uploads")
        _ = try await admin.createTopic("uploads-dead")
        let request = PubSubAdmin.SubscriptionRequest(
            topic: "uploads", ackDeadline: .seconds(90), deadLetterTopic: "uploads-dead", maxDeliveryAttempts: 6,
            minimumBackoff: .seconds(10), maximumBackoff: .seconds(600))
        let created = try await admin.createSubscription("uploads-worker", request)
        #expect(created.name.description == "projects/\(p)/subscriptions/uploads-worker")
        #expect(created.settings.topic.description == "projects/\(p)/topics/uploads")
        #expect(created.settings == (try request.settings(project: p)))
        _ = try await admin.createSubscription("uploads-plain", .init(topic: "uploads"))

        let subscriptions = try await admin.listSubscriptions()
        #expect(
            subscriptions.map(\.name.description) == [
                "projects/\(p)/subscriptions/uploads-plain", "projects/\(p)/subscriptions/uploads-worker",
            ])
        let plain = subscriptions[0]
        #expect(plain.topic == "projects/\(p)/topics/uploads")
        #expect(plain.ackDeadlineSeconds == 60)
        #expect(plain.deadLetterTopic == nil && plain.maxDeliveryAttempts == nil)
        #expect(plain.minimumBackoff == nil && plain.maximumBackoff == nil)
        let worker = subscriptions[1]
        #expect(worker.topic == "projects/\(p)/topics/uploads")
        #expect(worker.ackDeadlineSeconds == 90)
        #expect(worker.deadLetterTopic == "projects/\(p)/topics/uploads-dead")
        #expect(worker.maxDeliveryAttempts == 6)
        #expect(worker.minimumBackoff == .seconds(10))
        #expect(worker.maximumBackoff == .seconds(600))
        #expect(worker.resource["deadLetterPolicy"]?["maxDeliveryAttempts"] == .number("6"))

        let exists = await #expect(throws: PubSubError.self) {
            _ = try await admin.createSubscription("uploads-plain", .init(topic: "uploads"))
        }
        #expect(exists?.message == "subscription projects/\(p)/subscriptions/uploads-plain already exists")

        #expect(
            try await admin.deleteSubscription("uploads-plain").description
                == "projects/\(p)/subscriptions/uploads-plain")
        let missing = await #expect(throws: PubSubError.self) {
            _ = try await admin.deleteSubscription("uploads-plain")
        }
        #expect(missing?.message == "subscription projects/\(p)/subscriptions/uploads-plain does not exist")
    }

    @Test func aMissingTopicOrDeadLetterTopicIsNamed() async throws {
        let admin = try await admin("admin-missing")
        let p = admin.client.project
        let noTopic = await #expect(throws: PubSubError.self) {
            _ = try await admin.createSubscription("orphan", .init(topic: "ghost"))
        }
        #expect(noTopic?.message == "topic projects/\(p)/topics/ghost does not exist")
        #expect(noTopic?.status == 404)

        _ = try await admin.createTopic("real")
        let noDeadLetters = await #expect(throws: PubSubError.self) {
            _ = try await admin.createSubscription("orphan", .init(topic: "real", deadLetterTopic: "ghost-dead"))
        }
        #expect(noDeadLetters?.message == "dead-letter topic projects/\(p)/topics/ghost-dead does not exist")
    }

    @Test func requestsAreCheckedWithoutSending() throws {
        func message(_ request: PubSubAdmin.SubscriptionRequest) -> String? {
            (#expect(throws: PubSubError.self) { _ = try request.settings(project: "p") })?.message
        }
        #expect(
            message(.init(topic: "t"))
                == "`t` is not a valid topic id: 3–255 characters, starting with a letter, of letters, digits and - _ . ~ + %, not starting with `goog`"
        )
        #expect(
            message(.init(topic: "topic", ackDeadline: .milliseconds(1_500)))
                == "the ack deadline is a whole number of seconds, not 1s500ms")
        #expect(
            message(.init(topic: "topic", maxDeliveryAttempts: 5))
                == "max delivery attempts go with a dead-letter topic")
        #expect(
            message(.init(topic: "topic", ackDeadline: .seconds(700)))
                == "the ack deadline must be 10 to 600 seconds, not 700")
        let ok = try PubSubAdmin.SubscriptionRequest(topic: "topic", deadLetterTopic: "projects/q/topics/dead")
            .settings(project: "p")
        #expect(ok.deadLetterTopic?.description == "projects/q/topics/dead")
        #expect(ok.maxDeliveryAttempts == 5)
    }
}
