import Foundation
import HoraeRules
import Logging
import Testing

@testable import HoraeDispatcher

/// How ``BuiltinPlugins/make(processRunner:httpTransport:publisher:logger:execEnvironment:terminationGrace:environment:project:downloadBytesInFlight:googleCredentials:)``
/// sets up `gcs` and `bigquery.load` from the daemon's environment.
struct BuiltinPluginsEnvironmentTests {
    typealias S = PluginTestSupport

    static func plugins(
        environment: [String: String], project: String? = nil,
        credentials: (any CredentialsProvider)? = nil
    ) throws -> PluginRegistry {
        PluginRegistry(
            BuiltinPlugins.make(
                processRunner: ProcessRunner(), httpTransport: try CurlHTTPClient(),
                publisher: FakePublisher(project: "p"),
                logger: Logger(label: "test"), environment: environment, project: project,
                googleCredentials: credentials))
    }

    @Test func gcsUsesStorageEmulatorHostWithoutCredentials() async throws {
        let server = try await FakeGCSServer.shared()
        let bucket = FakeGCSServer.uniqueBucket("factory")
        try await server.createBucket(bucket)
        let gcs = try #require(
            try Self.plugins(
                environment: ["STORAGE_EMULATOR_HOST": server.host],
                credentials: FailingCredentials(retryable: false))[.gcs])
        try await server.upload(bucket, "via-factory.txt", "f")
        let outcome = await gcs.run(
            try S.invocation(#"{ gcs: { operation: delete, bucket: "\#(bucket)", object: via-factory.txt } }"#))
        #expect(outcome.isSuccess, "the emulator needs no credentials: \(outcome)")
        #expect(try await server.read(bucket, "via-factory.txt") == nil)
    }

    @Test func bigQueryOverPlainHTTPGetsNoCredentialsAgainstALocalJobsAPIStandIn() async throws {
        let standIn = try BigQueryLoadPluginTests.JobsAPIStandIn(.runningThenDone(polls: 1, rows: 5))
        defer { standIn.stop() }
        let plugin = try #require(
            try Self.plugins(
                environment: ["HORAE_BIGQUERY_ENDPOINT": standIn.baseURL], project: "proj-1",
                credentials: StaticCredentials())[.bigqueryLoad])
        let outcome = await plugin.run(
            try S.invocation(#"{ bigquery.load: { sourceUris: ["gs://b/x.csv"], table: ds.t } }"#))
        #expect(outcome.isSuccess, "\(outcome)")
        #expect(standIn.requests.first?.target == "/bigquery/v2/projects/proj-1/jobs", "the daemon's project")
        #expect(standIn.requests.allSatisfy { $0.header("Authorization") == nil })
    }

    @Test func anUnreadableKeyFileFailsTheGoogleActionsPermanentlyWithoutARequest() async throws {
        // PUBSUB_EMULATOR_HOST does not mean "no credentials" for Cloud Storage and BigQuery.
        let environment = [
            "GOOGLE_APPLICATION_CREDENTIALS": "/nonexistent/horae-key.json", "PUBSUB_EMULATOR_HOST": "127.0.0.1:1",
        ]
        let registry = try Self.plugins(environment: environment, project: "proj-1")
        let gcs = try await #require(registry[.gcs]).run(
            try S.invocation(#"{ gcs: { operation: delete, bucket: b-1, object: x } }"#))
        #expect(gcs.isPermanent, "\(gcs)")
        #expect(gcs.text.contains("/nonexistent/horae-key.json"), "\(gcs)")
        let load = try await #require(registry[.bigqueryLoad]).run(
            try S.invocation(#"{ bigquery.load: { sourceUris: ["gs://b/x.csv"], table: ds.t } }"#))
        #expect(load.isPermanent, "\(load)")
        #expect(load.text.contains("/nonexistent/horae-key.json"), "\(load)")
    }
}
