import Foundation
import HoraeRules
import Synchronization
import Testing

@testable import HoraeDispatcher

/// An access token the API no longer accepts (expired early, revoked): a 401 drops the cached
/// token, a new one is fetched and the call is sent once more. Tokens come from
/// ``FakeMetadataServer`` (`ya29.metadata-token-N`); the Google APIs are a local stand-in that
/// rejects the tokens it is told to.
@Suite struct RejectedTokenTests {
    typealias S = PluginTestSupport

    /// A stand-in Google API: 401 for a rejected bearer token, else `answer`.
    final class APIStandIn: Sendable {
        let server: TestHTTPServer
        init(rejecting rejected: Set<String>, answer: TestHTTPServer.Response) throws {
            server = try TestHTTPServer { request in
                let token = request.header("Authorization")?.replacingOccurrences(of: "Bearer ", with: "") ?? ""
                if rejected.contains(token) {
                    return .init(
                        status: 401,
                        json: #"{"error":{"code":401,"message":"Request had invalid authentication credentials."}}"#)
                }
                return answer
            }
        }
        var tokensSeen: [String] { server.requests.map { $0.header("Authorization") ?? "" } }
        func stop() { server.stop() }
    }

    @Test func aRejectedTokenIsRefreshedOnceAndTheGCSCallSucceedsAgainstAStandIn() async throws {
        let metadata = try FakeMetadataServer()
        defer { metadata.stop() }
        let api = try APIStandIn(rejecting: ["ya29.metadata-token-1"], answer: .init(status: 204, body: []))
        defer { api.stop() }
        let credentials = MetadataServerCredentials(transport: try CredentialsTestTransport.make(), host: metadata.host)
        let plugin = GCSPlugin(transport: try CurlHTTPClient(), credentials: credentials, endpoint: api.server.baseURL)

        let outcome = await plugin.run(try S.invocation(#"{ gcs: { operation: delete, bucket: b-1, object: x } }"#))
        #expect(outcome == .success(output: "deleted \"gs://b-1/x\""), "\(outcome)")
        #expect(api.tokensSeen == ["Bearer ya29.metadata-token-1", "Bearer ya29.metadata-token-2"])
        #expect(metadata.hits == 2, "exactly one refresh")
        // The new token is cached: the next call needs no refresh.
        let again = try S.invocation(#"{ gcs: { operation: delete, bucket: b-1, object: y } }"#)
        #expect(await plugin.run(again).isSuccess)
        #expect(metadata.hits == 2)
    }

    @Test func twoRejectedTokensFailTheGCSCallAfterExactlyOneRetryAgainstAStandIn() async throws {
        let metadata = try FakeMetadataServer()
        defer { metadata.stop() }
        let api = try APIStandIn(
            rejecting: ["ya29.metadata-token-1", "ya29.metadata-token-2", "ya29.metadata-token-3"],
            answer: .init(status: 204, body: []))
        defer { api.stop() }
        let credentials = MetadataServerCredentials(transport: try CredentialsTestTransport.make(), host: metadata.host)
        let plugin = GCSPlugin(transport: try CurlHTTPClient(), credentials: credentials, endpoint: api.server.baseURL)

        let outcome = await plugin.run(try S.invocation(#"{ gcs: { operation: delete, bucket: b-1, object: x } }"#))
        #expect(outcome.isPermanent, "\(outcome)")
        #expect(outcome.text.contains("HTTP 401"), "\(outcome)")
        #expect(!outcome.text.contains("ya29."), "no token in messages")
        #expect(api.tokensSeen == ["Bearer ya29.metadata-token-1", "Bearer ya29.metadata-token-2"])
        #expect(metadata.hits == 2)
    }

    @Test func aRejectedTokenIsRefreshedOnceAndThePubSubCallSucceedsAgainstAStandIn() async throws {
        let metadata = try FakeMetadataServer()
        defer { metadata.stop() }
        let api = try APIStandIn(
            rejecting: ["ya29.metadata-token-1"], answer: .init(json: #"{"messageIds":["7"]}"#))
        defer { api.stop() }
        let credentials = MetadataServerCredentials(transport: try CredentialsTestTransport.make(), host: metadata.host)
        let client = try PubSubClient(
            project: "proj-1", endpoint: api.server.baseURL, transport: try CurlHTTPClient(),
            credentials: credentials)

        let ids = try await client.publish(try client.topic("topic-1"), messages: [OutgoingMessage(data: [1])])
        #expect(ids == ["7"])
        #expect(api.tokensSeen == ["Bearer ya29.metadata-token-1", "Bearer ya29.metadata-token-2"])
        #expect(metadata.hits == 2, "exactly one refresh")
    }

    @Test func twoRejectedTokensFailThePubSubCallAfterExactlyOneRetryAgainstAStandIn() async throws {
        let metadata = try FakeMetadataServer()
        defer { metadata.stop() }
        let api = try APIStandIn(
            rejecting: ["ya29.metadata-token-1", "ya29.metadata-token-2", "ya29.metadata-token-3"],
            answer: .init(json: #"{"receivedMessages":[]}"#))
        defer { api.stop() }
        let credentials = MetadataServerCredentials(transport: try CredentialsTestTransport.make(), host: metadata.host)
        let client = try PubSubClient(
            project: "proj-1", endpoint: api.server.baseURL, transport: try CurlHTTPClient(),
            credentials: credentials)

        let error = await #expect(throws: PubSubError.self) {
            _ = try await client.pull(try client.subscription("sub-1"), maxMessages: 1)
        }
        #expect(error?.status == 401)
        #expect(error?.isRetryable == false)
        #expect(api.tokensSeen == ["Bearer ya29.metadata-token-1", "Bearer ya29.metadata-token-2"])
        #expect(metadata.hits == 2)
    }

    @Test func withoutATokenToRefreshA401IsNotRetriedAgainstAStandIn() async throws {
        let api = try APIStandIn(rejecting: [""], answer: .init(status: 204, body: []))
        defer { api.stop() }
        let plugin = GCSPlugin(
            transport: try CurlHTTPClient(), credentials: NoCredentials(), endpoint: api.server.baseURL)
        let outcome = await plugin.run(try S.invocation(#"{ gcs: { operation: delete, bucket: b-1, object: x } }"#))
        #expect(outcome.isPermanent)
        #expect(api.server.requests.count == 1)
    }

    @Test func concurrentCallsRejectedWithOneTokenShareOneRefreshAgainstAStandIn() async throws {
        let metadata = try FakeMetadataServer()
        defer { metadata.stop() }
        let api = try APIStandIn(rejecting: ["ya29.metadata-token-1"], answer: .init(status: 204, body: []))
        defer { api.stop() }
        let credentials = MetadataServerCredentials(transport: try CredentialsTestTransport.make(), host: metadata.host)
        _ = try await credentials.authorizationHeaders()  // every call below starts with token 1
        let plugin = GCSPlugin(transport: try CurlHTTPClient(), credentials: credentials, endpoint: api.server.baseURL)
        let invocation = try S.invocation(#"{ gcs: { operation: delete, bucket: b-1, object: x } }"#)
        let outcomes = await withTaskGroup(of: ActionOutcome.self) { group in
            for _ in 0..<8 { group.addTask { await plugin.run(invocation) } }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(outcomes.allSatisfy { $0.isSuccess }, "\(outcomes)")
        #expect(metadata.hits == 2, "one refresh for all of them")
    }
}
