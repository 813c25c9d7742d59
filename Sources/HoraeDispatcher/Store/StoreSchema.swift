/// The state store's schema versions (docs/daemon.md, "State store"), one numbering for every
/// store: version `n` means the same tables and columns in SQLite and in PostgreSQL, each written
/// in its own dialect. A store records the version its data is at (SQLite in `PRAGMA user_version`,
/// PostgreSQL in the one-row table `horae_schema`) and, when it opens:
///
/// - applies the migrations from that version to ``version`` in one transaction together with
///   the version bump, so a crash leaves the old version intact and several daemons opening the
///   same store at once migrate it once (SQLite: `BEGIN IMMEDIATE`; PostgreSQL: a transaction
///   that first takes the advisory lock ``postgresAdvisoryLock``);
/// - refuses data at a higher version, written by a newer Horae, with ``unsupported(found:location:hint:)``.
///
/// Append only: a released migration is never edited, a change of schema is a new one.
enum StoreSchema {
    /// One step, taking the schema from `version - 1` to `version`.
    struct Migration: Sendable {
        let version: Int
        /// SQLite statements (run as one script).
        let sqlite: String
        /// PostgreSQL statements, one per element (the extended protocol runs one at a time).
        let postgres: [String]
    }

    /// The schema version this build writes. 0 means an empty store.
    static var version: Int { migrations.count }

    /// Index `i` takes the schema from version `i` to `i + 1`.
    ///
    /// Tables (dates are integer milliseconds since 1970 UTC in both stores):
    /// - `tasks`: one row per (message, rule). `actions_fingerprint` (version 2) is the
    ///   ``ActionsFingerprint`` the task started with, NULL in older rows. Indexed by
    ///   `(state, updated_at)`; its index on `updated_at` alone went in version 5.
    /// - `transitions`: append-only history, deleted with their task (in PostgreSQL by the
    ///   cascade; SQLite, whose foreign keys are not enforced, deletes them in the same transaction).
    /// - `dedup_keys`: one row per (rule, key); `status` `running` (then `expires_at` is the lease
    ///   end) or `succeeded` (then `expires_at` is the end of the window).
    /// - `schedule_ticks`: one row per (rule, tick) that ran.
    /// - `tasks.progress` (version 4): ``TaskRecord/nextItem`` and ``TaskRecord/steps`` as JSON,
    ///   NULL when both are empty.
    /// - `task_messages` (version 3): the ``KeptMessage`` of each task, deleted with it (as transitions are).
    /// - `inbox` (version 3): ``InboxEntry`` rows, one per (message, rule, subscription), each
    ///   available from `available_at` (a claim moves it to the end of the claimer's lease).
    ///
    /// PostgreSQL keys each row by a SHA-256 digest of its text key (`task_id`, `dedup_id`,
    /// `rule_id`, see ``PostgresStateStore``) rather than by the text itself: message ids, rules and
    /// rendered dedup keys are attacker-controlled text of any length, and a B-tree entry cannot
    /// exceed about 2.7 kB.
    static let migrations: [Migration] = [
        Migration(
            version: 1,
            sqlite: """
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
                """,
            postgres: [
                """
                CREATE TABLE tasks (
                    task_id      BYTEA  PRIMARY KEY,
                    message_id   TEXT   NOT NULL,
                    rule         TEXT   NOT NULL,
                    state        TEXT   NOT NULL,
                    attempt      BIGINT NOT NULL,
                    next_action  BIGINT NOT NULL,
                    last_error   TEXT,
                    retry_at     BIGINT,
                    dedup_key    TEXT,
                    output       TEXT,
                    subscription TEXT,
                    created_at   BIGINT NOT NULL,
                    updated_at   BIGINT NOT NULL
                )
                """,
                "CREATE INDEX tasks_by_updated ON tasks (updated_at)",
                "CREATE INDEX tasks_by_state ON tasks (state, updated_at)",
                """
                CREATE TABLE transitions (
                    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    task_id    BYTEA  NOT NULL REFERENCES tasks (task_id) ON DELETE CASCADE,
                    from_state TEXT,
                    to_state   TEXT   NOT NULL,
                    at         BIGINT NOT NULL,
                    detail     TEXT
                )
                """,
                "CREATE INDEX transitions_by_task ON transitions (task_id, id)",
                """
                CREATE TABLE dedup_keys (
                    dedup_id         BYTEA  PRIMARY KEY,
                    rule             TEXT   NOT NULL,
                    key              TEXT   NOT NULL,
                    owner_message_id TEXT   NOT NULL,
                    owner_rule       TEXT   NOT NULL,
                    status           TEXT   NOT NULL CHECK (status IN ('running', 'succeeded')),
                    expires_at       BIGINT NOT NULL,
                    updated_at       BIGINT NOT NULL
                )
                """,
                "CREATE INDEX dedup_keys_by_expiry ON dedup_keys (expires_at)",
                """
                CREATE TABLE schedule_ticks (
                    rule_id    BYTEA  NOT NULL,
                    tick       BIGINT NOT NULL,
                    rule       TEXT   NOT NULL,
                    claimed_at BIGINT NOT NULL,
                    PRIMARY KEY (rule_id, tick)
                )
                """,
            ]),
        // Version 2: the fingerprint of the actions a task started with.
        Migration(
            version: 2,
            sqlite: "ALTER TABLE tasks ADD COLUMN actions_fingerprint TEXT;",
            postgres: ["ALTER TABLE tasks ADD COLUMN actions_fingerprint TEXT"]),
        // Version 3: the message kept with each task, and the inbox that `horae tasks retry`,
        // `horae redrive` and `horae backfill` fill for the daemons.
        Migration(
            version: 3,
            sqlite: """
                CREATE TABLE task_messages (
                    message_id TEXT NOT NULL,
                    rule       TEXT NOT NULL,
                    message    TEXT NOT NULL,
                    PRIMARY KEY (message_id, rule),
                    FOREIGN KEY (message_id, rule) REFERENCES tasks (message_id, rule) ON DELETE CASCADE
                ) WITHOUT ROWID;

                CREATE TABLE inbox (
                    id           INTEGER PRIMARY KEY,
                    kind         TEXT    NOT NULL,
                    subscription TEXT,
                    rule         TEXT,
                    message_id   TEXT    NOT NULL,
                    message      TEXT    NOT NULL,
                    created_at   INTEGER NOT NULL,
                    available_at INTEGER NOT NULL,
                    claims       INTEGER NOT NULL DEFAULT 0
                );
                CREATE UNIQUE INDEX inbox_by_task ON inbox (message_id, COALESCE(rule, ''), COALESCE(subscription, ''));
                CREATE INDEX inbox_by_available ON inbox (available_at, id);
                """,
            postgres: [
                """
                CREATE TABLE task_messages (
                    task_id BYTEA PRIMARY KEY REFERENCES tasks (task_id) ON DELETE CASCADE,
                    message TEXT  NOT NULL
                )
                """,
                """
                CREATE TABLE inbox (
                    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    entry_key    BYTEA  NOT NULL UNIQUE,
                    kind         TEXT   NOT NULL,
                    subscription TEXT,
                    rule         TEXT,
                    message_id   TEXT   NOT NULL,
                    message      TEXT   NOT NULL,
                    created_at   BIGINT NOT NULL,
                    available_at BIGINT NOT NULL,
                    claims       INTEGER NOT NULL DEFAULT 0
                )
                """,
                "CREATE INDEX inbox_by_available ON inbox (available_at, id)",
            ]),
        // Version 4: a task's progress within a `forEach` action and its steps' outputs.
        Migration(
            version: 4,
            sqlite: "ALTER TABLE tasks ADD COLUMN progress TEXT;",
            postgres: ["ALTER TABLE tasks ADD COLUMN progress TEXT"]),
        // Version 5: no index on `updated_at` alone. Every task write paid for it, and only the
        // newest-first listings read it, which `tasks_by_state` answers one state at a time
        // (``TaskQuery``).
        Migration(
            version: 5,
            sqlite: "DROP INDEX tasks_by_updated;",
            postgres: ["DROP INDEX tasks_by_updated"]),
    ]

    /// The key of the transaction-level advisory lock (`pg_advisory_xact_lock`) PostgreSQL
    /// migrations run under: "horae" in ASCII.
    static let postgresAdvisoryLock: Int64 = 0x686F_7261_65

    /// The migrations that take a store from `found` to ``version``.
    /// - Throws: ``unsupported(found:location:hint:)`` when `found` is newer than this build knows.
    static func pending(from found: Int, location: String, hint: String) throws -> ArraySlice<Migration> {
        guard found <= version else { throw unsupported(found: found, location: location, hint: hint) }
        return migrations[max(found, 0)...]
    }

    /// A store whose schema a newer Horae wrote: refused, not changed.
    static func unsupported(found: Int, location: String, hint: String) -> StateStoreError {
        StateStoreError(
            code: .unsupportedSchema,
            message: """
                \(location): schema version \(found) was written by a newer Horae; this one knows schema \
                versions up to \(version) and does not open it (run the newer Horae, or \(hint))
                """,
            operation: "open")
    }
}
