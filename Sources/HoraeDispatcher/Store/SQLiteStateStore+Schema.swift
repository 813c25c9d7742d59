extension SQLiteStateStore {
    /// The schema version this build writes, kept in `PRAGMA user_version`. 0 means an empty file.
    public static let schemaVersion: Int32 = 2

    /// Migrations, index `i` taking the schema from version `i` to `i + 1`. Each runs inside the
    /// same `BEGIN IMMEDIATE` transaction as the `user_version` bump, so two daemons opening a new
    /// directory at once cannot both apply it, and a crash leaves the old version intact.
    ///
    /// Append only: a released migration is never edited, a change of schema is a new one.
    ///
    /// Tables:
    /// - `tasks`: one row per (message, rule); dates in ms since 1970 UTC. `actions_fingerprint`
    ///   (version 2) is the ``ActionsFingerprint`` the task started with, NULL in older rows.
    /// - `transitions`: append-only history, deleted with their task (prune, or cascade).
    /// - `dedup_keys`: one row per (rule, key); `status` `running` (then `expires_at` is the lease
    ///   end) or `succeeded` (then `expires_at` is the end of the window).
    /// - `schedule_ticks`: one row per (rule, tick) that ran.
    static let migrations: [String] = [
        """
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
        // Version 2: the fingerprint of the actions a task started with.
        """
        ALTER TABLE tasks ADD COLUMN actions_fingerprint TEXT;
        """,
    ]
}
