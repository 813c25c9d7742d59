import CSQLite

/// A value bound to a statement parameter. Values are only ever bound, never spliced into SQL:
/// message ids, rule names and dedup keys are attacker-controlled.
enum SQLiteValue {
    case integer(Int64)
    case text(String)
    case null

    static func text(_ value: String?) -> SQLiteValue { value.map { .text($0) } ?? .null }
    static func integer(_ value: Int) -> SQLiteValue { .integer(Int64(value)) }
    static func integer(_ value: Int64?) -> SQLiteValue { value.map { .integer($0) } ?? .null }
}

/// One row of a result, valid only inside the row closure of ``SQLiteConnection/query(_:_:operation:_:)``.
struct SQLiteRow {
    fileprivate let statement: OpaquePointer

    func isNull(_ column: Int32) -> Bool { sqlite3_column_type(statement, column) == SQLITE_NULL }

    func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(statement, column) }

    func int64OrNil(_ column: Int32) -> Int64? { isNull(column) ? nil : int64(column) }

    /// The text of `column`, decoded from its exact byte length (embedded NULs survive).
    func text(_ column: Int32) -> String? {
        guard let bytes = sqlite3_column_text(statement, column) else { return nil }
        let count = Int(sqlite3_column_bytes(statement, column))
        return String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self)
    }
}

/// One SQLite connection with its prepared-statement cache.
///
/// Not thread-safe and not `Sendable`: ``SQLiteStateStore`` confines it to its serial queue
/// (and its mutex). Every call either succeeds or throws a ``StateStoreError`` naming `operation`.
final class SQLiteConnection {
    private var handle: OpaquePointer?
    /// Inside a group commit (``beginBatch(operation:)``).
    private var inBatch = false
    private var statements: [String: OpaquePointer] = [:]
    /// The statements of SQL texts by the address of their storage: the hot path's SQL is string
    /// literals, whose storage never moves, so a lookup skips hashing a few hundred bytes; the
    /// text is compared (at once when it is the same storage) before the entry is trusted.
    private var byAddress: [UnsafeRawPointer: (sql: String, statement: OpaquePointer)] = [:]

    /// Process-wide settings, applied before the first connection initializes SQLite: no memory
    /// statistics (nothing reads them, and they cost a global mutex per allocation).
    private static let processSettings: Void = { _ = horae_sqlite3_disable_memstatus() }()

    /// Opens (creating if needed) the database file with extended result codes and `busyTimeout`.
    init(path: String, busyTimeoutMilliseconds: Int32) throws {
        Self.processSettings
        var db: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(rc))
            sqlite3_close_v2(db)
            throw StateStoreError(
                code: .openFailed, message: "cannot open \(path): \(message)", operation: "open",
                sqliteResultCode: rc, sqliteMessage: message)
        }
        handle = db
        sqlite3_extended_result_codes(db, 1)
        sqlite3_busy_timeout(db, busyTimeoutMilliseconds)
    }

    deinit { close() }

    var isOpen: Bool { handle != nil }

    /// Finalizes every cached statement and closes the connection. Idempotent.
    func close() {
        for statement in statements.values { sqlite3_finalize(statement) }
        statements.removeAll()
        byAddress.removeAll()
        if let handle { sqlite3_close_v2(handle) }
        handle = nil
    }

    // MARK: Statements

    /// Runs SQL text without parameters (schema DDL, pragmas). Never pass values through here.
    func execute(_ sql: String, operation: String) throws {
        let db = try database(operation)
        var message: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(db, sql, nil, nil, &message)
        defer { sqlite3_free(message) }
        guard rc == SQLITE_OK else {
            throw error(rc, operation: operation, detail: message.map { String(cString: $0) })
        }
    }

    /// Runs a statement that returns no rows.
    /// - Returns: the number of rows it inserted, updated or deleted.
    @discardableResult
    func run(_ sql: String, _ values: [SQLiteValue] = [], operation: String) throws -> Int {
        let db = try database(operation)
        let statement = try prepared(sql, operation: operation)
        return try withBindings(statement, values, operation: operation) {
            defer { sqlite3_reset(statement) }
            var rc = sqlite3_step(statement)
            while rc == SQLITE_ROW { rc = sqlite3_step(statement) }
            guard rc == SQLITE_DONE else { throw error(rc, operation: operation) }
            return Int(sqlite3_changes64(db))
        }
    }

    /// Runs a query and maps each row.
    func query<T>(
        _ sql: String, _ values: [SQLiteValue] = [], operation: String, _ transform: (SQLiteRow) throws -> T
    ) throws -> [T] {
        _ = try database(operation)
        let statement = try prepared(sql, operation: operation)
        return try withBindings(statement, values, operation: operation) {
            defer { sqlite3_reset(statement) }
            var rows: [T] = []
            while true {
                let rc = sqlite3_step(statement)
                if rc == SQLITE_DONE { return rows }
                guard rc == SQLITE_ROW else { throw error(rc, operation: operation) }
                rows.append(try transform(SQLiteRow(statement: statement)))
            }
        }
    }

    /// The first row of a query, or nil.
    func queryFirst<T>(
        _ sql: String, _ values: [SQLiteValue] = [], operation: String, _ transform: (SQLiteRow) throws -> T
    ) throws -> T? {
        try query(sql, values, operation: operation, transform).first
    }

    // MARK: Transactions

    enum TransactionKind {
        /// `BEGIN IMMEDIATE`: takes the write lock up front (waiting up to the busy timeout), so a
        /// read-then-write transaction can never fail half-way with SQLITE_BUSY_SNAPSHOT.
        case immediate
        /// `BEGIN`: a read snapshot, for multi-statement reads.
        case deferred
    }

    /// Whether a transaction is open (SQLite is not in autocommit mode).
    var inTransaction: Bool {
        guard let handle else { return false }
        return sqlite3_get_autocommit(handle) == 0
    }

    /// Runs `body` atomically: committed if it returns, rolled back if it throws.
    ///
    /// Outside a transaction this is `BEGIN …`/`COMMIT`. Inside a group commit opened by
    /// ``SQLiteWorker`` (``beginBatch(operation:)``) `body` just runs: its effects become durable
    /// with the batch's commit, and if it throws the worker rolls the whole batch back. Inside
    /// another transaction it is a savepoint, undone alone if `body` throws.
    func transaction<T>(_ kind: TransactionKind, operation: String, _ body: () throws -> T) throws -> T {
        let nested = inTransaction
        if nested && inBatch { return try body() }
        if nested {
            try run("SAVEPOINT horae_operation", operation: operation)
        } else {
            try run(kind == .immediate ? "BEGIN IMMEDIATE" : "BEGIN DEFERRED", operation: operation)
        }
        do {
            let result = try body()
            try run(nested ? "RELEASE horae_operation" : "COMMIT", operation: operation)
            return result
        } catch {
            // SQLite may already have rolled the whole transaction back (SQLITE_FULL, SQLITE_IOERR …).
            if inTransaction {
                if nested {
                    _ = try? run("ROLLBACK TO horae_operation", operation: operation)
                    _ = try? run("RELEASE horae_operation", operation: operation)
                } else {
                    _ = try? run("ROLLBACK", operation: operation)
                }
            }
            throw error
        }
    }

    /// Opens a group-commit transaction (`BEGIN IMMEDIATE`), in which ``transaction(_:operation:_:)``
    /// adds no savepoints (the worker rolls the whole batch back when an operation throws).
    func beginBatch(operation: String) throws {
        try run("BEGIN IMMEDIATE", operation: operation)
        inBatch = true
    }

    /// Commits the group-commit transaction; rolls it back if the commit fails.
    func commitBatch(operation: String) throws {
        inBatch = false
        do {
            try run("COMMIT", operation: operation)
        } catch {
            if inTransaction { _ = try? run("ROLLBACK", operation: operation) }
            throw error
        }
    }

    /// Rolls the group-commit transaction back (if SQLite has not already).
    func rollbackBatch(operation: String) {
        inBatch = false
        if inTransaction { _ = try? run("ROLLBACK", operation: operation) }
    }

    /// Leaves batch mode after SQLite rolled the batch's transaction back on its own.
    func endBatch() { inBatch = false }

    // MARK: Helpers

    private func database(_ operation: String) throws -> OpaquePointer {
        guard let handle else {
            throw StateStoreError(code: .closed, message: "the state store is closed", operation: operation)
        }
        return handle
    }

    /// A cached statement (prepared once with SQLITE_PREPARE_PERSISTENT), its bindings cleared.
    private func prepared(_ sql: String, operation: String) throws -> OpaquePointer {
        let db = try database(operation)
        let statement: OpaquePointer
        // Small strings live inline (no stable address); they hash quickly anyway.
        let address =
            sql.utf8.count > 15
            ? sql.utf8.withContiguousStorageIfAvailable { UnsafeRawPointer($0.baseAddress) } ?? nil : nil
        if let address, let entry = byAddress[address], entry.sql == sql {
            statement = entry.statement
        } else if let cached = statements[sql] {
            statement = cached
            if let address { byAddress[address] = (sql, cached) }
        } else {
            var fresh: OpaquePointer?
            let rc = sqlite3_prepare_v3(db, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &fresh, nil)
            guard rc == SQLITE_OK, let fresh else { throw error(rc, operation: operation) }
            statements[sql] = fresh
            statement = fresh
            if let address { byAddress[address] = (sql, fresh) }
        }
        sqlite3_clear_bindings(statement)
        return statement
    }

    /// Binds `values` to parameters 1… of `statement` and runs `body`, which must reset the
    /// statement before it returns.
    ///
    /// Texts are bound in place (`SQLITE_STATIC`, a nil destructor), not copied into SQLite's own allocation: each
    /// binding is made inside its string's `withUTF8`, and the ones after it and `body` run
    /// inside that closure, so every pointer outlives the statement's use of it. The statement
    /// keeps the stale pointers once `body` returns, but reads them only when stepped again,
    /// and every use clears the bindings (``prepared(_:operation:)``) before binding afresh.
    private func withBindings<R>(
        _ statement: OpaquePointer, _ values: [SQLiteValue], from first: Int = 0, operation: String,
        _ body: () throws -> R
    ) throws -> R {
        var position = first
        while position < values.count {
            let index = Int32(position + 1)
            switch values[position] {
            case .null:
                try check(sqlite3_bind_null(statement, index), operation: operation)
            case .integer(let integer):
                try check(sqlite3_bind_int64(statement, index, integer), operation: operation)
            case .text(var text):
                let next = position + 1
                return try text.withUTF8 { bytes in
                    if let base = bytes.baseAddress, !bytes.isEmpty {
                        try base.withMemoryRebound(to: CChar.self, capacity: bytes.count) {
                            try check(
                                sqlite3_bind_text64(
                                    statement, index, $0, UInt64(bytes.count), nil, UInt8(SQLITE_UTF8)),
                                operation: operation)
                        }
                    } else {
                        // A NULL pointer would bind SQL NULL: SQLite copies an empty text instead.
                        try check(
                            sqlite3_bind_text64(statement, index, "", 0, Self.transient, UInt8(SQLITE_UTF8)),
                            operation: operation)
                    }
                    return try withBindings(statement, values, from: next, operation: operation, body)
                }
            }
            position += 1
        }
        return try body()
    }

    private func check(_ rc: Int32, operation: String) throws {
        guard rc == SQLITE_OK else { throw error(rc, operation: operation) }
    }

    /// SQLite's `SQLITE_TRANSIENT` destructor sentinel (a macro Swift does not import).
    private static var transient: sqlite3_destructor_type {
        unsafeBitCast(-1 as Int, to: sqlite3_destructor_type.self)
    }

    func error(_ rc: Int32, operation: String, detail: String? = nil, fileID: String = #fileID, line: Int = #line)
        -> StateStoreError
    {
        let sqliteMessage =
            detail ?? handle.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(rc))
        return StateStoreError(
            code: .forSQLite(rc), message: sqliteMessage, operation: operation,
            sqliteResultCode: rc, sqliteMessage: String(cString: sqlite3_errstr(rc)), fileID: fileID, line: line)
    }
}
