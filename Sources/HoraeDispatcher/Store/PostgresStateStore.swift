import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The shared ``StateStore``: one PostgreSQL database that several daemons, on several hosts,
/// use at once (docs/daemon.md, "State store").
///
/// ## Atomicity
/// Every method is one transaction (or one statement), and every decision that depends on what
/// is stored is taken by the database: the dedup gate and the tick claim are single
/// `INSERT … ON CONFLICT` statements whose conflict clause decides, a save reads the stored state
/// under a row lock (`SELECT … FOR UPDATE`) before replacing it, and pruning runs under an
/// advisory lock so that two daemons never prune at once. Nothing is read by this client and then
/// written on the strength of that read without the database holding the row. Transactions run
/// at PostgreSQL's default isolation, READ COMMITTED.
///
/// ## Keys
/// Rows are keyed by a SHA-256 digest of their text key (``digest(_:)``): message ids, rules and
/// rendered dedup keys are attacker-controlled text of any length, and a PostgreSQL B-tree entry
/// is limited to about 2.7 kB. The text is stored beside the digest. Text columns cannot hold
/// U+0000, so text is stored with ``PostgresText``'s reversible escape (only text holding U+0000
/// or U+0001 changes).
///
/// ## Connections
/// libpq rather than a Swift client: postgres-nio, the Swift one, imports all of Foundation
/// (libFoundation and ICU, which the daemon keeps out: docs/benchmarks.md, finding 6) and builds
/// two BoringSSL copies of its own, where libpq is a system library using the OpenSSL the daemon
/// already loads. Through ``PostgresPool``: at most ``Configuration/maxConnections``
/// connections, opened when calls overlap and kept; libpq calls block, so each connection is used
/// on a serial queue of its own, off Swift's cooperative pool. Opening the store connects once and migrates the
/// schema (``StoreSchema``), so a server that cannot be reached, a refused login or a newer schema
/// fail the daemon's start. Afterwards, a call whose connection breaks is run again on a fresh
/// one when that is safe (``Repetition``), for up to ``Configuration/reconnectPatience``.
/// The calls a message makes that start with one statement (``task(_:)``, ``claimDedup(rule:key:owner:now:leaseUntil:)``,
/// ``insertIfAbsent(_:transitionDetail:)``, ``save(_:replacing:transitionDetail:dedup:)``) queue
/// it, and a connection sends the queued statements of many calls in one round trip and one
/// transaction (``PostgresPool/pipelined(operation:_:then:)``).
public final class PostgresStateStore: StateStore {
    public struct Configuration: Sendable {
        public var url: PostgresURL
        /// Never logged. Nil leaves it to libpq: `PGPASSWORD`, then the password file
        /// (`PGPASSFILE`, default `~/.pgpass`). See ``password(file:)``.
        public var password: String?
        /// The pool's size. Default 10.
        public var maxConnections: Int
        /// How long opening a connection may take (libpq's `connect_timeout`, whole seconds, at
        /// least 2). Default 10 s.
        public var connectTimeout: Duration
        /// How long a call whose connection broke, or could not be opened, keeps trying on fresh
        /// connections before it fails with ``StateStoreError/Code/unavailable``. Default 10 s:
        /// a server restart or a failover passes unnoticed by the callers.
        public var reconnectPatience: Duration

        public init(
            url: PostgresURL, password: String? = nil, maxConnections: Int = 10,
            connectTimeout: Duration = .seconds(10), reconnectPatience: Duration = .seconds(10)
        ) {
            self.url = url
            self.password = password
            self.maxConnections = maxConnections
            self.connectTimeout = connectTimeout
            self.reconnectPatience = reconnectPatience
        }

        /// The first line of `file` (`postgres.passwordFile`), nil without a file.
        /// - Throws: ``StateStoreError/Code/openFailed`` when the file cannot be read.
        public static func password(file: String?) throws -> String? {
            guard let file else { return nil }
            guard let data = FileManager.default.contents(atPath: file) else {
                throw StateStoreError(
                    code: .openFailed, message: "cannot read the password file \(file)", operation: "open")
            }
            var line = Substring(String(decoding: data, as: UTF8.self))
            if let end = line.firstIndex(where: { $0 == "\n" || $0 == "\r\n" }) { line = line[..<end] }
            while line.last == "\r" { line.removeLast() }
            return String(line)
        }
    }

    /// The database, for logs: the URL without secrets.
    public let location: String

    let pool: PostgresPool
    let reconnectPatience: Duration
    /// ``availabilityProblem``.
    let availability = Mutex<String?>(nil)

    /// Connects (blocking, up to the connect timeout) and creates or migrates the schema.
    /// - Throws: ``StateStoreError``: ``StateStoreError/Code/unavailable`` (the server cannot be
    ///   reached), ``StateStoreError/Code/openFailed`` (refused: password, user, database),
    ///   ``StateStoreError/Code/unsupportedSchema`` (a newer Horae migrated the database).
    public init(configuration: Configuration) throws {
        let location = configuration.url.redacted
        let parameters = Self.connectionParameters(configuration)
        let connect: @Sendable () throws -> PostgresConnection = {
            try PostgresConnection(parameters: parameters, location: location)
        }
        let first = try connect()
        defer { first.close() }
        try Self.migrate(first, location: location)
        self.location = location
        self.pool = PostgresPool(size: configuration.maxConnections, connect: connect)
        self.reconnectPatience = configuration.reconnectPatience
    }

    /// Closes the connections (waiting for calls in progress). Later calls throw
    /// ``StateStoreError/Code/closed``. Idempotent.
    public func close() {
        pool.close()
    }

    deinit { pool.close() }

    /// `PQconnectdbParams` keywords. The password, when there is one, is only ever here.
    static func connectionParameters(_ configuration: Configuration) -> [(String, String)] {
        let url = configuration.url
        var parameters: [(String, String)] = [
            ("host", url.host), ("port", String(url.port)), ("user", url.user), ("dbname", url.database),
            ("sslmode", url.sslMode.rawValue),
            ("connect_timeout", String(max(2, configuration.connectTimeout.components.seconds))),
            ("application_name", "horae"), ("client_encoding", "UTF8"),
            // A peer that vanished (host down, network cut) fails the call within about half a
            // minute instead of leaving it waiting on a dead socket: TCP keepalives on idle
            // connections, and a limit on unacknowledged sends.
            ("keepalives", "1"), ("keepalives_idle", "15"), ("keepalives_interval", "5"), ("keepalives_count", "3"),
            ("tcp_user_timeout", "30000"),
        ]
        if let root = url.sslRootCert { parameters.append(("sslrootcert", root)) }
        if let password = configuration.password { parameters.append(("password", password)) }
        return parameters
    }

    // MARK: - Tasks

    static let taskColumns = """
        message_id, rule, state, attempt, next_action, last_error, retry_at, dedup_key, output, subscription,
        created_at, updated_at, actions_fingerprint, progress
        """

    public func task(_ key: TaskKey) async throws -> TaskRecord? {
        let read = PostgresConnection.Statement(
            sql: "SELECT \(Self.taskColumns) FROM tasks WHERE task_id = $1", parameters: [Self.taskID(key)])
        return try await call("task", patience: reconnectPatience, first: read) { result, _, _ in
            try result.rows.first.map(Self.taskRecord)
        }
    }

    /// Run again after a connection broke while it committed: the retry finds its own lost
    /// commit (``holds(_:_:)``) and stops there, so no transition is recorded twice.
    public func save(_ record: TaskRecord, transitionDetail: String?, dedup: DedupSettlement?) async throws {
        try await transaction("save", .always) { db, mayHaveCommitted in
            if mayHaveCommitted, try Self.holds(db, record) { return }
            try Self.upsert(db, record, detail: transitionDetail)
            try Self.settle(db, dedup, owner: record.key, now: record.updatedAt)
        }
    }

    /// One statement for the task row when the stored state is `previous` — an insert for a new
    /// task, an `UPDATE … WHERE state = previous` otherwise; when the row is not as expected, the
    /// locking upsert of ``save(_:transitionDetail:dedup:)``, in the same transaction. Run again
    /// after a lost commit as that one is.
    ///
    /// The common case — the row is as `previous` says — is one statement (``saveStatement(_:replacing:transitionDetail:dedup:)``),
    /// without `BEGIN` and `COMMIT`, which shares its round trip and commit with other calls'.
    public func save(
        _ record: TaskRecord, replacing previous: TaskState?, transitionDetail: String?, dedup: DedupSettlement?
    ) async throws {
        try await call(
            "save", patience: reconnectPatience,
            first: Self.saveStatement(record, replacing: previous, transitionDetail: transitionDetail, dedup: dedup),
            lostCommit: { db in try Self.holds(db, record) ? () : nil },
            finish: { result, db, _ in
                guard !Self.wrote(result) else { return }
                try Self.retryingTransaction(db, operation: "save") {
                    try Self.saveInTransaction(
                        db, record, replacing: previous, transitionDetail: transitionDetail, dedup: dedup)
                }
            })
    }

    /// The transaction of ``save(_:replacing:transitionDetail:dedup:)`` when the row is not as
    /// `previous` says (or has gone).
    private static func saveInTransaction(
        _ db: PostgresConnection, _ record: TaskRecord, replacing previous: TaskState?, transitionDetail: String?,
        dedup: DedupSettlement?
    ) throws {
        let written: Bool
        if let previous {
            written = try update(db, record, onlyIn: previous)
        } else {
            written = try insert(db, record)
        }
        if !written {
            try upsert(db, record, detail: transitionDetail)
        } else if previous != record.state || transitionDetail != nil {
            try addTransition(db, record, from: previous?.rawValue, detail: transitionDetail)
        }
        try settle(db, dedup, owner: record.key, now: record.updatedAt)
    }

    /// Run again after a connection broke while it committed: a stored row that is `record`
    /// itself (``isRecord(_:_:)``) was inserted by the lost commit, and the answer is nil as it
    /// would have been.
    ///
    /// A new task is one statement (``saveStatement(_:replacing:transitionDetail:dedup:)``);
    /// only when the row is there does the transaction below read it.
    public func insertIfAbsent(_ record: TaskRecord, transitionDetail: String?) async throws -> TaskRecord? {
        try await call(
            "insertIfAbsent", patience: reconnectPatience,
            first: Self.saveStatement(record, replacing: nil, transitionDetail: transitionDetail, dedup: nil)
        ) { result, db, mayHaveCommitted in
            guard !Self.wrote(result) else { return nil }
            return try Self.retryingTransaction(db, operation: "insertIfAbsent") {
                try Self.readExisting(
                    db, record, transitionDetail: transitionDetail, mayHaveCommitted: mayHaveCommitted)
            }
        }
    }

    /// The transaction of ``insertIfAbsent(_:transitionDetail:)`` when a row was there.
    private static func readExisting(
        _ db: PostgresConnection, _ record: TaskRecord, transitionDetail: String?, mayHaveCommitted: Bool
    ) throws -> TaskRecord? {
        while true {
            if try insert(db, record) {
                try addTransition(db, record, from: nil, detail: transitionDetail)
                return nil
            }
            // FOR SHARE keeps the row until the transaction ends; a prune may have deleted it
            // since the insert found it, and then the insert is tried again.
            if let stored = try db.execute(
                "SELECT \(taskColumns) FROM tasks WHERE task_id = $1 FOR SHARE", [taskID(record.key)],
                operation: "insertIfAbsent"
            ).rows.first {
                let found = try taskRecord(stored)
                return mayHaveCommitted && isRecord(found, record) ? nil : found
            }
        }
    }

    public func transitions(of key: TaskKey) async throws -> [TaskTransition] {
        try await perform("transitions") { db in
            try db.execute(
                "SELECT from_state, to_state, at, detail FROM transitions WHERE task_id = $1 ORDER BY id",
                [Self.taskID(key)], operation: "transitions"
            ).rows.map { row in
                TaskTransition(
                    key: key,
                    from: try row[0].map { try Self.state($0, operation: "transitions") },
                    to: try Self.state(row[1] ?? "", operation: "transitions"),
                    at: Date(millisecondsSince1970: try Self.int64(row[2], operation: "transitions")),
                    detail: PostgresText.decode(row[3]))
            }
        }
    }

    public func recentTasks(limit: Int) async throws -> [TaskRecord] {
        try await tasks(matching: TaskQuery(limit: limit))
    }

    public func tasks(in states: Set<TaskState>) async throws -> [TaskRecord] {
        guard !states.isEmpty else { return [] }
        let names = Self.textArray(states.map(\.rawValue).sorted())
        return try await perform("tasks") { db in
            try db.execute(
                """
                SELECT \(Self.taskColumns) FROM tasks WHERE state = ANY($1::text[])
                ORDER BY updated_at, message_id COLLATE "C", rule COLLATE "C"
                """, [names], operation: "tasks"
            ).rows.map(Self.taskRecord)
        }
    }

    // MARK: - Dedup

    /// Safe to run again after a lost commit: the owner's own running claim is taken again
    /// (``DedupClaim/acquired``), with the same lease.
    public func claimDedup(
        rule: String, key: String, owner: TaskKey, now: Date, leaseUntil: Date
    ) async throws -> DedupClaim {
        let values = [
            Self.dedupID(rule: rule, key: key), PostgresText.encode(rule), PostgresText.encode(key),
            PostgresText.encode(owner.messageID), PostgresText.encode(owner.rule),
            String(leaseUntil.millisecondsSince1970), String(now.millisecondsSince1970),
        ]
        let nowMS = now.millisecondsSince1970
        // The conflict clause is the gate: the row is taken when it expired, or when it is the
        // owner's own running claim; otherwise the statement changes nothing. The holder is then
        // read to say who it is; if it expired or went meanwhile, the claim is tried again.
        let claim = PostgresConnection.Statement(
            sql: """
                INSERT INTO dedup_keys (dedup_id, rule, key, owner_message_id, owner_rule, status, expires_at,
                                        updated_at)
                VALUES ($1, $2, $3, $4, $5, 'running', $6, $7)
                ON CONFLICT (dedup_id) DO UPDATE SET
                    owner_message_id = EXCLUDED.owner_message_id, owner_rule = EXCLUDED.owner_rule,
                    status = 'running', expires_at = EXCLUDED.expires_at, updated_at = EXCLUDED.updated_at
                WHERE dedup_keys.expires_at <= EXCLUDED.updated_at
                   OR (dedup_keys.status = 'running'
                       AND dedup_keys.owner_message_id = EXCLUDED.owner_message_id
                       AND dedup_keys.owner_rule = EXCLUDED.owner_rule)
                """, parameters: values)
        /// After a claim that changed nothing: who holds the key, or claims again.
        @Sendable func holder(_ db: PostgresConnection) throws -> DedupClaim {
            for _ in 0..<100 {
                if let holder = try Self.dedupRow(db, id: values[0], operation: "claimDedup"),
                    holder.expiresAt.millisecondsSince1970 > nowMS
                {
                    if holder.status == "succeeded" { return .recentlySucceeded(until: holder.expiresAt) }
                    if holder.owner != owner { return .heldByRunningTask(holder.owner) }
                }
                if try db.execute(claim.sql, claim.parameters, operation: "claimDedup").affected == 1 {
                    return .acquired
                }
            }
            throw StateStoreError(
                code: .busy, message: "the dedup key kept changing hands while being claimed", operation: "claimDedup")
        }
        return try await call("claimDedup", patience: reconnectPatience, first: claim) { result, db, _ in
            result.affected == 1 ? .acquired : try holder(db)
        }
    }

    /// Safe to run again: the same values are written.
    public func completeDedup(rule: String, key: String, owner: TaskKey, now: Date, window: Duration) async throws {
        try await perform("completeDedup") { db in
            try Self.completeDedup(db, rule: rule, key: key, owner: owner, now: now, window: window)
        }
    }

    /// Safe to run again: a deleted claim is not there to delete twice.
    public func releaseDedup(rule: String, key: String, owner: TaskKey) async throws {
        try await perform("releaseDedup") { db in
            try Self.releaseDedup(db, rule: rule, key: key, owner: owner)
        }
    }

    /// Safe to run again: the owner's claim gets the same lease, and is still held.
    @discardableResult
    public func renewDedup(rule: String, key: String, owner: TaskKey, leaseUntil: Date) async throws -> Bool {
        let values = [
            Self.dedupID(rule: rule, key: key), PostgresText.encode(owner.messageID), PostgresText.encode(owner.rule),
            String(leaseUntil.millisecondsSince1970), String(Date().millisecondsSince1970),
        ]
        return try await perform("renewDedup") { db in
            try db.execute(
                """
                UPDATE dedup_keys SET expires_at = $4, updated_at = $5
                WHERE dedup_id = $1 AND owner_message_id = $2 AND owner_rule = $3 AND status = 'running'
                """, values, operation: "renewDedup"
            ).affected > 0
        }
    }

    // MARK: - Schedules

    /// Run again after a connection broke while it committed, a claim that finds the tick taken
    /// looks at when it was: taken at this call's own claim time (milliseconds), it is this
    /// call's lost commit, and the tick is claimed — so a tick is neither lost nor run twice.
    public func claimTick(rule: String, tick: Date) async throws -> Bool {
        let values = [
            Self.ruleID(rule), String(tick.millisecondsSince1970), PostgresText.encode(rule),
            String(Date().millisecondsSince1970),
        ]
        return try await call("claimTick", .always, patience: reconnectPatience) { db, mayHaveCommitted in
            let claimed =
                try db.execute(
                    """
                    INSERT INTO schedule_ticks (rule_id, tick, rule, claimed_at) VALUES ($1, $2, $3, $4)
                    ON CONFLICT (rule_id, tick) DO NOTHING
                    """, values, operation: "claimTick"
                ).affected == 1
            guard !claimed, mayHaveCommitted else { return claimed }
            return try db.execute(
                "SELECT claimed_at FROM schedule_ticks WHERE rule_id = $1 AND tick = $2", [values[0], values[1]],
                operation: "claimTick"
            ).rows.first?[0] == values[3]
        }
    }

    public func lastTick(rule: String) async throws -> Date? {
        try await perform("lastTick") { db in
            try db.execute(
                "SELECT MAX(tick) FROM schedule_ticks WHERE rule_id = $1", [Self.ruleID(rule)], operation: "lastTick"
            ).rows.first?[0].map { Date(millisecondsSince1970: try Self.int64($0, operation: "lastTick")) }
        }
    }

    // MARK: - Pruning

    /// The advisory lock a prune holds for its transaction: daemons sharing the database prune
    /// one at a time (one that finds the lock taken skips the pass; the holder does the work).
    static let pruneLock = StoreSchema.postgresAdvisoryLock + 1

    @discardableResult
    public func prune(now: Date, finishedBefore olderThan: Date) async throws -> Int {
        let finished = Self.textArray(TaskState.allCases.filter(\.isFinal).map(\.rawValue))
        let cutoff = String(olderThan.millisecondsSince1970)
        let nowMS = String(now.millisecondsSince1970)
        // Safe to run again after a lost commit: what it deleted is not deleted twice (the count,
        // for the log, is then short).
        return try await transaction("prune", .always) { db, _ in
            guard try Self.tryPruneLock(db) else { return 0 }
            var deleted = try db.execute(
                "DELETE FROM dedup_keys WHERE expires_at <= $1", [nowMS], operation: "prune"
            ).affected
            deleted += try db.execute(
                """
                DELETE FROM transitions WHERE task_id IN (
                    SELECT task_id FROM tasks WHERE state = ANY($1::text[]) AND updated_at < $2)
                """, [finished, cutoff], operation: "prune"
            ).affected
            deleted += try db.execute(
                "DELETE FROM tasks WHERE state = ANY($1::text[]) AND updated_at < $2", [finished, cutoff],
                operation: "prune"
            ).affected
            deleted += try db.execute(
                """
                DELETE FROM schedule_ticks WHERE tick < $1
                    AND tick < (SELECT MAX(tick) FROM schedule_ticks AS latest
                                WHERE latest.rule_id = schedule_ticks.rule_id)
                """, [cutoff], operation: "prune"
            ).affected
            return deleted
        }
    }

    public func pruneUnfinished(exceptRules rules: Set<String>, updatedBefore olderThan: Date) async throws
        -> [String: Int]
    {
        let unfinished = Self.textArray(TaskState.allCases.filter { !$0.isFinal }.map(\.rawValue))
        let loaded = Self.textArray(rules.map(PostgresText.encode).sorted())
        let cutoff = String(olderThan.millisecondsSince1970)
        // Safe to run again, as ``prune(now:finishedBefore:)``.
        return try await transaction("prune", .always) { db, _ in
            guard try Self.tryPruneLock(db) else { return [:] }
            // Their transitions go by cascade.
            let rows = try db.execute(
                """
                WITH gone AS (
                    DELETE FROM tasks
                    WHERE state = ANY($1::text[]) AND updated_at < $2 AND NOT (rule = ANY($3::text[]))
                    RETURNING rule)
                SELECT rule, count(*) FROM gone GROUP BY rule
                """, [unfinished, cutoff, loaded], operation: "prune"
            ).rows
            var pruned: [String: Int] = [:]
            for row in rows {
                pruned[PostgresText.decode(row[0] ?? "")] = Int(try Self.int64(row[1], operation: "prune"))
            }
            return pruned
        }
    }

    // MARK: - Maintenance

    /// Looks for rows the schema's constraints should have kept out (for diagnostics and tests).
    /// - Returns: the problems found; empty when the data is sound.
    public func checkIntegrity() async throws -> [String] {
        try await perform("checkIntegrity") { db in
            let counts =
                try db.execute(
                    """
                    SELECT (SELECT count(*) FROM transitions t
                            WHERE NOT EXISTS (SELECT 1 FROM tasks WHERE task_id = t.task_id)),
                           (SELECT count(*) FROM tasks WHERE length(task_id) <> 32),
                           (SELECT count(*) FROM dedup_keys WHERE length(dedup_id) <> 32)
                    """, operation: "checkIntegrity"
                ).rows.first ?? []
            let problems = [
                "transitions without their task", "tasks without a digest key", "dedup keys without a digest key",
            ]
            return zip(counts, problems).compactMap { count, problem in
                guard let count, count != "0" else { return nil }
                return "\(count) \(problem)"
            }
        }
    }

    /// The dedup row of (`rule`, `key`), as stored (expired or not).
    func dedupEntry(rule: String, key: String) async throws -> DedupEntry? {
        try await perform("dedupEntry") { db in
            try Self.dedupRow(db, id: Self.dedupID(rule: rule, key: key), operation: "dedupEntry")
        }
    }

    // MARK: - Internals

    /// Whether the stored row of `record.key` is `record` as a save writes it (state, attempt,
    /// next action and update time, in milliseconds), locking it: a save whose commit was lost
    /// finds that it went through.
    private static func holds(_ db: PostgresConnection, _ record: TaskRecord) throws -> Bool {
        guard
            let row = try db.execute(
                "SELECT \(taskColumns) FROM tasks WHERE task_id = $1 FOR UPDATE", [taskID(record.key)],
                operation: "save"
            ).rows.first
        else { return false }
        return isRecord(try taskRecord(row), record)
    }

    /// Whether `stored` is `record` as written by this client (the fields a save changes; the
    /// times in milliseconds, as stored).
    private static func isRecord(_ stored: TaskRecord, _ record: TaskRecord) -> Bool {
        stored.state == record.state && stored.attempt == record.attempt && stored.nextAction == record.nextAction
            && stored.updatedAt.millisecondsSince1970 == record.updatedAt.millisecondsSince1970
            && stored.createdAt.millisecondsSince1970 == record.createdAt.millisecondsSince1970
    }

    private static func tryPruneLock(_ db: PostgresConnection) throws -> Bool {
        try db.execute("SELECT pg_try_advisory_xact_lock($1)", [String(pruneLock)], operation: "prune")
            .rows.first?[0] == "t"
    }

    /// The 15 values of a `tasks` row (`task_id` first), as parameters $1 … $15.
    private static func taskValues(_ record: TaskRecord) -> [String?] {
        [
            taskID(record.key), PostgresText.encode(record.key.messageID), PostgresText.encode(record.key.rule),
            record.state.rawValue, String(record.attempt), String(record.nextAction),
            PostgresText.encode(record.lastError), record.retryAt.map { String($0.millisecondsSince1970) },
            PostgresText.encode(record.dedupKey), PostgresText.encode(record.output),
            PostgresText.encode(record.subscription), String(record.createdAt.millisecondsSince1970),
            String(record.updatedAt.millisecondsSince1970), PostgresText.encode(record.actionsFingerprint),
            PostgresText.encode(record.progressJSON),
        ]
    }

    /// Whether the statement of ``saveStatement(_:replacing:transitionDetail:dedup:)`` wrote the row.
    static func wrote(_ result: PostgresConnection.Result) -> Bool { result.rows.first?[0] == "1" }

    /// A save in one statement, which needs no transaction of its own (instead of `BEGIN`, three
    /// or four statements and `COMMIT`): the task row — inserted when
    /// `previous` is nil, else updated where its state is `previous` — and, only when that row was
    /// written, its kept message (a new row), its transition and the dedup settlement, as
    /// data-modifying `WITH` parts that read the written row. ``wrote(_:)`` says from its answer whether the row was written; when not (a row already
    /// there, or in another state, or gone), nothing was, and the caller takes the transaction's way.
    static func saveStatement(
        _ record: TaskRecord, replacing previous: TaskState?, transitionDetail: String?, dedup: DedupSettlement?
    ) -> PostgresConnection.Statement {
        let shape = SaveShape(
            updates: previous != nil, keepsMessage: previous == nil && record.message != nil,
            recordsTransition: previous != record.state || transitionDetail != nil, dedup: dedup)
        // The values in the order of SaveShape.sql's placeholders.
        var parameters = taskValues(record)
        parameters.reserveCapacity(parameters.count + 5)
        if let previous { parameters.append(previous.rawValue) }
        if shape.keepsMessage, let message = record.message { parameters.append(message.json) }
        if shape.recordsTransition { parameters.append(PostgresText.encode(transitionDetail)) }
        switch dedup {
        case nil:
            break
        case .complete(let rule, let key, let window):
            let now = record.updatedAt.millisecondsSince1970
            let (until, overflow) = now.addingReportingOverflow(window.nonNegativeMilliseconds)
            parameters += [
                dedupID(rule: rule, key: key), PostgresText.encode(rule), PostgresText.encode(key),
                String(overflow ? Int64.max : until),
            ]
        case .release(let rule, let key):
            parameters.append(dedupID(rule: rule, key: key))
        }
        return PostgresConnection.Statement(sql: shape.statement, parameters: parameters)
    }

    /// Which parts the statement of ``saveStatement(_:replacing:transitionDetail:dedup:)``
    /// has; its SQL text is built once per shape (there are at most 24) and kept.
    struct SaveShape: Hashable, Sendable {
        enum Dedup: Hashable, Sendable { case none, complete, release }
        var updates: Bool
        var keepsMessage: Bool
        var recordsTransition: Bool
        var dedup: Dedup

        init(updates: Bool, keepsMessage: Bool, recordsTransition: Bool, dedup: DedupSettlement?) {
            self.updates = updates
            self.keepsMessage = keepsMessage
            self.recordsTransition = recordsTransition
            self.dedup =
                switch dedup {
                case nil: .none
                case .complete: .complete
                case .release: .release
                }
        }

        private static let built = Mutex<[SaveShape: String]>([:])

        var statement: String {
            if let sql = Self.built.withLock({ $0[self] }) { return sql }
            let sql = self.sql
            Self.built.withLock { $0[self] = sql }
            return sql
        }

        /// Placeholders $1 … $15 are the task's values (``taskValues(_:)``); the next ones, in
        /// order: the previous state (an update), the kept message, the transition's detail, and
        /// the dedup settlement's id, rule, key and expiry (complete) or id (release).
        private var sql: String {
            var count = 15
            func next(_ type: String = "text") -> String {
                count += 1
                return "$\(count)::\(type)"
            }
            var sql: String
            let from: String
            if updates {
                from = next()
                sql = """
                    WITH written AS (
                        UPDATE tasks SET message_id = $2, rule = $3, state = $4, attempt = $5, next_action = $6,
                            last_error = $7, retry_at = $8, dedup_key = $9, output = $10, subscription = $11,
                            created_at = $12, updated_at = $13, actions_fingerprint = $14, progress = $15
                        WHERE task_id = $1 AND state = \(from) RETURNING task_id)
                    """
            } else {
                from = "NULL::text"
                sql = """
                    WITH written AS (
                        INSERT INTO tasks (task_id, \(taskColumns))
                        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
                        ON CONFLICT (task_id) DO NOTHING RETURNING task_id)
                    """
                if keepsMessage {
                    sql += """
                        , kept AS (
                            INSERT INTO task_messages (task_id, message) SELECT task_id, \(next()) FROM written
                            ON CONFLICT (task_id) DO UPDATE SET message = EXCLUDED.message)
                        """
                }
            }
            if recordsTransition {
                sql += """
                    , recorded AS (
                        INSERT INTO transitions (task_id, from_state, to_state, at, detail)
                        SELECT task_id, \(from), $4::text, $13::bigint, \(next())
                        FROM written)
                    """
            }
            switch dedup {
            case .none:
                break
            case .complete:
                sql += """
                    , settled AS (
                        INSERT INTO dedup_keys (dedup_id, rule, key, owner_message_id, owner_rule, status, expires_at,
                                                updated_at)
                        SELECT \(next("bytea")), \(next()), \(next()), $2::text, $3::text, 'succeeded',
                               \(next("bigint")), $13::bigint
                        FROM written
                        ON CONFLICT (dedup_id) DO UPDATE SET
                            owner_message_id = EXCLUDED.owner_message_id, owner_rule = EXCLUDED.owner_rule,
                            status = 'succeeded', expires_at = EXCLUDED.expires_at, updated_at = EXCLUDED.updated_at
                        WHERE (dedup_keys.owner_message_id = EXCLUDED.owner_message_id
                               AND dedup_keys.owner_rule = EXCLUDED.owner_rule)
                           OR dedup_keys.expires_at <= EXCLUDED.updated_at)
                    """
            case .release:
                sql += """
                    , released AS (
                        DELETE FROM dedup_keys
                        WHERE dedup_id = \(next("bytea")) AND owner_message_id = $2::text
                          AND owner_rule = $3::text AND status = 'running' AND EXISTS (SELECT 1 FROM written))
                    """
            }
            return sql + "\nSELECT count(*) FROM written"
        }
    }

    /// Inserts the row unless its key has one, with the record's ``TaskRecord/message`` beside it.
    /// - Returns: whether it did.
    private static func insert(_ db: PostgresConnection, _ record: TaskRecord) throws -> Bool {
        let inserted =
            try db.execute(
                """
                INSERT INTO tasks (task_id, \(taskColumns))
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
                ON CONFLICT (task_id) DO NOTHING
                """, taskValues(record), operation: "save"
            ).affected == 1
        if inserted, let message = record.message {
            try db.execute(
                """
                INSERT INTO task_messages (task_id, message) VALUES ($1, $2)
                ON CONFLICT (task_id) DO UPDATE SET message = EXCLUDED.message
                """, [taskID(record.key), message.json], operation: "save")
        }
        return inserted
    }

    /// Replaces every column of the row of `record.key` but the key; with `previous`, only if
    /// that is the stored state. - Returns: whether a row was replaced.
    private static func update(_ db: PostgresConnection, _ record: TaskRecord, onlyIn previous: TaskState?) throws
        -> Bool
    {
        try db.execute(
            """
            UPDATE tasks SET message_id = $2, rule = $3, state = $4, attempt = $5, next_action = $6,
                last_error = $7, retry_at = $8, dedup_key = $9, output = $10, subscription = $11,
                created_at = $12, updated_at = $13, actions_fingerprint = $14, progress = $15
            WHERE task_id = $1 AND ($16::text IS NULL OR state = $16)
            """, taskValues(record) + [previous?.rawValue], operation: "save"
        ).affected == 1
    }

    /// Inserts the row or, when there is one, locks it, reads its state and replaces it; adds a
    /// transition when the state changed.
    private static func upsert(_ db: PostgresConnection, _ record: TaskRecord, detail: String?) throws {
        while true {
            if try insert(db, record) {
                try addTransition(db, record, from: nil, detail: detail)
                return
            }
            guard
                let stored = try db.execute(
                    "SELECT state FROM tasks WHERE task_id = $1 FOR UPDATE", [taskID(record.key)], operation: "save"
                ).rows.first
            else { continue }  // deleted since the insert found it: insert again
            _ = try update(db, record, onlyIn: nil)
            if stored[0] != record.state.rawValue || detail != nil {
                try addTransition(db, record, from: stored[0], detail: detail)
            }
            return
        }
    }

    static func addTransition(
        _ db: PostgresConnection, _ record: TaskRecord, from previous: String?, detail: String?
    ) throws {
        try db.execute(
            "INSERT INTO transitions (task_id, from_state, to_state, at, detail) VALUES ($1, $2, $3, $4, $5)",
            [
                taskID(record.key), previous, record.state.rawValue, String(record.updatedAt.millisecondsSince1970),
                PostgresText.encode(detail),
            ], operation: "save")
    }

    private static func settle(_ db: PostgresConnection, _ dedup: DedupSettlement?, owner: TaskKey, now: Date) throws {
        switch dedup {
        case nil:
            break
        case .complete(let rule, let key, let window):
            try completeDedup(db, rule: rule, key: key, owner: owner, now: now, window: window)
        case .release(let rule, let key):
            try releaseDedup(db, rule: rule, key: key, owner: owner)
        }
    }

    private static func completeDedup(
        _ db: PostgresConnection, rule: String, key: String, owner: TaskKey, now: Date, window: Duration
    ) throws {
        let nowMS = now.millisecondsSince1970
        let (until, overflow) = nowMS.addingReportingOverflow(window.nonNegativeMilliseconds)
        try db.execute(
            """
            INSERT INTO dedup_keys (dedup_id, rule, key, owner_message_id, owner_rule, status, expires_at, updated_at)
            VALUES ($1, $2, $3, $4, $5, 'succeeded', $6, $7)
            ON CONFLICT (dedup_id) DO UPDATE SET
                owner_message_id = EXCLUDED.owner_message_id, owner_rule = EXCLUDED.owner_rule,
                status = 'succeeded', expires_at = EXCLUDED.expires_at, updated_at = EXCLUDED.updated_at
            WHERE (dedup_keys.owner_message_id = EXCLUDED.owner_message_id
                   AND dedup_keys.owner_rule = EXCLUDED.owner_rule)
               OR dedup_keys.expires_at <= EXCLUDED.updated_at
            """,
            [
                dedupID(rule: rule, key: key), PostgresText.encode(rule), PostgresText.encode(key),
                PostgresText.encode(owner.messageID), PostgresText.encode(owner.rule),
                String(overflow ? Int64.max : until), String(nowMS),
            ], operation: "completeDedup")
    }

    private static func releaseDedup(_ db: PostgresConnection, rule: String, key: String, owner: TaskKey) throws {
        try db.execute(
            """
            DELETE FROM dedup_keys
            WHERE dedup_id = $1 AND owner_message_id = $2 AND owner_rule = $3 AND status = 'running'
            """,
            [dedupID(rule: rule, key: key), PostgresText.encode(owner.messageID), PostgresText.encode(owner.rule)],
            operation: "releaseDedup")
    }

    private static func dedupRow(_ db: PostgresConnection, id: String?, operation: String) throws -> DedupEntry? {
        guard
            let row = try db.execute(
                "SELECT owner_message_id, owner_rule, status, expires_at FROM dedup_keys WHERE dedup_id = $1", [id],
                operation: operation
            ).rows.first
        else { return nil }
        return DedupEntry(
            owner: TaskKey(messageID: PostgresText.decode(row[0] ?? ""), rule: PostgresText.decode(row[1] ?? "")),
            status: row[2] ?? "",
            expiresAt: Date(millisecondsSince1970: try int64(row[3], operation: operation)))
    }

    static func taskRecord(_ row: [String?]) throws -> TaskRecord {
        let operation = "read task"
        return TaskRecord(
            key: TaskKey(messageID: PostgresText.decode(row[0] ?? ""), rule: PostgresText.decode(row[1] ?? "")),
            state: try state(row[2] ?? "", operation: operation),
            attempt: Int(try int64(row[3], operation: operation)),
            nextAction: Int(try int64(row[4], operation: operation)),
            lastError: PostgresText.decode(row[5]),
            retryAt: try row[6].map { Date(millisecondsSince1970: try int64($0, operation: operation)) },
            dedupKey: PostgresText.decode(row[7]),
            output: PostgresText.decode(row[8]),
            subscription: PostgresText.decode(row[9]),
            createdAt: Date(millisecondsSince1970: try int64(row[10], operation: operation)),
            updatedAt: Date(millisecondsSince1970: try int64(row[11], operation: operation)),
            actionsFingerprint: PostgresText.decode(row[12])
        ).withProgress(try TaskRecord.progress(fromJSON: PostgresText.decode(row[13])))
    }

    static func state(_ name: String, operation: String) throws -> TaskState {
        guard let state = TaskState(rawValue: name) else {
            throw StateStoreError(code: .invalidData, message: "unknown task state \"\(name)\"", operation: operation)
        }
        return state
    }

    static func int64(_ text: String?, operation: String) throws -> Int64 {
        guard let text, let value = Int64(text) else {
            throw StateStoreError(
                code: .invalidData, message: "not an integer: \(text ?? "NULL")", operation: operation)
        }
        return value
    }

    /// A `text[]` literal of `values` (each quoted, `"` and `\` escaped), for `= ANY($n::text[])`.
    static func textArray(_ values: [String]) -> String {
        let quoted = values.map { value -> String in
            var escaped = ""
            for character in value {
                if character == "\"" || character == "\\" { escaped.append("\\") }
                escaped.append(character)
            }
            return "\"\(escaped)\""
        }
        return "{" + quoted.joined(separator: ",") + "}"
    }

    // MARK: Keys

    /// SHA-256 over the parts, each preceded by its UTF-8 length (8 bytes, big-endian), so that
    /// different tuples never share an encoding; as a `bytea` parameter (`\x` and hex).
    static func digest(_ parts: [String]) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(parts.reduce(0) { $0 + 8 + $1.utf8.count })
        for var part in parts {
            part.withUTF8 { utf8 in
                withUnsafeBytes(of: UInt64(utf8.count).bigEndian) { bytes.append(contentsOf: $0) }
                bytes.append(contentsOf: utf8)
            }
        }
        return "\\x" + SHA256.hex(bytes)
    }

    static func taskID(_ key: TaskKey) -> String { digest([key.messageID, key.rule]) }
    static func dedupID(rule: String, key: String) -> String { digest([rule, key]) }
    static func ruleID(_ rule: String) -> String { digest([rule]) }

    // MARK: Migrations

    /// Creates or migrates the schema in one transaction under the advisory lock
    /// ``StoreSchema/postgresAdvisoryLock`` (daemons starting together migrate once), or refuses
    /// a database a newer Horae migrated.
    static func migrate(_ db: PostgresConnection, location: String) throws {
        try db.transaction(operation: "migrate") {
            try db.execute(
                "SELECT pg_advisory_xact_lock($1)", [String(StoreSchema.postgresAdvisoryLock)], operation: "migrate")
            try db.execute(
                """
                CREATE TABLE IF NOT EXISTS horae_schema (
                    singleton BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (singleton),
                    version   INTEGER NOT NULL
                )
                """, operation: "migrate")
            let found =
                try db.execute("SELECT version FROM horae_schema", operation: "migrate").rows.first?[0]
                .flatMap { Int($0) } ?? 0
            let pending = try StoreSchema.pending(
                from: found, location: location, hint: "point `state:` at another database")
            for migration in pending {
                for statement in migration.postgres {
                    try db.execute(statement, operation: "migrate")
                }
            }
            if let last = pending.last {
                try db.execute(
                    """
                    INSERT INTO horae_schema (singleton, version) VALUES (TRUE, $1)
                    ON CONFLICT (singleton) DO UPDATE SET version = EXCLUDED.version
                    """, [String(last.version)], operation: "migrate")
            }
        }
    }
}

/// The reversible escape that lets text holding U+0000 (which PostgreSQL text cannot store) be
/// stored: U+0001 becomes U+0001 U+0001 and U+0000 becomes U+0001 `0`. Text without either is
/// stored as it is.
enum PostgresText {
    static func encode(_ text: String) -> String {
        var bytes = text
        guard bytes.withUTF8({ $0.contains { $0 <= 1 } }) else { return text }
        var result = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0: result.append(contentsOf: ["\u{1}", "0"])
            case 1: result.append(contentsOf: ["\u{1}", "\u{1}"])
            default: result.append(scalar)
            }
        }
        return String(result)
    }

    static func encode(_ text: String?) -> String? { text.map(encode) }

    static func decode(_ text: String) -> String {
        var bytes = text
        guard bytes.withUTF8({ $0.contains(1) }) else { return text }
        var result = String.UnicodeScalarView()
        var escaped = false
        for scalar in text.unicodeScalars {
            if escaped {
                result.append(scalar == "0" ? "\u{0}" : scalar)
                escaped = false
            } else if scalar == "\u{1}" {
                escaped = true
            } else {
                result.append(scalar)
            }
        }
        return String(result)
    }

    static func decode(_ text: String?) -> String? { text.map(decode) }
}
