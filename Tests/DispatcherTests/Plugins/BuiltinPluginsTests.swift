import HoraeRules
import Logging
import Testing
@testable import HoraeDispatcher

struct BuiltinPluginsTests {
    @Test func registryHoldsTheFourPlugins() async throws {
        let transport = try CurlHTTPClient()
        let registry = BuiltinPlugins.registry(
            processRunner: ProcessRunner(), httpTransport: transport, publisher: FakePublisher(project: "p"),
            logger: Logger(label: "test"))
        #expect(registry.available == [.exec, .http, .log, .publish])
        #expect(registry[.exec] is ExecPlugin)
        #expect(registry[.http] is HTTPPlugin)
        #expect(registry[.publish] is PublishPlugin)
        #expect(registry[.log] is LogPlugin)
        #expect(registry[.gcs] == nil)
    }
}
