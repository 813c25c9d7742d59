#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What the operators' commands read and write (`horae tasks`, the inbox), schema version 3.
extension SQLiteStateStore {
    public func keptMessage(of key: TaskKey) async throws -> KeptMessage? {
        let text = try await perform("keptMessage") { db in
            try db.queryFirst(
                "SELECT message FROM task_messages WHERE message_id = ?1 AND rule = ?2",
                [.text(key.messageID), .text(key.rule)], operation: "keptMessage"
            ) { $0.text(0) }
        }
        return try text.flatMap { $0 }.map(KeptMessage.init(json:))
    }

    /// One query per state (``TaskQuery``), in one read snapshot.
    public func tasks(matching query: TaskQuery) async throws -> [TaskRecord] {
        guard query.limit > 0 else { return [] }
        // ?1 is the state, bound per query.
        var conditions = ["state = ?1"]
        var values: [SQLiteValue] = [.null]
        func parameter(_ value: SQLiteValue) -> String {
            values.append(value)
            return "?\(values.count)"
        }
        if let rule = query.rule { conditions.append("rule = \(parameter(.text(rule)))") }
        if let since = query.updatedSince {
            conditions.append("updated_at >= \(parameter(.integer(since.millisecondsSince1970)))")
        }
        let limit = parameter(.integer(query.limit))
        let sql = """
            SELECT message_id, rule, state, attempt, next_action, last_error, retry_at, dedup_key, output,
                   subscription, created_at, updated_at, actions_fingerprint, progress
            FROM tasks WHERE \(conditions.joined(separator: " AND "))
            ORDER BY updated_at DESC, created_at DESC, message_id, rule LIMIT \(limit)
            """
        let bound = values
        let states = query.statesToRead
        let answers = try await perform("tasks") { db in
            try db.transaction(.deferred, operation: "tasks") {
                try states.map { state in
                    var stateValues = bound
                    stateValues[0] = .text(state.rawValue)
                    return try db.query(sql, stateValues, operation: "tasks", Self.taskRecord)
                }
            }
        }
        return query.merged(answers)
    }

    public func requestRetry(_ key: TaskKey, force: Bool, now: Date) async throws -> RetryRequest {
        try await perform("requestRetry", writes: true) { db in
            try db.transaction(.immediate, operation: "requestRetry") {
                guard
                    let stored = try db.queryFirst(
                        """
                        SELECT message_id, rule, state, attempt, next_action, last_error, retry_at, dedup_key, output,
                               subscription, created_at, updated_at, actions_fingerprint, progress
                        FROM tasks WHERE message_id = ?1 AND rule = ?2
                        """, [.text(key.messageID), .text(key.rule)], operation: "requestRetry", Self.taskRecord)
                else { return .unknownTask }
                guard let retried = RetryRequest.retried(stored, force: force, now: now) else {
                    return .refused(stored.state)
                }
                let text = try db.queryFirst(
                    "SELECT message FROM task_messages WHERE message_id = ?1 AND rule = ?2",
                    [.text(key.messageID), .text(key.rule)], operation: "requestRetry"
                ) { $0.text(0) }
                guard let json = text.flatMap({ $0 }), let kept = try? KeptMessage(json: json),
                    kept.droppedDataBytes == 0
                else { return .messageNotKept }
                let entry = InboxEntry(
                    kind: .retry, subscription: stored.subscription, rule: key.rule, message: kept.message,
                    createdAt: now)
                // Another item's retry of the same message may have queued it: this task runs with it.
                let queued = try Self.enqueue(db, entry, now: now)
                try db.run(
                    """
                    UPDATE tasks SET state = ?3, attempt = ?4, next_action = ?5, retry_at = NULL, updated_at = ?6,
                        progress = ?7
                    WHERE message_id = ?1 AND rule = ?2
                    """,
                    [
                        .text(key.messageID), .text(key.rule), .text(retried.state.rawValue),
                        .integer(retried.attempt), .integer(retried.nextAction),
                        .integer(retried.updatedAt.millisecondsSince1970), .text(retried.progressJSON),
                    ], operation: "requestRetry")
                try Self.addTransition(
                    db, retried, from: stored.state.rawValue, detail: RetryRequest.detail(retried, force: force))
                return queued ? .queued(retried) : .alreadyQueued
            }
        }
    }

    public func enqueue(_ entries: [InboxEntry]) async throws -> Int {
        guard !entries.isEmpty else { return 0 }
        let now = Date()
        return try await perform("enqueue", writes: true) { db in
            try db.transaction(.immediate, operation: "enqueue") {
                try entries.reduce(0) { added, entry in added + (try Self.enqueue(db, entry, now: now) ? 1 : 0) }
            }
        }
    }

    public func claimInbox(subscriptions: Set<String>, limit: Int, now: Date, leaseUntil: Date) async throws
        -> [InboxEntry]
    {
        guard limit > 0 else { return [] }
        var values: [SQLiteValue] = [.integer(now.millisecondsSince1970), .integer(limit)]
        for name in subscriptions.sorted() { values.append(.text(name)) }
        let listed =
            subscriptions.isEmpty
            ? "" : " OR subscription IN (\((3..<(3 + subscriptions.count)).map { "?\($0)" }.joined(separator: ", ")))"
        let select = """
            SELECT id, kind, subscription, rule, message, created_at, claims FROM inbox
            WHERE available_at <= ?1 AND (subscription IS NULL\(listed))
            ORDER BY available_at, id LIMIT ?2
            """
        let bound = values
        return try await perform("claimInbox", writes: true) { db in
            try db.transaction(.immediate, operation: "claimInbox") {
                let rows = try db.query(select, bound, operation: "claimInbox") { row in
                    (
                        id: row.int64(0), kind: row.text(1) ?? "", subscription: row.text(2), rule: row.text(3),
                        message: row.text(4) ?? "", createdAt: row.int64(5), claims: Int(row.int64(6))
                    )
                }
                var claimed: [InboxEntry] = []
                for row in rows {
                    try db.run(
                        "UPDATE inbox SET available_at = ?2, claims = claims + 1 WHERE id = ?1",
                        [.integer(row.id), .integer(leaseUntil.millisecondsSince1970)], operation: "claimInbox")
                    claimed.append(
                        try InboxEntry(
                            stored: row.id, kind: row.kind, subscription: row.subscription, rule: row.rule,
                            message: row.message, createdAt: row.createdAt, claims: row.claims + 1))
                }
                return claimed
            }
        }
    }

    public func settleInbox(_ id: Int64, availableAt: Date?) async throws {
        try await perform("settleInbox", writes: true) { db in
            if let availableAt {
                _ = try db.run(
                    "UPDATE inbox SET available_at = ?2 WHERE id = ?1",
                    [.integer(id), .integer(availableAt.millisecondsSince1970)], operation: "settleInbox")
            } else {
                _ = try db.run("DELETE FROM inbox WHERE id = ?1", [.integer(id)], operation: "settleInbox")
            }
        }
    }

    public func inboxCount() async throws -> Int {
        try await perform("inboxCount") { db in
            try db.queryFirst("SELECT COUNT(*) FROM inbox", operation: "inboxCount") { Int($0.int64(0)) } ?? 0
        }
    }

    /// Keeps the record's ``TaskRecord/message`` beside its row (a task's first insert).
    static func keepMessage(_ db: SQLiteConnection, _ record: TaskRecord, operation: String) throws {
        guard let message = record.message else { return }
        try db.run(
            "INSERT OR REPLACE INTO task_messages (message_id, rule, message) VALUES (?1, ?2, ?3)",
            [.text(record.key.messageID), .text(record.key.rule), .text(message.json)], operation: operation)
    }

    /// Adds `entry` unless one for its (message, rule, subscription) is queued. - Returns: whether it did.
    private static func enqueue(_ db: SQLiteConnection, _ entry: InboxEntry, now: Date) throws -> Bool {
        try db.run(
            """
            INSERT INTO inbox (kind, subscription, rule, message_id, message, created_at, available_at)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)
            ON CONFLICT DO NOTHING
            """,
            [
                .text(entry.kind.rawValue), .text(entry.subscription), .text(entry.rule), .text(entry.message.id),
                .text(KeptMessage(entry.message, keepingDataUpTo: .max).json),
                .integer(entry.createdAt.millisecondsSince1970),
            ], operation: "enqueue") == 1
    }
}
