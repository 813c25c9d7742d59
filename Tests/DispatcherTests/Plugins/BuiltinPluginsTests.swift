import HoraeRules
import Logging
import Testing

@testable import HoraeDispatcher

struct BuiltinPluginsTests {
    @Test func registryHoldsEveryPlugin() async throws {
        let transport = try CurlHTTPClient()
        let registry = PluginRegistry(
            BuiltinPlugins.make(
                processRunner: ProcessRunner(), httpTransport: transport, publisher: FakePublisher(project: "p"),
                logger: Logger(label: "test")))
        #expect(registry.available == [.bigqueryLoad, .elasticsearchAlias, .exec, .gcs, .http, .log, .publish])
        #expect(Set(registry.available) == Set(Plugin.allCases))
        #expect(registry[.exec] is ExecPlugin)
        #expect(registry[.http] is HTTPPlugin)
        #expect(registry[.publish] is PublishPlugin)
        #expect(registry[.log] is LogPlugin)
        #expect(registry[.gcs] is GCSPlugin)
        #expect(registry[.bigqueryLoad] is BigQueryLoadPlugin)
        #expect(registry[.elasticsearchAlias] is ElasticsearchAliasPlugin)
        #expect((registry[.gcs] as? GCSPlugin)?.downloadBudget.capacity == DownloadBudget.defaultCapacity)
    }

    @Test func gcsDownloadsShareTheBudgetTheDaemonConfigures() throws {
        let plugins = BuiltinPlugins.make(
            processRunner: ProcessRunner(), httpTransport: try CurlHTTPClient(), publisher: FakePublisher(project: "p"),
            logger: Logger(label: "test"), environment: ["STORAGE_EMULATOR_HOST": "127.0.0.1:1"],
            downloadBytesInFlight: 256 << 20)
        let gcs = try #require(plugins.compactMap { $0 as? GCSPlugin }.first)
        #expect(gcs.downloadBudget.capacity == 256 << 20)
    }
}
