import CSQLite
import HoraeRules

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The embedded ``StateStore``: one SQLite database, `horae.sqlite`, in the daemon's data directory.
///
/// ## Threading
/// SQLite calls block (disk, fsync, waiting for another process's lock), so they never run on
/// Swift's cooperative pool: every call is queued on one serial `DispatchQueue` owned by the store
/// (``SQLiteWorker``), which uses one connection with its prepared statements cached; the async
/// methods suspend on a continuation until the queue has run them and their transaction committed.
/// Concurrent writes are group-committed: those that queued up while the previous commit was
/// being synced share one transaction (each in its own savepoint, so each stays all-or-nothing),
/// which pays the fsync once for all of them.
///
/// ## Crash safety and sharing
/// Each method is one transaction; writes use `BEGIN IMMEDIATE`, so read-then-write decisions
/// (the dedup gate, the transition of a save) are atomic, also against other processes. The
/// database is in WAL mode with a busy timeout: several stores may open the same directory (other
/// daemons on this host, tests of "several daemons"); writers queue, readers never block.
///
/// ## Durability: `synchronous=FULL` by default
/// With WAL, `NORMAL` is already safe against a process crash (`kill -9`): a commit is in the WAL
/// file (in the OS page cache) before the call returns. What `NORMAL` gives up is *power loss or
/// a kernel crash*: the last commits may be rolled back (the file stays consistent). Horae acts on
/// a commit by sending acks to Pub/Sub and by running side effects, which cannot be rolled back,
/// so a commit that vanishes afterwards breaks the contract: a task recorded `succeeded` and acked
/// could run again on Pub/Sub's (allowed) redelivery, and a remembered dedup key could be forgotten
/// inside its window. `FULL` fsyncs the WAL at every commit, so a call that returned is on disk.
/// The cost is one fsync per commit, shared by the writes of a group commit;
/// ``Configuration/synchronous`` can select `NORMAL` where the disk is not trusted anyway
/// (tmpfs, throwaway test directories) or throughput matters more.
public final class SQLiteStateStore: StateStore {
    /// Options of ``init(directory:configuration:)``.
    public struct Configuration: Sendable {
        /// SQLite's `PRAGMA synchronous` in WAL mode.
        public enum Synchronous: String, Sendable {
            /// Commits survive a process crash; the latest may be lost on power loss.
            case normal = "NORMAL"
            /// Commits survive power loss too (one WAL fsync per commit). The default.
            case full = "FULL"
        }

        /// Default `.full`; see the type's documentation.
        public var synchronous: Synchronous
        /// How long a call waits for another connection's write lock before failing with
        /// ``StateStoreError/Code/busy``. Default 5 s.
        public var busyTimeout: Duration

        public init(synchronous: Synchronous = .full, busyTimeout: Duration = .seconds(5)) {
            self.synchronous = synchronous
            self.busyTimeout = busyTimeout
        }
    }

    /// The database file's name inside the data directory.
    public static let fileName = "horae.sqlite"

    /// The database file's path.
    public let path: String

    /// The database file's path, for logs.
    public var location: String { path }

    let worker: SQLiteWorker

    /// Opens the store in `directory` with the default ``Configuration`` (`synchronous=FULL`, 5 s
    /// busy timeout).
    public convenience init(directory: String) throws {
        try self.init(directory: directory, configuration: Configuration())
    }

    /// Opens the store in `directory`, creating the directory (mode 0700, missing parents as the
    /// umask gives) and `horae.sqlite` (0600; SQLite gives its `-wal` and `-shm` files the same
    /// mode) on first run; sets WAL, `synchronous` and the busy timeout (foreign keys are not
    /// enforced: see `configure`); creates or migrates the schema (`PRAGMA user_version`, see
    /// ``schemaVersion``).
    ///
    /// The directory holds error texts and action output, so it must be private: an existing one
    /// that its group or others may enter is refused (``StateStoreError/Code/openFailed``, saying
    /// to `chmod 700` it) rather than changed, since `state:` may name a directory shared with
    /// other things. Database files that others may read are made 0600.
    ///
    /// - Throws: ``StateStoreError`` with ``StateStoreError/Code/openFailed`` (directory or file),
    ///   ``StateStoreError/Code/unsupportedSchema`` (a newer Horae wrote the file), or the SQLite
    ///   failure.
    public init(directory: String, configuration: Configuration) throws {
        try PrivateDataDirectory.prepare(directory)
        path = URL(fileURLWithPath: directory).appendingPathComponent(Self.fileName).path
        try PrivateDataDirectory.prepareDatabaseFiles(path)
        let timeout = configuration.busyTimeout.nonNegativeMilliseconds
        let db = try SQLiteConnection(path: path, busyTimeoutMilliseconds: Int32(clamping: timeout))
        try Self.configure(db, configuration)
        try Self.migrate(db, path: path)
        worker = SQLiteWorker(connection: db, label: "horae.state-store")
    }

    /// Closes the connection (waiting for a call in progress). Later calls throw
    /// ``StateStoreError/Code/closed``. Idempotent. Releasing the store closes it too.
    public func close() {
        worker.close()
    }

    // MARK: - Tasks

    public func task(_ key: TaskKey) async throws -> TaskRecord? {
        try await perform("task") { db in
            try db.queryFirst(
                """
                SELECT message_id, rule, state, attempt, next_action, last_error, retry_at, dedup_key, output,
                       subscription, created_at, updated_at, actions_fingerprint, progress
                FROM tasks WHERE message_id = ?1 AND rule = ?2
                """, [.text(key.messageID), .text(key.rule)], operation: "task", Self.taskRecord)
        }
    }

    public func save(_ record: TaskRecord, transitionDetail: String?, dedup: DedupSettlement?) async throws {
        try await perform("save", writes: true) { db in
            try db.transaction(.immediate, operation: "save") {
                try Self.upsert(db, record, Self.taskValues(record), transitionDetail: transitionDetail)
                try Self.settle(db, dedup, owner: record.key, now: record.updatedAt)
            }
        }
    }

    /// One statement for the task row when the stored state is `previous` — an `INSERT` for a new
    /// task, an `UPDATE … WHERE state = previous` otherwise — instead of reading the stored state
    /// first; when the row is not as expected, the same reading upsert as
    /// ``save(_:transitionDetail:dedup:)``, in the same transaction.
    public func save(
        _ record: TaskRecord, replacing previous: TaskState?, transitionDetail: String?, dedup: DedupSettlement?
    ) async throws {
        try await perform("save", writes: true) { db in
            try db.transaction(.immediate, operation: "save") {
                var values = Self.taskValues(record)
                let written: Bool
                if let previous {
                    values.append(.text(previous.rawValue))
                    written =
                        try db.run(
                            """
                            UPDATE tasks SET state = ?3, attempt = ?4, next_action = ?5, last_error = ?6,
                                retry_at = ?7, dedup_key = ?8, output = ?9, subscription = ?10, created_at = ?11,
                                updated_at = ?12, actions_fingerprint = ?13, progress = ?14
                            WHERE message_id = ?1 AND rule = ?2 AND state = ?15
                            """, values, operation: "save") == 1
                    values.removeLast()
                } else {
                    written = try Self.insert(db, record, values, operation: "save")
                }
                if !written {
                    try Self.upsert(db, record, values, transitionDetail: transitionDetail)
                } else if previous != record.state || transitionDetail != nil {
                    try Self.addTransition(db, record, from: previous?.rawValue, detail: transitionDetail)
                }
                try Self.settle(db, dedup, owner: record.key, now: record.updatedAt)
            }
        }
    }

    /// One transaction: `INSERT … ON CONFLICT DO NOTHING`, then the transition when the row was
    /// inserted, or a read of the row that was there.
    public func insertIfAbsent(_ record: TaskRecord, transitionDetail: String?) async throws -> TaskRecord? {
        try await perform("insertIfAbsent", writes: true) { db in
            try db.transaction(.immediate, operation: "insertIfAbsent") {
                if try Self.insert(db, record, Self.taskValues(record), operation: "insertIfAbsent") {
                    try Self.addTransition(db, record, from: nil, detail: transitionDetail)
                    return nil
                }
                return try db.queryFirst(
                    """
                    SELECT message_id, rule, state, attempt, next_action, last_error, retry_at, dedup_key, output,
                           subscription, created_at, updated_at, actions_fingerprint, progress
                    FROM tasks WHERE message_id = ?1 AND rule = ?2
                    """, [.text(record.key.messageID), .text(record.key.rule)], operation: "insertIfAbsent",
                    Self.taskRecord)
            }
        }
    }

    public func transitions(of key: TaskKey) async throws -> [TaskTransition] {
        try await perform("transitions") { db in
            try db.query(
                """
                SELECT from_state, to_state, at, detail FROM transitions
                WHERE message_id = ?1 AND rule = ?2 ORDER BY id
                """, [.text(key.messageID), .text(key.rule)], operation: "transitions"
            ) { row in
                TaskTransition(
                    key: key,
                    from: try row.text(0).map { try Self.state($0, operation: "transitions") },
                    to: try Self.state(row.text(1) ?? "", operation: "transitions"),
                    at: Date(millisecondsSince1970: row.int64(2)),
                    detail: row.text(3))
            }
        }
    }

    public func recentTasks(limit: Int) async throws -> [TaskRecord] {
        try await tasks(matching: TaskQuery(limit: limit))
    }

    public func tasks(in states: Set<TaskState>) async throws -> [TaskRecord] {
        guard !states.isEmpty else { return [] }
        let names = states.map(\.rawValue).sorted()
        return try await perform("tasks") { db in
            // One cached statement per state, inside one read snapshot.
            let records = try db.transaction(.deferred, operation: "tasks") {
                try names.flatMap { name in
                    try db.query(
                        """
                        SELECT message_id, rule, state, attempt, next_action, last_error, retry_at, dedup_key, output,
                               subscription, created_at, updated_at, actions_fingerprint, progress
                        FROM tasks WHERE state = ?1
                        """, [.text(name)], operation: "tasks", Self.taskRecord)
                }
            }
            return records.sorted {
                ($0.updatedAt, $0.key.messageID, $0.key.rule) < ($1.updatedAt, $1.key.messageID, $1.key.rule)
            }
        }
    }

    // MARK: - Dedup

    public func claimDedup(
        rule: String, key: String, owner: TaskKey, now: Date, leaseUntil: Date
    ) async throws -> DedupClaim {
        try await perform("claimDedup", writes: true) { db in
            try db.transaction(.immediate, operation: "claimDedup") {
                let nowMS = now.millisecondsSince1970
                let holder = try db.queryFirst(
                    """
                    SELECT owner_message_id, owner_rule, status, expires_at FROM dedup_keys
                    WHERE rule = ?1 AND key = ?2
                    """, [.text(rule), .text(key)], operation: "claimDedup"
                ) { row in
                    (
                        owner: TaskKey(messageID: row.text(0) ?? "", rule: row.text(1) ?? ""),
                        status: row.text(2) ?? "", expiresAt: row.int64(3)
                    )
                }
                if let holder, holder.expiresAt > nowMS {
                    if holder.status == "succeeded" {
                        return .recentlySucceeded(until: Date(millisecondsSince1970: holder.expiresAt))
                    }
                    if holder.owner != owner { return .heldByRunningTask(holder.owner) }
                }
                try db.run(
                    """
                    INSERT INTO dedup_keys (rule, key, owner_message_id, owner_rule, status, expires_at, updated_at)
                    VALUES (?1, ?2, ?3, ?4, 'running', ?5, ?6)
                    ON CONFLICT (rule, key) DO UPDATE SET
                        owner_message_id = excluded.owner_message_id, owner_rule = excluded.owner_rule,
                        status = 'running', expires_at = excluded.expires_at, updated_at = excluded.updated_at
                    """,
                    [
                        .text(rule), .text(key), .text(owner.messageID), .text(owner.rule),
                        .integer(leaseUntil.millisecondsSince1970), .integer(nowMS),
                    ], operation: "claimDedup")
                return .acquired
            }
        }
    }

    public func completeDedup(rule: String, key: String, owner: TaskKey, now: Date, window: Duration) async throws {
        try await perform("completeDedup", writes: true) { db in
            try db.transaction(.immediate, operation: "completeDedup") {
                try Self.completeDedup(
                    db, rule: rule, key: key, owner: owner, now: now, window: window, operation: "completeDedup")
            }
        }
    }

    public func releaseDedup(rule: String, key: String, owner: TaskKey) async throws {
        try await perform("releaseDedup", writes: true) { db in
            try db.transaction(.immediate, operation: "releaseDedup") {
                try Self.releaseDedup(db, rule: rule, key: key, owner: owner, operation: "releaseDedup")
            }
        }
    }

    @discardableResult
    public func renewDedup(rule: String, key: String, owner: TaskKey, leaseUntil: Date) async throws -> Bool {
        let updatedAt = Date().millisecondsSince1970
        return try await perform("renewDedup", writes: true) { db in
            try db.transaction(.immediate, operation: "renewDedup") {
                try db.run(
                    """
                    UPDATE dedup_keys SET expires_at = ?5, updated_at = ?6
                    WHERE rule = ?1 AND key = ?2 AND owner_message_id = ?3 AND owner_rule = ?4 AND status = 'running'
                    """,
                    [
                        .text(rule), .text(key), .text(owner.messageID), .text(owner.rule),
                        .integer(leaseUntil.millisecondsSince1970), .integer(updatedAt),
                    ], operation: "renewDedup") > 0
            }
        }
    }

    // MARK: - Schedules

    public func claimTick(rule: String, tick: Date) async throws -> Bool {
        let claimedAt = Date().millisecondsSince1970
        return try await perform("claimTick", writes: true) { db in
            try db.transaction(.immediate, operation: "claimTick") {
                try db.run(
                    """
                    INSERT INTO schedule_ticks (rule, tick, claimed_at) VALUES (?1, ?2, ?3)
                    ON CONFLICT (rule, tick) DO NOTHING
                    """, [.text(rule), .integer(tick.millisecondsSince1970), .integer(claimedAt)],
                    operation: "claimTick") == 1
            }
        }
    }

    public func lastTick(rule: String) async throws -> Date? {
        try await perform("lastTick") { db in
            try db.queryFirst(
                "SELECT MAX(tick) FROM schedule_ticks WHERE rule = ?1", [.text(rule)], operation: "lastTick"
            ) { $0.int64OrNil(0) }.flatMap { $0 }.map(Date.init(millisecondsSince1970:))
        }
    }

    // MARK: - Pruning

    @discardableResult
    public func prune(now: Date, finishedBefore olderThan: Date) async throws -> Int {
        let finished: [SQLiteValue] = TaskState.allCases.filter(\.isFinal).map { .text($0.rawValue) }
        precondition(finished.count == 4, "update the prune statements with the final states")
        let cutoff = SQLiteValue.integer(olderThan.millisecondsSince1970)
        return try await perform("prune", writes: true) { db in
            try db.transaction(.immediate, operation: "prune") {
                var deleted = try db.run(
                    "DELETE FROM dedup_keys WHERE expires_at <= ?1", [.integer(now.millisecondsSince1970)],
                    operation: "prune")
                deleted += try db.run(
                    """
                    DELETE FROM transitions WHERE (message_id, rule) IN (
                        SELECT message_id, rule FROM tasks WHERE state IN (?2, ?3, ?4, ?5) AND updated_at < ?1)
                    """, [cutoff] + finished, operation: "prune")
                // Not counted, as PostgreSQL's cascade to them is not.
                _ = try db.run(
                    """
                    DELETE FROM task_messages WHERE (message_id, rule) IN (
                        SELECT message_id, rule FROM tasks WHERE state IN (?2, ?3, ?4, ?5) AND updated_at < ?1)
                    """, [cutoff] + finished, operation: "prune")
                deleted += try db.run(
                    "DELETE FROM tasks WHERE state IN (?2, ?3, ?4, ?5) AND updated_at < ?1", [cutoff] + finished,
                    operation: "prune")
                deleted += try db.run(
                    """
                    DELETE FROM schedule_ticks WHERE tick < ?1
                        AND tick < (SELECT MAX(tick) FROM schedule_ticks AS latest
                                    WHERE latest.rule = schedule_ticks.rule)
                    """, [cutoff], operation: "prune")
                return deleted
            }
        }
    }

    /// Deletes the unfinished records (pending, running, waiting) with `updatedAt < olderThan`
    /// whose rule is not in `rules` (the rules loaded now), with their transitions: such a task
    /// can never run again, and nothing else would ever remove it. One transaction.
    /// - Returns: the records deleted per rule (only rules with some).
    public func pruneUnfinished(exceptRules rules: Set<String>, updatedBefore olderThan: Date) async throws
        -> [String: Int]
    {
        let unfinished: [SQLiteValue] = TaskState.allCases.filter { !$0.isFinal }.map { .text($0.rawValue) }
        precondition(unfinished.count == 3, "update the prune statements with the unfinished states")
        let cutoff = SQLiteValue.integer(olderThan.millisecondsSince1970)
        return try await perform("prune", writes: true) { db in
            try db.transaction(.immediate, operation: "prune") {
                let counts = try db.query(
                    """
                    SELECT rule, COUNT(*) FROM tasks WHERE state IN (?2, ?3, ?4) AND updated_at < ?1
                    GROUP BY rule
                    """, [cutoff] + unfinished, operation: "prune"
                ) { (rule: $0.text(0) ?? "", count: Int($0.int64(1))) }
                var pruned: [String: Int] = [:]
                for (rule, count) in counts where !rules.contains(rule) {
                    let values = [cutoff] + unfinished + [.text(rule)]
                    _ = try db.run(
                        """
                        DELETE FROM transitions WHERE (message_id, rule) IN (
                            SELECT message_id, rule FROM tasks
                            WHERE rule = ?5 AND state IN (?2, ?3, ?4) AND updated_at < ?1)
                        """, values, operation: "prune")
                    _ = try db.run(
                        """
                        DELETE FROM task_messages WHERE (message_id, rule) IN (
                            SELECT message_id, rule FROM tasks
                            WHERE rule = ?5 AND state IN (?2, ?3, ?4) AND updated_at < ?1)
                        """, values, operation: "prune")
                    _ = try db.run(
                        "DELETE FROM tasks WHERE rule = ?5 AND state IN (?2, ?3, ?4) AND updated_at < ?1", values,
                        operation: "prune")
                    pruned[rule] = count
                }
                return pruned
            }
        }
    }

    // MARK: - Maintenance

    /// Runs `PRAGMA integrity_check` (reads the whole file; for diagnostics and tests, not the hot path).
    /// - Returns: the problems found; empty when the database is sound.
    public func checkIntegrity() async throws -> [String] {
        try await perform("checkIntegrity") { db in
            let lines = try db.query("PRAGMA integrity_check", operation: "checkIntegrity") { $0.text(0) ?? "" }
            return lines == ["ok"] ? [] : lines
        }
    }

    /// The dedup row of (`rule`, `key`), as stored (expired or not).
    func dedupEntry(rule: String, key: String) async throws -> DedupEntry? {
        try await perform("dedupEntry") { db in
            try db.queryFirst(
                """
                SELECT owner_message_id, owner_rule, status, expires_at FROM dedup_keys
                WHERE rule = ?1 AND key = ?2
                """, [.text(rule), .text(key)], operation: "dedupEntry"
            ) { row in
                DedupEntry(
                    owner: TaskKey(messageID: row.text(0) ?? "", rule: row.text(1) ?? ""),
                    status: row.text(2) ?? "", expiresAt: Date(millisecondsSince1970: row.int64(3)))
            }
        }
    }

    // MARK: - Internals

    /// Runs `body` on the store's worker (off the cooperative pool); `writes` for the operations
    /// that may join a group commit (see ``SQLiteWorker``).
    func perform<T: Sendable>(
        _ operation: String, writes: Bool = false, _ body: @escaping @Sendable (SQLiteConnection) throws -> T
    ) async throws -> T {
        try await worker.perform(operation, writes: writes, body)
    }

    /// The 14 columns of a `tasks` row, in table order, as statement parameters ?1 … ?14.
    private static func taskValues(_ record: TaskRecord) -> [SQLiteValue] {
        [
            .text(record.key.messageID), .text(record.key.rule), .text(record.state.rawValue),
            .integer(record.attempt), .integer(record.nextAction), .text(record.lastError),
            .integer(record.retryAt?.millisecondsSince1970), .text(record.dedupKey), .text(record.output),
            .text(record.subscription), .integer(record.createdAt.millisecondsSince1970),
            .integer(record.updatedAt.millisecondsSince1970), .text(record.actionsFingerprint),
            .text(record.progressJSON),
        ]
    }

    /// Inserts the row unless its key has one, with the record's ``TaskRecord/message`` beside it.
    /// - Returns: whether it did.
    private static func insert(
        _ db: SQLiteConnection, _ record: TaskRecord, _ values: [SQLiteValue], operation: String
    ) throws -> Bool {
        let inserted =
            try db.run(
                """
                INSERT INTO tasks (message_id, rule, state, attempt, next_action, last_error, retry_at, dedup_key,
                                   output, subscription, created_at, updated_at, actions_fingerprint, progress)
                VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
                ON CONFLICT (message_id, rule) DO NOTHING
                """, values, operation: operation) == 1
        if inserted { try keepMessage(db, record, operation: operation) }
        return inserted
    }

    /// Reads the stored state, inserts or replaces the row, and adds a transition if the state changed.
    private static func upsert(
        _ db: SQLiteConnection, _ record: TaskRecord, _ values: [SQLiteValue], transitionDetail: String?
    ) throws {
        let stored = try db.queryFirst(
            "SELECT state FROM tasks WHERE message_id = ?1 AND rule = ?2",
            [.text(record.key.messageID), .text(record.key.rule)], operation: "save"
        ) { $0.text(0) }
        try db.run(
            """
            INSERT INTO tasks (message_id, rule, state, attempt, next_action, last_error, retry_at, dedup_key,
                               output, subscription, created_at, updated_at, actions_fingerprint, progress)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
            ON CONFLICT (message_id, rule) DO UPDATE SET
                state = excluded.state, attempt = excluded.attempt, next_action = excluded.next_action,
                last_error = excluded.last_error, retry_at = excluded.retry_at,
                dedup_key = excluded.dedup_key, output = excluded.output,
                subscription = excluded.subscription, created_at = excluded.created_at,
                updated_at = excluded.updated_at, actions_fingerprint = excluded.actions_fingerprint,
                progress = excluded.progress
            """, values, operation: "save")
        if stored == nil { try keepMessage(db, record, operation: "save") }
        if stored != record.state.rawValue || transitionDetail != nil {
            try addTransition(db, record, from: stored ?? nil, detail: transitionDetail)
        }
    }

    static func addTransition(
        _ db: SQLiteConnection, _ record: TaskRecord, from previous: String?, detail: String?
    ) throws {
        try db.run(
            """
            INSERT INTO transitions (message_id, rule, from_state, to_state, at, detail)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6)
            """,
            [
                .text(record.key.messageID), .text(record.key.rule), .text(previous),
                .text(record.state.rawValue), .integer(record.updatedAt.millisecondsSince1970), .text(detail),
            ], operation: "save")
    }

    /// Settles a save's dedup key in its transaction (see ``DedupSettlement``).
    private static func settle(_ db: SQLiteConnection, _ dedup: DedupSettlement?, owner: TaskKey, now: Date) throws {
        switch dedup {
        case nil:
            break
        case .complete(let rule, let key, let window):
            try completeDedup(db, rule: rule, key: key, owner: owner, now: now, window: window, operation: "save")
        case .release(let rule, let key):
            try releaseDedup(db, rule: rule, key: key, owner: owner, operation: "save")
        }
    }

    private static func completeDedup(
        _ db: SQLiteConnection, rule: String, key: String, owner: TaskKey, now: Date, window: Duration,
        operation: String
    ) throws {
        let nowMS = now.millisecondsSince1970
        let (until, overflow) = nowMS.addingReportingOverflow(window.nonNegativeMilliseconds)
        try db.run(
            """
            INSERT INTO dedup_keys (rule, key, owner_message_id, owner_rule, status, expires_at, updated_at)
            VALUES (?1, ?2, ?3, ?4, 'succeeded', ?5, ?6)
            ON CONFLICT (rule, key) DO UPDATE SET
                owner_message_id = excluded.owner_message_id, owner_rule = excluded.owner_rule,
                status = 'succeeded', expires_at = excluded.expires_at, updated_at = excluded.updated_at
            WHERE (dedup_keys.owner_message_id = excluded.owner_message_id
                   AND dedup_keys.owner_rule = excluded.owner_rule)
               OR dedup_keys.expires_at <= excluded.updated_at
            """,
            [
                .text(rule), .text(key), .text(owner.messageID), .text(owner.rule),
                .integer(overflow ? Int64.max : until), .integer(nowMS),
            ], operation: operation)
    }

    private static func releaseDedup(
        _ db: SQLiteConnection, rule: String, key: String, owner: TaskKey, operation: String
    ) throws {
        try db.run(
            """
            DELETE FROM dedup_keys
            WHERE rule = ?1 AND key = ?2 AND owner_message_id = ?3 AND owner_rule = ?4 AND status = 'running'
            """, [.text(rule), .text(key), .text(owner.messageID), .text(owner.rule)], operation: operation)
    }

    static func taskRecord(_ row: SQLiteRow) throws -> TaskRecord {
        TaskRecord(
            key: TaskKey(messageID: row.text(0) ?? "", rule: row.text(1) ?? ""),
            state: try state(row.text(2) ?? "", operation: "read task"),
            attempt: Int(row.int64(3)),
            nextAction: Int(row.int64(4)),
            lastError: row.text(5),
            retryAt: row.int64OrNil(6).map(Date.init(millisecondsSince1970:)),
            dedupKey: row.text(7),
            output: row.text(8),
            subscription: row.text(9),
            createdAt: Date(millisecondsSince1970: row.int64(10)),
            updatedAt: Date(millisecondsSince1970: row.int64(11)),
            actionsFingerprint: row.text(12)
        ).withProgress(try TaskRecord.progress(fromJSON: row.text(13)))
    }

    static func state(_ name: String, operation: String) throws -> TaskState {
        guard let state = TaskState(rawValue: name) else {
            throw StateStoreError(code: .invalidData, message: "unknown task state \"\(name)\"", operation: operation)
        }
        return state
    }

    /// Connection-level settings; WAL is persistent in the file, the rest per connection.
    private static func configure(_ db: SQLiteConnection, _ configuration: Configuration) throws {
        // Switching a new file to WAL needs an exclusive lock; another process opening the same new
        // directory at the same moment can make it report SQLITE_BUSY, so retry within the timeout.
        let deadline = ContinuousClock.now + configuration.busyTimeout
        while true {
            do {
                let mode = try db.queryFirst("PRAGMA journal_mode = WAL", operation: "open") { $0.text(0) }
                guard mode??.lowercased() == "wal" else {
                    throw StateStoreError(
                        code: .openFailed, message: "cannot enable WAL (journal_mode is \(mode.flatMap { $0 } ?? "?"))",
                        operation: "open")
                }
                break
            } catch let error as StateStoreError where error.code == .busy && ContinuousClock.now < deadline {
                usleep(10_000)
            }
        }
        try db.execute("PRAGMA synchronous = \(configuration.synchronous.rawValue)", operation: "open")
        // The foreign keys are declared but not enforced: the store is their only writer, it
        // writes a task before its message and transitions and deletes all three together, and
        // enforcing them cost a parent lookup per child row written (6 % of the CPU per message).
        try db.execute("PRAGMA foreign_keys = OFF", operation: "open")
        // Truncate the WAL back to 64 MiB after checkpoints that found it larger.
        try db.execute("PRAGMA journal_size_limit = 67108864", operation: "open")
    }

    /// Applies the migrations from the file's version to ``schemaVersion`` in one `BEGIN IMMEDIATE`
    /// transaction (two daemons opening a new directory at once cannot both apply them), or refuses
    /// a file a newer Horae wrote (``StoreSchema``).
    private static func migrate(_ db: SQLiteConnection, path: String) throws {
        try db.transaction(.immediate, operation: "migrate") {
            let version = try db.queryFirst("PRAGMA user_version", operation: "migrate") { Int($0.int64(0)) } ?? 0
            let pending = try StoreSchema.pending(
                from: version, location: path, hint: "point `state:` at another directory")
            for migration in pending {
                try db.execute(migration.sqlite, operation: "migrate")
            }
            if !pending.isEmpty {
                try db.execute("PRAGMA user_version = \(schemaVersion)", operation: "migrate")
            }
        }
    }
}
