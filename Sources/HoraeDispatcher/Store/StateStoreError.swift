import CSQLite

/// A state-store failure: what failed (``operation``), a stable ``code``, a message, the SQLite
/// result codes and error text when SQLite reported it, and where it was thrown.
public struct StateStoreError: Error, Sendable, CustomStringConvertible {
    /// A stable, extensible category.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String, Hashable, Sendable {
            case openFailed, unsupportedSchema, closed, busy, constraint, corrupt, io, invalidData, sqlite
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// The database could not be opened or configured (directory, file, permissions).
        public static let openFailed = Code(.openFailed)
        /// The file's `user_version` is newer than this build understands.
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
        fileID: String = #fileID,
        line: Int = #line
    ) {
        self.code = code
        self.message = message
        self.operation = operation
        self.sqliteResultCode = sqliteResultCode
        self.sqliteMessage = sqliteMessage
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
        return text + " [\(fileID):\(line)]"
    }
}
