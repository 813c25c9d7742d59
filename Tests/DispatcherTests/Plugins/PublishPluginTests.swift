import Foundation
import HoraeRules
import Synchronization
import Testing

@testable import HoraeDispatcher

/// The `publish` plugin against the real Pub/Sub emulator, and its error classification with a
/// publisher that fails on demand.
struct PublishPluginTests {
    typealias S = PluginTestSupport

    /// Creates a topic with a subscription in a project of its own.
    func setUp(topic: String = "plugin-out") async throws -> (PubSubClient, PubSubResourceName, PubSubResourceName) {
        let emulator = try await PubSubEmulator.shared()
        let client = try emulator.client(project: PubSubEmulator.uniqueProject("plugins"))
        let topicName = try client.topic(topic)
        let subscription = try client.subscription("\(topic)-sub")
        try await client.createTopic(topicName)
        try await client.createSubscription(subscription, .init(topic: topicName))
        return (client, topicName, subscription)
    }

    func pullOne(_ client: PubSubClient, _ subscription: PubSubResourceName) async throws -> PubSubMessage? {
        for _ in 0..<20 {
            let received = try await client.pull(subscription, maxMessages: 10)
            if let first = received.first {
                try await client.acknowledge(subscription, ackIDs: received.map(\.ackID))
                return first.message
            }
        }
        return nil
    }

    @Test func publishesDataAttributesAndOrderingKey() async throws {
        let (client, _, subscription) = try await setUp()
        let hostile = #"x", "admin": "1"#
        let action = try S.action(
            #"""
            { publish: { topic: plugin-out, data: "loaded {{ attributes.objectId }}",
              attributes: { objectId: "{{ attributes.objectId }}", eventType: GOCC_LOADED, rule: "{{ rule }}" },
              orderingKey: "{{ attributes.bucketId }}" } }
            """#)
        let outcome = await PublishPlugin(publisher: client).run(
            try S.invocation(action, message: S.message(["objectId": hostile, "bucketId": "ven-cust-a"])))
        guard case .success(let id?, _) = outcome else {
            Issue.record("not published: \(outcome)")
            return
        }
        #expect(!id.isEmpty)

        let message = try #require(try await pullOne(client, subscription))
        #expect(message.id == id)
        #expect(message.data == Array("loaded \(hostile)".utf8))
        #expect(message.attributes == ["objectId": hostile, "eventType": "GOCC_LOADED", "rule": "plugin-test"])
        #expect(message.orderingKey == "ven-cust-a")
    }

    @Test func jsonPayloadIsBuiltFromTheTree() async throws {
        let (client, _, subscription) = try await setUp()
        let hostile = #"a", "admin": true, "b": ""#
        let action = try S.action(
            #"""
            { publish: { topic: "projects/\#(client.project)/topics/plugin-out",
              json: { codename: "{{ attributes.c }}", tables: [goods, category], rows: 3 } } }
            """#)
        let outcome = await PublishPlugin(publisher: client).run(
            try S.invocation(action, message: S.message(["c": hostile])))
        #expect(outcome.isSuccess, "\(outcome)")
        let message = try #require(try await pullOne(client, subscription))
        let payload = try JSONParser.parse(message.data)
        #expect(
            payload
                == .object([
                    (key: "codename", value: .string(hostile)),
                    (key: "tables", value: .array([.string("goods"), .string("category")])),
                    (key: "rows", value: .number("3")),
                ]))
    }

    @Test func missingTopicIsPermanent() async throws {
        let emulator = try await PubSubEmulator.shared()
        let client = try emulator.client(project: PubSubEmulator.uniqueProject("plugins"))
        let outcome = await PublishPlugin(publisher: client).run(
            try S.invocation(#"{ publish: { topic: no-such-topic, data: x } }"#))
        #expect(outcome.isPermanent, "\(outcome)")
        #expect(outcome.text.contains("404"), "\(outcome)")
    }

    @Test(arguments: [
        "../x", "{{ attributes.t }}", "projects/p/subscriptions/abc", "goog-topic", "ab",
        "projects//topics/abc", "a/b",
    ])
    func invalidTopicNameIsPermanentAndNothingIsSent(_ topic: String) async throws {
        let publisher = FakePublisher(project: "p")
        let outcome = await PublishPlugin(publisher: publisher).run(
            try S.invocation(
                #"{ publish: { topic: \#(S.yamlQuoted(topic)), data: x } }"#,
                attributes: ["t": "x?y=1/../../z"]))
        #expect(outcome.isPermanent, "\(topic): \(outcome)")
        #expect(publisher.calls == 0)
    }

    /// A value may fill in a topic's name but not name another project's topic.
    @Test(arguments: [
        ("{{ attributes.t }}", "projects/other/topics/t"),
        ("projects/p/topics/{{ attributes.t }}", "OTHER/topics/T"),
        ("projects/{{ attributes.t }}/topics/out", "other/topics/x/../p"),
    ])
    func aValueCannotChangeTheTopicsShapeAndNothingIsSent(_ topic: String, _ value: String) async throws {
        let publisher = FakePublisher(project: "p")
        let outcome = await PublishPlugin(publisher: publisher).run(
            try S.invocation(#"{ publish: { topic: \#(S.yamlQuoted(topic)), data: x } }"#, attributes: ["t": value]))
        #expect(outcome.isPermanent, "\(topic) \(value): \(outcome)")
        #expect(outcome.text.contains("`topic`") && outcome.text.contains("`attributes.t`"), "\(outcome)")
        #expect(publisher.calls == 0)
    }

    @Test func theRuleMayWriteTheTopicsProjectAroundAValue() async throws {
        let publisher = FakePublisher(project: "p")
        let outcome = await PublishPlugin(publisher: publisher).run(
            try S.invocation(
                #"{ publish: { topic: "projects/q/topics/{{ attributes.t }}", data: x } }"#, attributes: ["t": "out"]))
        #expect(outcome.isSuccess, "\(outcome)")
        #expect(publisher.sent.first?.topic.description == "projects/q/topics/out")
    }

    @Test func errorsAreClassified() async throws {
        let cases: [(PubSubError, Bool?)] = [  // true: retryable, false: permanent
            (PubSubError(.http, "unavailable", status: 503, isRetryable: true), true),
            (PubSubError(.http, "internal", status: 500, isRetryable: true), true),
            (PubSubError(.http, "too many", status: 429, isRetryable: true), true),
            (PubSubError(.http, "bad", status: 400), false),
            (PubSubError(.http, "forbidden", status: 403), false),
            (PubSubError(.http, "not found", status: 404), false),
            (PubSubError(.transport, "connection refused", isRetryable: true), true),
            (PubSubError(.transport, "bad request", isRetryable: false), false),
            (PubSubError(.invalidResponse, "garbage", isRetryable: true), true),
            (PubSubError(.credentials, "metadata server down", isRetryable: true), true),
            (PubSubError(.credentials, "bad key", isRetryable: false), false),
        ]
        for (error, retryable) in cases {
            let publisher = FakePublisher(project: "p", failure: error)
            let outcome = await PublishPlugin(publisher: publisher).run(
                try S.invocation(#"{ publish: { topic: out-topic, data: x } }"#))
            #expect(retryable == true ? outcome.isRetryable : outcome.isPermanent, "\(error): \(outcome)")
            #expect(publisher.calls == 1)
        }
    }

    @Test func fakePublisherReceivesTheMessage() async throws {
        let publisher = FakePublisher(project: "proj")
        let outcome = await PublishPlugin(publisher: publisher).run(
            try S.invocation(
                #"{ publish: { topic: out-topic, data: "{{ attributes.a }}", attributes: { k: v }, orderingKey: "" } }"#,
                attributes: ["a": "payload"]))
        #expect(outcome == .success(output: "id-1"))
        let sent = try #require(publisher.sent.first)
        #expect(sent.topic.description == "projects/proj/topics/out-topic")
        #expect(sent.message == OutgoingMessage(data: Array("payload".utf8), attributes: ["k": "v"], orderingKey: nil))
    }
}

/// A ``MessagePublisher`` that records what it is asked to publish and fails on demand.
final class FakePublisher: MessagePublisher {
    let project: String
    let failure: PubSubError?
    private let state = Mutex<[(topic: PubSubResourceName, message: OutgoingMessage)]>([])
    private let attempts = Atomic<Int>(0)

    init(project: String, failure: PubSubError? = nil) {
        self.project = project
        self.failure = failure
    }

    var calls: Int { attempts.load(ordering: .relaxed) }
    var sent: [(topic: PubSubResourceName, message: OutgoingMessage)] { state.withLock { $0 } }

    func topic(_ name: String) throws(PubSubError) -> PubSubResourceName {
        try PubSubResourceName(name, kind: .topics, defaultProject: project)
    }

    func publish(_ topic: PubSubResourceName, messages: [OutgoingMessage]) async throws(PubSubError) -> [String] {
        attempts.add(1, ordering: .relaxed)
        if let failure { throw failure }
        state.withLock { $0 += messages.map { (topic: topic, message: $0) } }
        return messages.indices.map { "id-\($0 + 1)" }
    }
}
