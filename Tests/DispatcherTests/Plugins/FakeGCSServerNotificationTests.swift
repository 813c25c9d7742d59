import Foundation
import HoraeRules
import Testing

@testable import HoraeDispatcher

/// `scripts/fake-gcs-server.sh` with `-event.pubsub-project-id` / `-event.pubsub-topic`: an upload
/// publishes a Cloud Storage notification to the Pub/Sub emulator, as the demo uses it. Talks to
/// the emulator's REST API directly (plain libcurl calls), so it does not depend on the Pub/Sub
/// client's API.
struct FakeGCSServerNotificationTests {
    @Test func anUploadPublishesAnObjectFinalizeNotificationToThePubSubEmulator() async throws {
        let emulator = try await PubSubEmulator.shared()
        let project = PubSubEmulator.uniqueProject("gcs-events")
        let transport = try CurlHTTPClient()
        func call(_ method: String, _ path: String, _ body: String) async throws -> JSONValue {
            let response = try await transport.send(
                HTTPRequest(
                    method: method, url: "\(emulator.endpoint)/v1/projects/\(project)/\(path)",
                    headers: [(name: "Content-Type", value: "application/json")], body: Array(body.utf8)))
            #expect(response.isSuccess, "\(method) \(path): HTTP \(response.status)")
            return try JSONParser.parse(response.body)
        }
        _ = try await call("PUT", "topics/bucket-events", "{}")
        _ = try await call(
            "PUT", "subscriptions/bucket-events", #"{"topic":"projects/\#(project)/topics/bucket-events"}"#)

        let server = try await FakeGCSServer.start(
            extraArguments: ["-event.pubsub-project-id", project, "-event.pubsub-topic", "bucket-events"],
            environment: ["PUBSUB_EMULATOR_HOST": emulator.host])
        defer { server.stop() }
        try await server.createBucket("ven-cust-sohappy")
        try await server.upload("ven-cust-sohappy", "gocc/sohappy_gocc_20190115.tar.gz", "archive")

        var attributes: JSONValue?
        for _ in 0..<20 where attributes == nil {
            let pulled = try await call(
                "POST", "subscriptions/bucket-events:pull", #"{"maxMessages":10,"returnImmediately":true}"#)
            if case .array(let items)? = pulled["receivedMessages"], let first = items.first {
                attributes = first["message"]?["attributes"]
            } else {
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        let received = try #require(attributes, "no notification reached the emulator")
        #expect(received["eventType"] == .string("OBJECT_FINALIZE"))
        #expect(received["bucketId"] == .string("ven-cust-sohappy"))
        #expect(received["objectId"] == .string("gocc/sohappy_gocc_20190115.tar.gz"))
        #expect(received["objectGeneration"]?.string?.isEmpty == false)
        #expect(received["payloadFormat"] == .string("JSON_API_V1"))
    }
}
