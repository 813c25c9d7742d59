import CPostgres

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One libpq connection (`PGconn`), used by one thread at a time (``PostgresPool`` runs every
/// call on the connection's own serial queue). Statements are sent with `PQexecParams`: values
/// are always bound as parameters (text format), never spliced into SQL.
final class PostgresConnection {
    private var handle: OpaquePointer?
    /// Between `BEGIN` and the transaction's end: a statement that fails then commits nothing.
    private var inTransaction = false
    /// Set when the connection broke while a statement that commits — one outside a transaction,
    /// or `COMMIT` — waited for its answer: the server may have committed it before going away.
    /// (A transaction that broke before its `COMMIT` was sent is rolled back by the server.)
    private(set) var mayHaveCommitted = false

    /// Connection keywords for `PQconnectdbParams` (``PostgresStateStore/connectionParameters``).
    /// Opening blocks until connected, or `connect_timeout`.
    /// - Throws: ``StateStoreError`` with ``StateStoreError/Code/unavailable`` (cannot connect) or
    ///   ``StateStoreError/Code/openFailed`` (the server refused: authentication, no database).
    init(parameters: [(String, String)], location: String) throws {
        let keywords = parameters.map { strdup($0.0) } + [nil]
        let values = parameters.map { strdup($0.1) } + [nil]
        defer {
            for pointer in keywords + values { free(pointer) }
        }
        let connection = keywords.map { UnsafePointer($0) }.withUnsafeBufferPointer { keys in
            values.map { UnsafePointer($0) }.withUnsafeBufferPointer { vals in
                PQconnectdbParams(keys.baseAddress, vals.baseAddress, 0)
            }
        }
        guard let connection, PQstatus(connection) == CONNECTION_OK else {
            let message = connection.map { Self.trimmed(PQerrorMessage($0)) } ?? "out of memory"
            if let connection { PQfinish(connection) }
            // A server that answered and refused (a password, a user, a database, pg_hba.conf)
            // is a setting to fix; anything else (refused connection, timeout, unknown host, a
            // server starting up or shutting down) may pass.
            let refused = Self.refusals.contains { message.contains($0) }
            throw StateStoreError(
                code: refused ? .openFailed : .unavailable, message: "\(location): \(message)", operation: "connect")
        }
        horae_pq_silence_notices(connection)
        handle = connection
    }

    deinit { close() }

    func close() {
        if let handle { PQfinish(handle) }
        handle = nil
    }

    /// False once the connection broke (the server went away); such a connection is discarded.
    var isUsable: Bool {
        guard let handle else { return false }
        return PQstatus(handle) == CONNECTION_OK
    }

    /// Whether the server closed this idle connection: a terminated backend sends its FATAL
    /// message and hangs up, which an idle connection only sees when it reads. Checked before a
    /// statement is sent, so that the pool opens a fresh connection instead. One `poll` without
    /// waiting; only when something came, up to two non-blocking reads (libpq's sockets never
    /// block), the second of which finds the end of the stream. Whatever else an idle connection
    /// may get (a changed setting) stays buffered for libpq, and the connection is kept.
    var wasClosedByServer: Bool {
        guard let handle else { return true }
        var descriptor = pollfd(fd: PQsocket(handle), events: Int16(POLLIN), revents: 0)
        guard poll(&descriptor, 1, 0) > 0, descriptor.revents != 0 else { return false }
        if PQconsumeInput(handle) == 1 { _ = PQconsumeInput(handle) }
        return PQstatus(handle) != CONNECTION_OK
    }

    /// The rows of a statement's result, every value as text (nil for SQL NULL).
    struct Result {
        var rows: [[String?]]
        /// `PQcmdTuples`: the rows an INSERT, UPDATE or DELETE changed.
        var affected: Int
    }

    /// Runs one statement with `parameters` bound as $1, $2, … (text format; nil is NULL).
    @discardableResult
    func execute(_ sql: String, _ parameters: [String?] = [], operation: String) throws -> Result {
        guard let handle else {
            throw StateStoreError(code: .closed, message: "the connection is closed", operation: operation)
        }
        let result = Self.withValues(parameters) { count, values in
            PQexecParams(handle, sql, count, nil, values, nil, nil, 0)
        }
        defer { PQclear(result) }
        let status = result.map(PQresultStatus) ?? PGRES_FATAL_ERROR
        guard status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK else {
            if !isUsable && sql != "BEGIN" && (!inTransaction || sql == "COMMIT") { mayHaveCommitted = true }
            throw error(result, operation: operation)
        }
        guard let result else { return Result(rows: [], affected: 0) }
        return Self.decode(result)
    }

    /// One statement of ``executePipelined(_:operation:)``.
    struct Statement {
        var sql: String
        var parameters: [String?]
    }

    /// What became of the statements of ``executePipelined(_:operation:)``.
    enum PipelineAnswer {
        /// All ran and committed together: their results, in order.
        case committed([Result])
        /// One failed (`error`, the first failure): none committed.
        case rolledBack(StateStoreError)
        /// The connection broke (`error`) before the answer came: the first `sent` were sent and
        /// may or may not have committed (together); the rest were not sent.
        case broke(StateStoreError, sent: Int)
    }

    /// Runs `statements` in one round trip and one transaction: in libpq's pipeline mode, all
    /// are sent with one sync after them, so the server runs them as one implicit transaction
    /// (one commit, one WAL flush) and answers them together. All or nothing, as a transaction:
    /// when one fails, the others are rolled back too.
    func executePipelined(_ statements: [Statement], operation: String) -> PipelineAnswer {
        guard let handle else {
            return .broke(
                StateStoreError(code: .closed, message: "the connection is closed", operation: operation), sent: 0)
        }
        guard PQenterPipelineMode(handle) == 1 else { return .broke(connectionError(operation: operation), sent: 0) }
        defer {
            // Fails only when answers are left unread (the connection broke): it is not used again.
            if PQexitPipelineMode(handle) != 1 { close() }
        }
        var sent = 0
        for statement in statements {
            let queued = Self.withValues(statement.parameters) { count, values in
                PQsendQueryParams(handle, statement.sql, count, nil, values, nil, nil, 0)
            }
            guard queued == 1 else { return .broke(connectionError(operation: operation), sent: sent) }
            sent += 1
        }
        guard PQpipelineSync(handle) == 1 else { return .broke(connectionError(operation: operation), sent: sent) }
        var results: [Result] = []
        results.reserveCapacity(sent)
        var failure: StateStoreError?
        for _ in 0..<sent {
            // Each statement's result (or "aborted", after a failure), then nil for its end.
            guard let result = PQgetResult(handle) else {
                return .broke(connectionError(operation: operation), sent: sent)
            }
            let status = PQresultStatus(result)
            if status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK {
                results.append(Self.decode(result))
            } else if failure == nil {
                failure = error(result, operation: operation)
            }
            PQclear(result)
            while let extra = PQgetResult(handle) { PQclear(extra) }
        }
        // The sync's answer: the implicit transaction has ended.
        let sync = PQgetResult(handle)
        let synced = sync.map { PQresultStatus($0) == PGRES_PIPELINE_SYNC } ?? false
        if let sync { PQclear(sync) }
        guard synced, isUsable else {
            return .broke(failure ?? connectionError(operation: operation), sent: sent)
        }
        if let failure { return .rolledBack(failure) }
        return .committed(results)
    }

    /// Calls `body` with `parameters` as libpq takes them: their count, and C strings (NULL for
    /// nil) that live until `body` returns.
    private static func withValues<R>(
        _ parameters: [String?], _ body: (Int32, UnsafePointer<UnsafePointer<CChar>?>?) -> R
    ) -> R {
        let copies = parameters.map { $0.map { strdup($0) } ?? nil }
        defer {
            for pointer in copies { free(pointer) }
        }
        return copies.map { UnsafePointer($0) }.withUnsafeBufferPointer {
            body(Int32(parameters.count), $0.baseAddress)
        }
    }

    /// The rows of a successful result, every value as text.
    private static func decode(_ result: OpaquePointer) -> Result {
        let rowCount = Int(PQntuples(result))
        let columnCount = Int(PQnfields(result))
        var rows: [[String?]] = []
        rows.reserveCapacity(rowCount)
        for row in 0..<Int32(rowCount) {
            var values: [String?] = []
            values.reserveCapacity(columnCount)
            for column in 0..<Int32(columnCount) {
                if PQgetisnull(result, row, column) == 1 {
                    values.append(nil)
                } else {
                    let length = Int(PQgetlength(result, row, column))
                    let bytes = UnsafeRawPointer(PQgetvalue(result, row, column)!).assumingMemoryBound(to: UInt8.self)
                    values.append(String(decoding: UnsafeBufferPointer(start: bytes, count: length), as: UTF8.self))
                }
            }
            rows.append(values)
        }
        let affected = Int(String(cString: PQcmdTuples(result))) ?? 0
        return Result(rows: rows, affected: affected)
    }

    /// Runs `body` between `BEGIN` and `COMMIT`; `ROLLBACK` when it throws.
    func transaction<T>(operation: String, _ body: () throws -> T) throws -> T {
        try execute("BEGIN", operation: operation)
        inTransaction = true
        defer { inTransaction = false }
        do {
            let value = try body()
            try execute("COMMIT", operation: operation)
            return value
        } catch {
            if isUsable { _ = try? execute("ROLLBACK", operation: operation) }
            throw error
        }
    }

    /// The connection's own error, for statements it could not answer.
    func connectionError(operation: String) -> StateStoreError { error(nil, operation: operation) }

    /// The ``StateStoreError`` of a failed statement: the server's message and SQLSTATE, or the
    /// connection's error (never the statement's bound values, which hold message data).
    private func error(_ result: OpaquePointer?, operation: String) -> StateStoreError {
        let sqlState = result.flatMap { PQresultErrorField($0, Int32(UInt8(ascii: "C"))) }.map { String(cString: $0) }
        let primary = result.flatMap { PQresultErrorField($0, Int32(UInt8(ascii: "M"))) }.map { String(cString: $0) }
        let detail = result.flatMap { PQresultErrorField($0, Int32(UInt8(ascii: "D"))) }.map { String(cString: $0) }
        guard let sqlState, let primary else {
            let message = handle.map { Self.trimmed(PQerrorMessage($0)) } ?? "no connection"
            return StateStoreError(
                code: isUsable ? .database : .unavailable, message: message.isEmpty ? "no result" : message,
                operation: operation)
        }
        let code: StateStoreError.Code =
            switch sqlState.prefix(2) {
            case "23": .constraint
            case "40", "55": .busy
            case "08", "57": .unavailable
            case "28": .openFailed
            default: .database
            }
        return StateStoreError(
            code: code, message: detail.map { "\(primary) (\($0))" } ?? primary, operation: operation,
            sqlState: sqlState)
    }

    /// Phrases of libpq's messages for a login the server refused.
    private static let refusals = [
        "authentication failed", "password", "does not exist", "permission denied", "no pg_hba.conf entry",
        "certificate", "does not support SSL",
    ]

    private static func trimmed(_ text: UnsafePointer<CChar>?) -> String {
        guard let text else { return "" }
        // libpq's messages run over several lines ("…failed: Connection refused\n\tIs the
        // server running…"): one line for the log.
        return String(cString: text).split(whereSeparator: \.isNewline)
            .map { $0.drop(while: \.isWhitespace) }.filter { !$0.isEmpty }.joined(separator: " ")
    }
}
