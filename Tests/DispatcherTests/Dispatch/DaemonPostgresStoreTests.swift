import Foundation
import Testing

@testable import HoraeDispatcher

/// A daemon whose `state:` is a `postgres://` URL: its tasks are recorded in that database, where
/// another store on it (another daemon) reads them.
@Suite(.serialized) struct DaemonPostgresStoreTests {
    @Test func aDaemonOnAPostgresStoreRecordsItsTasksThere() async throws {
        let server = try await PostgresServer.shared()
        let database = try await server.createDatabase()
        defer { server.dropDatabaseNow(database) }
        let url = server.url(database: database)
        try await withDaemon(
            DaemonHarness(rules: DispatcherEmulatorTests.uploadRule, configure: { $0.state = url.redacted })
        ) { h in
            #expect(h.daemon.store is PostgresStateStore)
            h.start()
            let id = try await h.publish(DaemonHarness.gcsEvent(object: "gocc/acme_gocc_20260101.tar.gz"))
            try await h.waitUntil("the task succeeded") { h.metrics["task.succeeded"] == 1 && h.metrics["acked"] == 1 }
            let other = try PostgresStateStore(configuration: .init(url: url))
            defer { other.close() }
            let key = TaskKey(messageID: id, rule: "upload")
            #expect(try await other.task(key)?.state == .succeeded)
            let changes = try await other.transitions(of: key).filter { $0.from != $0.to }.map(\.to)
            #expect(changes == [.running, .succeeded])
            #expect(!FileManager.default.fileExists(atPath: h.directory + "/state"))
        }
    }
}
