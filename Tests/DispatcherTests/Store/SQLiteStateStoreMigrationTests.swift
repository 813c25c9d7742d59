import Foundation
import HoraeRules
import Testing

@testable import HoraeDispatcher

/// Schema versions (docs/daemon.md, "State store"): a file written by an older Horae is migrated
/// at open with its contents intact; one written by a newer Horae is refused.
@Suite struct SQLiteStateStoreMigrationTests {
    /// The schema of version 1, as the first released stores were created (kept verbatim here: the
    /// test is that such a file opens, whatever the migrations become).
    static let version1Schema = """
        CREATE TABLE tasks (
            message_id   TEXT    NOT NULL,
            rule         TEXT    NOT NULL,
            state        TEXT    NOT NULL,
            attempt      INTEGER NOT NULL,
            next_action  INTEGER NOT NULL,
            last_error   TEXT,
            retry_at     INTEGER,
            dedup_key    TEXT,
            output       TEXT,
            subscription TEXT,
            created_at   INTEGER NOT NULL,
            updated_at   INTEGER NOT NULL,
            PRIMARY KEY (message_id, rule)
        ) WITHOUT ROWID;
        CREATE INDEX tasks_by_updated ON tasks (updated_at);
        CREATE INDEX tasks_by_state ON tasks (state, updated_at);

        CREATE TABLE transitions (
            id         INTEGER PRIMARY KEY,
            message_id TEXT    NOT NULL,
            rule       TEXT    NOT NULL,
            from_state TEXT,
            to_state   TEXT    NOT NULL,
            at         INTEGER NOT NULL,
            detail     TEXT,
            FOREIGN KEY (message_id, rule) REFERENCES tasks (message_id, rule) ON DELETE CASCADE
        );
        CREATE INDEX transitions_by_task ON transitions (message_id, rule, id);

        CREATE TABLE dedup_keys (
            rule             TEXT    NOT NULL,
            key              TEXT    NOT NULL,
            owner_message_id TEXT    NOT NULL,
            owner_rule       TEXT    NOT NULL,
            status           TEXT    NOT NULL CHECK (status IN ('running', 'succeeded')),
            expires_at       INTEGER NOT NULL,
            updated_at       INTEGER NOT NULL,
            PRIMARY KEY (rule, key)
        ) WITHOUT ROWID;
        CREATE INDEX dedup_keys_by_expiry ON dedup_keys (expires_at);

        CREATE TABLE schedule_ticks (
            rule       TEXT    NOT NULL,
            tick       INTEGER NOT NULL,
            claimed_at INTEGER NOT NULL,
            PRIMARY KEY (rule, tick)
        ) WITHOUT ROWID;
        """

    /// Creates `horae.sqlite` in `directory` as a version-1 Horae left it, with one waiting task
    /// (at its second action), its transitions, a dedup key and a schedule tick.
    static func writeVersion1Store(_ directory: TemporaryStoreDirectory) throws {
        try FileManager.default.createDirectory(
            atPath: directory.path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let raw = try SQLiteConnection(
            path: directory.path + "/" + SQLiteStateStore.fileName, busyTimeoutMilliseconds: 1000)
        defer { raw.close() }
        try raw.execute("PRAGMA journal_mode = WAL", operation: "test")
        try raw.execute(version1Schema, operation: "test")
        let t0 = StoreTestTime.t0.millisecondsSince1970
        try raw.execute(
            """
            INSERT INTO tasks VALUES ('m1', 'upload', 'waiting', 1, 1, 'action log#2: down', \(t0 + 60_000),
                                      'k', 'out', 'events', \(t0), \(t0 + 1000));
            INSERT INTO transitions (message_id, rule, from_state, to_state, at, detail)
                VALUES ('m1', 'upload', NULL, 'running', \(t0), 'attempt 1'),
                       ('m1', 'upload', 'running', 'waiting', \(t0 + 1000), 'action log#2: down');
            INSERT INTO dedup_keys VALUES ('upload', 'k', 'm1', 'upload', 'running', \(t0 + 60_000), \(t0));
            INSERT INTO schedule_ticks VALUES ('nightly', \(t0), \(t0));
            PRAGMA user_version = 1;
            """, operation: "test")
    }

    static func userVersion(_ directory: TemporaryStoreDirectory) throws -> Int64? {
        let raw = try SQLiteConnection(
            path: directory.path + "/" + SQLiteStateStore.fileName, busyTimeoutMilliseconds: 1000)
        defer { raw.close() }
        return try raw.queryFirst("PRAGMA user_version", operation: "test") { $0.int64(0) }
    }

    static func indexes(_ directory: TemporaryStoreDirectory) throws -> Set<String> {
        let raw = try SQLiteConnection(
            path: directory.path + "/" + SQLiteStateStore.fileName, busyTimeoutMilliseconds: 1000)
        defer { raw.close() }
        return Set(
            try raw.query("SELECT name FROM sqlite_master WHERE type = 'index'", operation: "test") { $0.text(0) ?? "" }
        )
    }

    @Test func aVersion1StoreIsMigratedWithItsTasksIntact() async throws {
        let directory = TemporaryStoreDirectory()
        defer { directory.remove() }
        try Self.writeVersion1Store(directory)

        let store = try directory.open()
        let key = TaskKey(messageID: "m1", rule: "upload")
        let record = try #require(try await store.task(key))
        #expect(record.state == .waiting)
        #expect(record.attempt == 1)
        #expect(record.nextAction == 1)
        #expect(record.lastError == "action log#2: down")
        #expect(record.retryAt == StoreTestTime.at(60))
        #expect(record.dedupKey == "k")
        #expect(record.output == "out")
        #expect(record.subscription == "events")
        #expect(record.createdAt == StoreTestTime.t0)
        #expect(record.updatedAt == StoreTestTime.at(1))
        #expect(try await store.transitions(of: key).map(\.to) == [.running, .waiting])
        #expect(try await store.dedupEntry(rule: "upload", key: "k")?.owner == key)
        #expect(try await store.lastTick(rule: "nightly") == StoreTestTime.t0)
        #expect(try await store.checkIntegrity() == [])

        // The migrated store takes new writes, and reopening it migrates nothing more.
        var saved = record
        saved.state = .succeeded
        saved.updatedAt = StoreTestTime.at(2)
        try await store.save(saved)
        store.close()
        #expect(try Self.userVersion(directory) == Int64(StoreSchema.version))
        // Version 5 dropped the index on `updated_at` alone; the one by state remains.
        #expect(try Self.indexes(directory).contains("tasks_by_state"))
        #expect(!(try Self.indexes(directory).contains("tasks_by_updated")))
        let reopened = try directory.open()
        defer { reopened.close() }
        #expect(try await reopened.task(key)?.state == .succeeded)
    }

    @Test func aStoreWrittenByANewerHoraeIsRefusedSayingSo() async throws {
        let directory = TemporaryStoreDirectory()
        defer { directory.remove() }
        try directory.open().close()
        let path = directory.path + "/" + SQLiteStateStore.fileName
        let raw = try SQLiteConnection(path: path, busyTimeoutMilliseconds: 1000)
        try raw.execute("PRAGMA user_version = \(StoreSchema.version + 1)", operation: "test")
        raw.close()

        let error = try #require(throws: StateStoreError.self) { try directory.open() }
        #expect(error.code == .unsupportedSchema)
        #expect(error.message.contains(path))
        #expect(error.message.contains("schema version \(StoreSchema.version + 1)"))
        #expect(error.message.contains("newer Horae"))
        #expect(error.message.contains("up to \(StoreSchema.version)"))
        // Refused, not changed.
        #expect(try Self.userVersion(directory) == Int64(StoreSchema.version + 1))
    }
}
