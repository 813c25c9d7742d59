#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What the operators' commands read and write (`horae tasks`, the inbox), schema version 3.
extension PostgresStateStore {
    public func keptMessage(of key: TaskKey) async throws -> KeptMessage? {
        let text = try await perform("keptMessage") { db in
            try db.execute(
                "SELECT message FROM task_messages WHERE task_id = $1", [Self.taskID(key)], operation: "keptMessage"
            ).rows.first?[0]
        }
        return try text.flatMap { $0 }.map(KeptMessage.init(json:))
    }

    /// One query per state (``TaskQuery``), in one read-only snapshot.
    public func tasks(matching query: TaskQuery) async throws -> [TaskRecord] {
        guard query.limit > 0 else { return [] }
        // $1 is the state, bound per query.
        var conditions = ["state = $1"]
        var values: [String?] = [nil]
        func parameter(_ value: String?) -> String {
            values.append(value)
            return "$\(values.count)"
        }
        if let rule = query.rule { conditions.append("rule = \(parameter(PostgresText.encode(rule) as String))") }
        if let since = query.updatedSince {
            conditions.append("updated_at >= \(parameter(String(since.millisecondsSince1970)))")
        }
        let sql = """
            SELECT \(Self.taskColumns) FROM tasks WHERE \(conditions.joined(separator: " AND "))
            ORDER BY updated_at DESC, created_at DESC, message_id COLLATE "C", rule COLLATE "C"
            LIMIT \(parameter(String(query.limit)))
            """
        let bound = values
        let states = query.statesToRead
        let answers = try await perform("tasks") { db in
            try db.transaction(operation: "tasks") {
                try db.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY", operation: "tasks")
                return try states.map { state in
                    var stateValues = bound
                    stateValues[0] = state.rawValue
                    return try db.execute(sql, stateValues, operation: "tasks").rows.map(Self.taskRecord)
                }
            }
        }
        return query.merged(answers)
    }

    public func requestRetry(_ key: TaskKey, force: Bool, now: Date) async throws -> RetryRequest {
        try await transaction("requestRetry") { db in
            guard
                let row = try db.execute(
                    "SELECT \(Self.taskColumns) FROM tasks WHERE task_id = $1 FOR UPDATE", [Self.taskID(key)],
                    operation: "requestRetry"
                ).rows.first
            else { return .unknownTask }
            let stored = try Self.taskRecord(row)
            guard let retried = RetryRequest.retried(stored, force: force, now: now) else {
                return .refused(stored.state)
            }
            let text = try db.execute(
                "SELECT message FROM task_messages WHERE task_id = $1", [Self.taskID(key)], operation: "requestRetry"
            ).rows.first?[0]
            guard let json = text.flatMap({ $0 }), let kept = try? KeptMessage(json: json), kept.droppedDataBytes == 0
            else { return .messageNotKept }
            let entry = InboxEntry(
                kind: .retry, subscription: stored.subscription, rule: key.rule, message: kept.message, createdAt: now)
            // Another item's retry of the same message may have queued it: this task runs with it.
            let queued = try Self.enqueue(db, entry)
            try db.execute(
                """
                UPDATE tasks SET state = $2, attempt = $3, next_action = $4, retry_at = NULL, updated_at = $5,
                    progress = $6
                WHERE task_id = $1
                """,
                [
                    Self.taskID(key), retried.state.rawValue, String(retried.attempt), String(retried.nextAction),
                    String(retried.updatedAt.millisecondsSince1970), PostgresText.encode(retried.progressJSON),
                ], operation: "requestRetry")
            try Self.addTransition(
                db, retried, from: stored.state.rawValue, detail: RetryRequest.detail(retried, force: force))
            return queued ? .queued(retried) : .alreadyQueued
        }
    }

    public func enqueue(_ entries: [InboxEntry]) async throws -> Int {
        guard !entries.isEmpty else { return 0 }
        return try await transaction("enqueue") { db in
            try entries.reduce(0) { added, entry in added + (try Self.enqueue(db, entry) ? 1 : 0) }
        }
    }

    public func claimInbox(subscriptions: Set<String>, limit: Int, now: Date, leaseUntil: Date) async throws
        -> [InboxEntry]
    {
        guard limit > 0 else { return [] }
        let values: [String?] = [
            String(now.millisecondsSince1970),
            Self.textArray(subscriptions.sorted().map { PostgresText.encode($0) as String }),
            String(leaseUntil.millisecondsSince1970), String(limit),
        ]
        return try await transaction("claimInbox") { db in
            // SKIP LOCKED: daemons claiming at the same moment take different entries.
            try db.execute(
                """
                UPDATE inbox SET available_at = $3, claims = claims + 1
                WHERE id IN (
                    SELECT id FROM inbox
                    WHERE available_at <= $1 AND (subscription IS NULL OR subscription = ANY($2::text[]))
                    ORDER BY available_at, id LIMIT $4 FOR UPDATE SKIP LOCKED)
                RETURNING id, kind, subscription, rule, message, created_at, claims
                """, values, operation: "claimInbox"
            ).rows.map { row in
                try InboxEntry(
                    stored: try Self.int64(row[0], operation: "claimInbox"), kind: row[1] ?? "",
                    subscription: PostgresText.decode(row[2]), rule: PostgresText.decode(row[3]), message: row[4] ?? "",
                    createdAt: try Self.int64(row[5], operation: "claimInbox"),
                    claims: Int(try Self.int64(row[6], operation: "claimInbox")))
            }.sorted { $0.id < $1.id }
        }
    }

    public func settleInbox(_ id: Int64, availableAt: Date?) async throws {
        try await perform("settleInbox") { db in
            if let availableAt {
                _ = try db.execute(
                    "UPDATE inbox SET available_at = $2 WHERE id = $1",
                    [String(id), String(availableAt.millisecondsSince1970)], operation: "settleInbox")
            } else {
                _ = try db.execute("DELETE FROM inbox WHERE id = $1", [String(id)], operation: "settleInbox")
            }
        }
    }

    public func inboxCount() async throws -> Int {
        try await perform("inboxCount") { db in
            Int(
                try Self.int64(
                    db.execute("SELECT COUNT(*) FROM inbox", operation: "inboxCount").rows.first?[0] ?? "0",
                    operation: "inboxCount"))
        }
    }

    /// Adds `entry` unless one for its (message, rule, subscription) is queued. - Returns: whether it did.
    private static func enqueue(_ db: PostgresConnection, _ entry: InboxEntry) throws -> Bool {
        let key = digest([
            entry.message.id, entry.rule.map { "rule " + $0 } ?? "",
            entry.subscription.map { "subscription " + $0 } ?? "",
        ])
        let created = String(entry.createdAt.millisecondsSince1970)
        return try db.execute(
            """
            INSERT INTO inbox (entry_key, kind, subscription, rule, message_id, message, created_at, available_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
            ON CONFLICT (entry_key) DO NOTHING
            """,
            [
                key, entry.kind.rawValue, PostgresText.encode(entry.subscription), PostgresText.encode(entry.rule),
                PostgresText.encode(entry.message.id), KeptMessage(entry.message, keepingDataUpTo: .max).json, created,
            ], operation: "enqueue"
        ).affected == 1
    }
}
