import Foundation
import Testing

@testable import HoraeDispatcher

/// What only the PostgreSQL store does (the contract is ``StateStoreTaskTests`` and its
/// siblings): its schema version and migrations under the advisory lock, its errors when the
/// server cannot be used, and keeping its password out of what it shows.
@Suite("PostgresStateStore: schema, connections, secrets")
struct PostgresStateStoreTests {
    typealias T = StoreTestTime

    static func version(_ server: PostgresServer, _ database: String) async throws -> String {
        try await server.psql("SELECT version FROM horae_schema", database: database)
    }

    @Test func theSchemaVersionIsRecordedAndReopeningMigratesNothing() async throws {
        let server = try await PostgresServer.shared()
        let database = try await server.createDatabase()
        defer { server.dropDatabaseNow(database) }
        let key = TaskKey(messageID: "m", rule: "r")
        do {
            let store = try PostgresStateStore(configuration: .init(url: server.url(database: database)))
            try await store.save(TaskRecord(key: key, state: .running, attempt: 2, createdAt: T.t0))
            store.close()
        }
        #expect(try await Self.version(server, database) == String(StoreSchema.version))
        let reopened = try PostgresStateStore(configuration: .init(url: server.url(database: database)))
        defer { reopened.close() }
        #expect(try await reopened.task(key)?.attempt == 2)
        #expect(try await Self.version(server, database) == String(StoreSchema.version))
        let tables = try await server.psql(
            "SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables WHERE schemaname = 'public'",
            database: database)
        #expect(tables == "dedup_keys,horae_schema,inbox,schedule_ticks,task_messages,tasks,transitions")
    }

    /// A database at version 1 (before the actions fingerprint) is migrated with its rows intact.
    @Test func aVersion1DatabaseIsMigratedWithItsTasksIntact() async throws {
        let server = try await PostgresServer.shared()
        let database = try await server.createDatabase()
        defer { server.dropDatabaseNow(database) }
        try await server.execute(
            "CREATE TABLE horae_schema (singleton BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (singleton), version INTEGER NOT NULL)",
            database: database)
        for statement in StoreSchema.migrations[0].postgres {
            try await server.execute(statement, database: database)
        }
        let key = TaskKey(messageID: "m1", rule: "upload")
        let id = PostgresStateStore.taskID(key)
        let t0 = T.t0.millisecondsSince1970
        try await server.execute(
            """
            INSERT INTO horae_schema (version) VALUES (1);
            INSERT INTO tasks VALUES ('\(id)', 'm1', 'upload', 'waiting', 1, 1, 'down', \(t0 + 60_000), 'k', 'out',
                                      'events', \(t0), \(t0 + 1000));
            INSERT INTO transitions (task_id, from_state, to_state, at) VALUES ('\(id)', NULL, 'running', \(t0)),
                ('\(id)', 'running', 'waiting', \(t0 + 1000));
            """, database: database)

        let store = try PostgresStateStore(configuration: .init(url: server.url(database: database)))
        defer { store.close() }
        #expect(try await Self.version(server, database) == String(StoreSchema.version))
        let record = try #require(try await store.task(key))
        #expect(record.state == .waiting)
        #expect(record.retryAt == T.at(60))
        #expect(record.actionsFingerprint == nil)
        #expect(try await store.transitions(of: key).map(\.to) == [.running, .waiting])
    }

    @Test func aDatabaseMigratedByANewerHoraeIsRefusedSayingSo() async throws {
        let server = try await PostgresServer.shared()
        let database = try await server.createDatabase()
        defer { server.dropDatabaseNow(database) }
        try PostgresStateStore(configuration: .init(url: server.url(database: database))).close()
        try await server.execute("UPDATE horae_schema SET version = \(StoreSchema.version + 1)", database: database)

        let error = try #require(throws: StateStoreError.self) {
            try PostgresStateStore(configuration: .init(url: server.url(database: database)))
        }
        #expect(error.code == .unsupportedSchema)
        #expect(error.message.contains(server.url(database: database).redacted))
        #expect(error.message.contains("schema version \(StoreSchema.version + 1)"))
        #expect(error.message.contains("newer Horae"))
        #expect(error.message.contains("up to \(StoreSchema.version)"))
        // Refused, not changed.
        #expect(try await Self.version(server, database) == String(StoreSchema.version + 1))
    }

    /// Daemons starting together on a new database: the advisory lock makes one migrate and the
    /// others find the schema in place.
    @Test func storesOpeningANewDatabaseAtOnceMigrateItOnce() async throws {
        let server = try await PostgresServer.shared()
        let database = try await server.createDatabase()
        defer { server.dropDatabaseNow(database) }
        let url = server.url(database: database)
        let opened = try await withThrowingTaskGroup(of: PostgresStateStore.self) { group in
            for _ in 0..<6 {
                group.addTask { try PostgresStateStore(configuration: .init(url: url)) }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(opened.count == 6)
        #expect(try await Self.version(server, database) == String(StoreSchema.version))
        #expect(try await server.psql("SELECT count(*) FROM horae_schema", database: database) == "1")
        let key = TaskKey(messageID: "m", rule: "r")
        try await opened[0].save(TaskRecord(key: key, state: .pending, createdAt: T.t0))
        #expect(try await opened[5].task(key)?.state == .pending)
        for store in opened { store.close() }
    }

    @Test func aServerThatCannotBeReachedFailsTheOpenAsUnavailable() throws {
        let port = try LoopbackPort.free()
        let url = PostgresURL(user: "horae", host: "127.0.0.1", port: port, database: "horae", sslMode: .disable)
        let started = ContinuousClock.now
        let error = try #require(throws: StateStoreError.self) {
            try PostgresStateStore(configuration: .init(url: url, password: "s3cret-pw", connectTimeout: .seconds(2)))
        }
        #expect(error.code == .unavailable)
        #expect(error.message.contains("127.0.0.1"))
        #expect(!error.description.contains("s3cret-pw"))
        #expect(ContinuousClock.now - started < .seconds(10))
    }

    @Test func aDatabaseThatDoesNotExistIsRefused() async throws {
        let server = try await PostgresServer.shared()
        let error = try #require(throws: StateStoreError.self) {
            try PostgresStateStore(configuration: .init(url: server.url(database: "no_such_database")))
        }
        #expect(error.code == .openFailed)
        #expect(error.message.contains("no_such_database"))
    }

    /// `sslmode` reaches libpq: `prefer` falls back to plain TCP on a server without TLS (the test
    /// server's), `require` refuses it.
    @Test func sslModeIsLibpqs() async throws {
        let server = try await PostgresServer.shared()
        let database = try await server.createDatabase()
        defer { server.dropDatabaseNow(database) }
        var url = server.url(database: database)
        url.sslMode = .prefer
        try PostgresStateStore(configuration: .init(url: url)).close()
        url.sslMode = .require
        let error = try #require(throws: StateStoreError.self) {
            try PostgresStateStore(configuration: .init(url: url))
        }
        #expect(error.code == .openFailed)
        #expect(error.message.contains("SSL"))
    }

    @Test func thePasswordIsNeitherInTheLocationNorInErrors() async throws {
        let server = try await PostgresServer.shared()
        let database = try await server.createDatabase()
        defer { server.dropDatabaseNow(database) }
        // The test server trusts loopback logins, so any password opens it.
        let store = try PostgresStateStore(
            configuration: .init(url: server.url(database: database), password: "s3cret-pw"))
        defer { store.close() }
        #expect(!store.location.contains("s3cret-pw"))
        #expect(store.location == "postgres://postgres@127.0.0.1:\(server.port)/\(database)?sslmode=disable")
        try await server.execute("DROP TABLE transitions", database: database)
        let error = await #expect(throws: StateStoreError.self) {
            try await store.transitions(of: TaskKey(messageID: "m", rule: "r"))
        }
        #expect(error?.sqlState == "42P01")
        #expect(error.map { !$0.description.contains("s3cret-pw") } == true)
    }

    @Test func thePasswordFileGivesItsFirstLine() throws {
        let directory = TemporaryStoreDirectory()
        defer { directory.remove() }
        try FileManager.default.createDirectory(atPath: directory.path, withIntermediateDirectories: true)
        let file = directory.path + "/password"
        try "pa:ss word\r\nsecond line\n".write(toFile: file, atomically: true, encoding: .utf8)
        #expect(try PostgresStateStore.Configuration.password(file: file) == "pa:ss word")
        #expect(try PostgresStateStore.Configuration.password(file: nil) == nil)
        let error = try #require(throws: StateStoreError.self) {
            try PostgresStateStore.Configuration.password(file: directory.path + "/missing")
        }
        #expect(error.code == .openFailed)
    }

    /// A server that stays away longer than the reconnection patience fails the calls made
    /// meanwhile as unavailable, and the store says so (naming the database, not the password);
    /// once it is back, the broken connections are replaced, the data is there, and the store
    /// is available again.
    @Test func callsFailWhileTheServerIsDownAndReconnectOnceItIsBack() async throws {
        let directory = TemporaryStoreDirectory()
        defer { directory.remove() }
        let server = try await PostgresServer.start(dataDirectory: directory.path)
        defer { server.stop() }
        let url = PostgresURL(
            user: "postgres", host: server.host, port: server.port, database: "postgres", sslMode: .disable)
        let store = try PostgresStateStore(
            configuration: .init(url: url, password: "s3cret-pw", maxConnections: 2, reconnectPatience: .seconds(1)))
        defer { store.close() }
        let key = TaskKey(messageID: "m", rule: "r")
        try await store.save(TaskRecord(key: key, state: .running, attempt: 1, createdAt: T.t0))
        #expect(store.availabilityProblem == nil)

        server.stop()
        let started = ContinuousClock.now
        let error = await #expect(throws: StateStoreError.self) { try await store.task(key) }
        #expect(ContinuousClock.now - started >= .milliseconds(500))
        #expect(error?.code == .unavailable)
        #expect(error?.operation == "task")
        let problem = try #require(store.availabilityProblem)
        #expect(problem.hasPrefix("state store unavailable: \(url.redacted): "))
        #expect(!problem.contains("s3cret-pw"))

        try await server.restart()
        #expect(try await store.task(key)?.state == .running)
        #expect(store.availabilityProblem == nil)
        #expect(try await store.claimTick(rule: "hourly", tick: T.t0))
    }

    /// Calls beyond the pool's size wait for a connection rather than fail.
    @Test func callsBeyondThePoolSizeWaitForAConnection() async throws {
        let server = try await PostgresServer.shared()
        let database = try await server.createDatabase()
        defer { server.dropDatabaseNow(database) }
        let store = try PostgresStateStore(configuration: .init(url: server.url(database: database), maxConnections: 2))
        defer { store.close() }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<40 {
                group.addTask {
                    try await store.save(
                        TaskRecord(key: TaskKey(messageID: "m\(index)", rule: "r"), state: .pending, createdAt: T.t0))
                }
            }
            try await group.waitForAll()
        }
        #expect(try await store.recentTasks(limit: 100).count == 40)
        let connections = try await server.psql(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = '\(database)' AND application_name = 'horae'",
            database: "postgres")
        #expect(Int(connections).map { $0 <= 2 } == true)
    }
}
