import CSQLite

/// A state-store failure: what failed (``operation``), a stable ``code``, a message, the SQLite
/// result codes and error text when SQLite reported it (the SQLSTATE when PostgreSQL did), and
/// where it was thrown.
public struct StateStoreError: Error, Sendable, CustomStringConvertible {
    /// A stable, extensible category.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String, Hashable, Sendable {
            case openFailed, unsupportedSchema, closed, busy, constraint, corrupt, io, invalidData, sqlite
            case unavailable, database
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// The database could not be opened or configured (directory, file, permissions; for
        /// PostgreSQL, authentication or the password file).
        public static let openFailed = Code(.openFailed)
        /// The store's schema version is newer than this build understands (``StoreSchema``).
        public static let unsupportedSchema = Code(.unsupportedSchema)
        /// The store was closed.
        public static let closed = Code(.closed)
        /// Another connection held the lock beyond the busy timeout (SQLITE_BUSY / SQLITE_LOCKED).
        public static let busy = Code(.busy)
        /// A constraint failed (SQLITE_CONSTRAINT).
        public static let constraint = Code(.constraint)
        /// The file is damaged or not a database (SQLITE_CORRUPT / SQLITE_NOTADB).
        public static let corrupt = Code(.corrupt)
        /// Disk or I/O failure (SQLITE_IOERR, SQLITE_FULL, SQLITE_CANTOPEN, SQLITE_READONLY …).
        public static let io = Code(.io)
        /// A stored value could not be decoded (unknown state name …).
        public static let invalidData = Code(.invalidData)
        /// Any other SQLite error.
        public static let sqlite = Code(.sqlite)
        /// The database server cannot be reached, or the connection to it broke (PostgreSQL).
        public static let unavailable = Code(.unavailable)
        /// Any other error the database server reported (PostgreSQL; see ``StateStoreError/sqlState``).
        public static let database = Code(.database)

        public var description: String { value.rawValue }

        /// The category of an SQLite primary result code.
        static func forSQLite(_ resultCode: Int32) -> Code {
            switch resultCode & 0xff {
            case SQLITE_BUSY, SQLITE_LOCKED: .busy
            case SQLITE_CONSTRAINT: .constraint
            case SQLITE_CORRUPT, SQLITE_NOTADB: .corrupt
            case SQLITE_IOERR, SQLITE_FULL, SQLITE_CANTOPEN, SQLITE_READONLY, SQLITE_PERM: .io
            default: .sqlite
            }
        }
    }

    public var code: Code
    public var message: String
    /// PostgreSQL's SQLSTATE (e.g. `40P01`, a deadlock), when the server reported the failure.
    public var sqlState: String?
    /// The store operation, e.g. `claimDedup` or `open`.
    public var operation: String
    /// SQLite's extended result code (e.g. 517 = SQLITE_BUSY_SNAPSHOT), when SQLite failed.
    public var sqliteResultCode: Int32?
    /// `sqlite3_errmsg` at the time of failure.
    public var sqliteMessage: String?
    public var fileID: String
    public var line: Int

    public init(
        code: Code,
        message: String,
        operation: String,
        sqliteResultCode: Int32? = nil,
        sqliteMessage: String? = nil,
        sqlState: String? = nil,
        fileID: String = #fileID,
        line: Int = #line
    ) {
        self.code = code
        self.message = message
        self.operation = operation
        self.sqliteResultCode = sqliteResultCode
        self.sqliteMessage = sqliteMessage
        self.sqlState = sqlState
        self.fileID = fileID
        self.line = line
    }

    /// SQLite's primary result code (the low byte of ``sqliteResultCode``).
    public var sqlitePrimaryResultCode: Int32? { sqliteResultCode.map { $0 & 0xff } }

    public var description: String {
        var text = "state store \(operation): \(code): \(message)"
        if let sqliteResultCode {
            text += " (SQLite \(sqliteResultCode)"
            if let sqliteMessage, sqliteMessage != message { text += ": \(sqliteMessage)" }
            text += ")"
        }
        if let sqlState { text += " (SQLSTATE \(sqlState))" }
        return text + " [\(fileID):\(line)]"
    }
}
