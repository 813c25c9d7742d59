import Foundation
import HoraeRules
import Logging
import Testing

@testable import HoraeDispatcher

/// `state:` and `postgres:` in `horae.yaml` (docs/daemon.md, "State store"), and the store the
/// daemon opens from them.
@Suite struct StateStoreConfigTests {
    static let base = "subscriptions: { events: { name: events-sub } }\n"

    static func errors(_ text: String, environment: [String: String] = [:]) -> [String] {
        let loaded = DaemonConfigLoader.load(text: base + text, environment: environment)
        #expect(loaded.config == nil)
        return loaded.diagnostics.map(\.message)
    }

    @Test func aDirectoryIsTheSQLiteStore() throws {
        let config = try #require(DaemonConfigLoader.load(text: Self.base + "state: ./var/horae\n").config)
        #expect(config.state == "./var/horae")
        #expect(try StateStoreLocation.parse(config.state) == .directory("./var/horae"))
        // A colon alone does not make a URL.
        #expect(try StateStoreLocation.parse("data:2026") == .directory("data:2026"))
    }

    @Test func aPostgresURLIsParsedWithItsDefaults() throws {
        let config = try #require(
            DaemonConfigLoader.load(text: Self.base + "state: postgres://horae@db.internal/jobs\n").config)
        guard case .postgres(let url) = try StateStoreLocation.parse(config.state) else {
            Issue.record("not a postgres location")
            return
        }
        #expect(url == PostgresURL(user: "horae", host: "db.internal", port: 5432, database: "jobs", sslMode: .prefer))
        let full = try PostgresURL(
            parsing: "postgresql://h%40rae@[::1]:6432/my%20db?sslmode=verify-full&sslrootcert=/etc/ca.pem")
        #expect(full.user == "h@rae")
        #expect(full.host == "::1")
        #expect(full.port == 6432)
        #expect(full.database == "my db")
        #expect(full.sslMode == .verifyFull)
        #expect(full.sslRootCert == "/etc/ca.pem")
        #expect(full.redacted == "postgres://h%40rae@[::1]:6432/my%20db?sslmode=verify-full")
        // No database: the user's name, as in libpq.
        #expect(try PostgresURL(parsing: "postgres://horae@db").database == "horae")
    }

    /// `state: mysql://…` used to become a directory named `mysql:` beside the config.
    @Test func aURLWithASchemeHoraeDoesNotKnowIsAConfigError() {
        let messages = Self.errors("state: mysql://horae@db/jobs\n")
        #expect(messages.count == 1)
        #expect(messages.first?.contains("`mysql://` is not a scheme Horae knows") == true)
        let fromEnvironment = Self.errors("", environment: ["HORAE_STATE": "redis://cache:6379"])
        #expect(fromEnvironment.first?.hasPrefix("HORAE_STATE: ") == true)
        #expect(throws: StateStoreLocationError.self) { try StateStoreLocation.parse("sqlite:///var/horae") }
    }

    @Test func aPasswordInTheURLIsRefusedWithoutBeingRepeated() {
        let messages = Self.errors("state: postgres://horae:hunter2@db/jobs\n")
        #expect(messages.count == 1)
        #expect(messages.first?.contains("holds a password") == true)
        #expect(messages.first?.contains("hunter2") == false)
        // Nor is its line quoted under the message, as other config errors' are.
        let text = Self.base + "state: postgres://horae:hunter2@db/jobs\n"
        let diagnostics = DaemonConfigLoader.load(text: text).diagnostics
        let rendered = DiagnosticRenderer(sourceText: { _ in text }).renderText(diagnostics)
        #expect(rendered.contains("holds a password"))
        #expect(!rendered.contains("hunter2"))
    }

    @Test func badPostgresURLsSayWhatIsWrong() {
        #expect(Self.errors("state: postgres://db/jobs\n").first?.contains("needs a user") == true)
        #expect(Self.errors("state: postgres://horae@db:99999/jobs\n").first?.contains("port") == true)
        #expect(Self.errors("state: postgres://horae@db/jobs?sslmode=always\n").first?.contains("verify-full") == true)
        #expect(Self.errors("state: postgres://horae@db/jobs?password=x\n").first?.contains("sslmode") == true)
        #expect(Self.errors("state: postgres://horae@db/a/b\n").first?.contains("one path segment") == true)
    }

    @Test func thePostgresSectionIsReadAndChecked() throws {
        let text = """
            state: postgres://horae@db/jobs
            postgres: { maxConnections: 4, connectTimeout: 3s, passwordFile: /run/secrets/pg }
            """
        let config = try #require(DaemonConfigLoader.load(text: Self.base + text).config)
        #expect(config.postgres.maxConnections == 4)
        #expect(config.postgres.connectTimeout == .seconds(3))
        #expect(config.postgres.passwordFile == "/run/secrets/pg")
        #expect(DaemonConfigLoader.load(text: Self.base).config?.postgres == DaemonConfig.PostgresOptions())
        #expect(!Self.errors("postgres: { maxConnections: 0 }\n").isEmpty)
        #expect(Self.errors("postgres: { password: x }\n").first?.contains("password") == true)
    }

    /// A `--state` flag is checked as the file's `state:` is, when the daemon starts.
    @Test func theDaemonRefusesAnUnknownSchemeAsAConfigurationError() throws {
        var config = DaemonConfig()
        config.state = "mysql://horae@db/jobs"
        let error = try #require(throws: Daemon.StartupError.self) { try Daemon.openStore(config) }
        #expect(error.isConfigurationError)
        #expect(error.description.contains("mysql://"))
    }

    @Test func theDaemonOpensThePostgresStoreTheURLNames() async throws {
        let server = try await PostgresServer.shared()
        let database = try await server.createDatabase()
        defer { server.dropDatabaseNow(database) }
        var config = DaemonConfig()
        config.state = server.url(database: database).redacted
        let store = try Daemon.openStore(config)
        defer { store.close() }
        #expect(store is PostgresStateStore)
        #expect(store.location == server.url(database: database).redacted)
        #expect(
            try await server.psql("SELECT version FROM horae_schema", database: database) == String(StoreSchema.version)
        )
    }
}
