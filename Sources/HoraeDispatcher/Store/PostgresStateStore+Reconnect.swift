/// How the PostgreSQL store runs a call when its connection breaks (a server that went away or
/// restarted, a backend ended by `pg_terminate_backend`, a reset connection): on a fresh
/// connection, again, with a capped backoff, for up to ``PostgresStateStore/Configuration/reconnectPatience``
/// — when that is safe (``Repetition``) — and then fails with ``StateStoreError/Code/unavailable``.
/// No call is dropped silently: each one either returns what the database did, or throws.
///
/// The store also remembers whether it can reach the server (``availabilityProblem``): a
/// connection that cannot be opened, or a call that ran out of patience, makes it unavailable;
/// any call that works makes it available again. `/readyz` reports it.
extension PostgresStateStore {
    /// When a call whose connection broke may be run again.
    enum Repetition {
        /// Only when it cannot have committed: no connection could be opened, or its transaction
        /// broke before `COMMIT` was sent (the server rolls such a transaction back). When it may
        /// have committed, it fails (unavailable), saying that whether it committed is unknown.
        case ifUncommitted
        /// Also when it may have committed (the connection broke while a committing statement
        /// waited for its answer): the body is written so that running it again leaves what
        /// running it once does, or finds its own lost commit (its `mayHaveCommitted` argument).
        case always
    }

    /// The wait between two tries of a call whose connection broke.
    static let reconnectBackoff = Backoff(initial: .milliseconds(100), maximum: .seconds(2), multiplier: 2)

    /// Why the server cannot be used now, e.g. `state store unavailable: postgres://horae@db:5432/horae:
    /// connection to server … failed: Connection refused`; nil when the last call reached it.
    /// The URL is shown without its password, and libpq's messages never hold it.
    public var availabilityProblem: String? { availability.withLock { $0 } }

    /// One round trip (`SELECT 1`) without patience: it sets ``availabilityProblem`` or clears it.
    public func checkAvailability() async {
        _ = try? await call("checkAvailability", .always, patience: .zero) { db, _ in
            try db.execute("SELECT 1", operation: "checkAvailability")
            return true
        }
    }

    /// Runs `body` on a pooled connection (off the cooperative pool), on a fresh one when its
    /// connection broke. Its statements must be safe to run twice (``Repetition/always``): reads,
    /// and writes that leave the same rows when repeated — the callers say why theirs are.
    func perform<T: Sendable>(
        _ operation: String, _ body: @escaping @Sendable (PostgresConnection) throws -> T
    ) async throws -> T {
        try await call(operation, .always, patience: reconnectPatience) { db, _ in try body(db) }
    }

    /// `body` in one transaction, run again on a fresh connection when its connection broke
    /// before it committed (``Repetition/ifUncommitted``).
    func transaction<T: Sendable>(
        _ operation: String, _ body: @escaping @Sendable (PostgresConnection) throws -> T
    ) async throws -> T {
        try await transaction(operation, .ifUncommitted) { db, _ in try body(db) }
    }

    /// `body` in one transaction; run again (up to 3 times) when PostgreSQL chose it as the
    /// victim of a deadlock or a serialization failure, which roll it back whole; and on a
    /// fresh connection when its connection broke, as `repetition` allows. `body` gets whether
    /// an earlier try may have committed.
    func transaction<T: Sendable>(
        _ operation: String, _ repetition: Repetition,
        _ body: @escaping @Sendable (PostgresConnection, _ mayHaveCommitted: Bool) throws -> T
    ) async throws -> T {
        try await call(operation, repetition, patience: reconnectPatience) { db, mayHaveCommitted in
            try Self.retryingTransaction(db, operation: operation) { try body(db, mayHaveCommitted) }
        }
    }

    /// `body` in one transaction on `db`, run again (up to 3 times) when PostgreSQL chose it as
    /// the victim of a deadlock or a serialization failure.
    static func retryingTransaction<T>(_ db: PostgresConnection, operation: String, _ body: () throws -> T) throws -> T
    {
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try db.transaction(operation: operation, body)
            } catch let error as StateStoreError where attempt < 3 && Self.rolledBackWhole(error) {
                continue
            }
        }
    }

    /// One try of a call: its value, or the error of the connection that broke under it.
    private enum Try<T: Sendable>: Sendable {
        case done(T)
        case broke(StateStoreError, mayHaveCommitted: Bool)
    }

    /// The loop behind ``perform(_:_:)`` and the transactions: tries `body` until it returns,
    /// fails otherwise than by a broken connection, may have committed when `repetition` does
    /// not allow that, or `patience` is spent (or the calling task is cancelled).
    func call<T: Sendable>(
        _ operation: String, _ repetition: Repetition, patience: Duration,
        _ body: @escaping @Sendable (PostgresConnection, _ mayHaveCommitted: Bool) throws -> T
    ) async throws -> T {
        try await call(operation, repetition, patience: patience, firstTry: nil, body)
    }

    /// ``call(_:_:patience:_:)``, whose first try, when given, has already been made.
    private func call<T: Sendable>(
        _ operation: String, _ repetition: Repetition, patience: Duration, firstTry: Try<T>?,
        _ body: @escaping @Sendable (PostgresConnection, _ mayHaveCommitted: Bool) throws -> T
    ) async throws -> T {
        let deadline = ContinuousClock.now + patience
        var failures = 0
        var mayHaveCommitted = false
        var given = firstTry
        while true {
            let repeated = mayHaveCommitted
            let outcome: Try<T>
            if let first = given {
                outcome = first
                given = nil
            } else {
                outcome = try await tryOnce(operation, repeated: repeated, body)
            }
            switch outcome {
            case .done(let value):
                noteAvailable()
                return value
            case .broke(let broken, let committed):
                var error = broken
                error.code = .unavailable
                error = named(error, operation: operation)
                mayHaveCommitted = mayHaveCommitted || committed
                if committed && repetition == .ifUncommitted {
                    error.message += " (the connection broke while it committed: whether it did is unknown)"
                    throw error
                }
                failures += 1
                // The last try is at the deadline, however the backoff falls.
                let left = deadline - ContinuousClock.now
                let delay = min(Self.reconnectBackoff.delay(afterFailures: failures), left)
                guard left > .zero, (try? await Task.sleep(for: delay)) != nil else {
                    noteUnavailable(error)
                    throw error
                }
            }
        }
    }

    /// One try of `body` on a pooled connection.
    private func tryOnce<T: Sendable>(
        _ operation: String, repeated: Bool,
        _ body: @escaping @Sendable (PostgresConnection, _ mayHaveCommitted: Bool) throws -> T
    ) async throws -> Try<T> {
        do {
            return try await pool.withConnection(operation: operation) { db in
                do {
                    return .done(try body(db, repeated))
                } catch let error as StateStoreError where !db.isUsable || Self.endsConnection(error) {
                    let committed = db.mayHaveCommitted
                    db.close()  // the slot connects again on its next call
                    return .broke(error, mayHaveCommitted: committed)
                } catch let error as StateStoreError where Self.rolledBackWhole(error) {
                    // Its transaction was undone whole: tried again, on the same connection.
                    return .broke(error, mayHaveCommitted: false)
                }
            }
        } catch let error as StateStoreError where error.code == .unavailable {
            // No connection could be opened: nothing ran, and the server is out of reach.
            let named = named(error, operation: operation)
            noteUnavailable(named)
            return .broke(named, mayHaveCommitted: false)
        } catch let error as StateStoreError {
            throw named(error, operation: operation)
        }
    }

    /// ``call(_:_:patience:_:)`` for a call that starts with one statement, and may always be
    /// run again (``Repetition/always``). Its first try sends `statement` in the pool's pipeline,
    /// sharing a round trip with other calls' (``PostgresPool/pipelined(operation:_:then:)``); a
    /// try on its own, after a broken connection, runs it alone. Either way `finish` makes the
    /// call's value of the statement's answer, on the same connection (it may run more statements
    /// there), told whether an earlier try may have committed; a try after one that may have,
    /// first asks `lostCommit` whether that commit went through, and its answer, when not nil, is
    /// the call's. A statement the server refused fails the call.
    func call<T: Sendable>(
        _ operation: String, patience: Duration, first statement: PostgresConnection.Statement,
        lostCommit: (@Sendable (PostgresConnection) throws -> T?)? = nil,
        finish:
            @escaping @Sendable (PostgresConnection.Result, PostgresConnection, _ mayHaveCommitted: Bool) throws
            -> T
    ) async throws -> T {
        let first: Try<T>
        do {
            first = try await pool.pipelined(operation: operation, statement) { outcome -> Try<T> in
                switch outcome {
                case .broke(let error, let sent):
                    return .broke(error, mayHaveCommitted: sent)
                case .answered(.failure(let error), _) where Self.rolledBackWhole(error):
                    return .broke(error, mayHaveCommitted: false)
                case .answered(.failure(let error), _):
                    throw error
                case .answered(.success(let result), let db):
                    do {
                        return .done(try finish(result, db, false))
                    } catch let error as StateStoreError where !db.isUsable || Self.endsConnection(error) {
                        return .broke(error, mayHaveCommitted: db.mayHaveCommitted)
                    } catch let error as StateStoreError where Self.rolledBackWhole(error) {
                        // `finish` runs more only when the statement changed nothing: nothing committed.
                        return .broke(error, mayHaveCommitted: false)
                    }
                }
            }
        } catch let error as StateStoreError where error.code == .unavailable {
            // No connection could be opened: nothing ran, and the server is out of reach.
            let named = named(error, operation: operation)
            noteUnavailable(named)
            first = .broke(named, mayHaveCommitted: false)
        } catch let error as StateStoreError {
            throw named(error, operation: operation)
        }
        return try await call(operation, .always, patience: patience, firstTry: first) { db, mayHaveCommitted in
            if mayHaveCommitted, let found = try lostCommit?(db) { return found }
            return try finish(
                db.execute(statement.sql, statement.parameters, operation: operation), db, mayHaveCommitted)
        }
    }

    /// A deadlock victim or a serialization failure: PostgreSQL undid the transaction whole, so
    /// it may run again. A batch of pipelined statements holds several rows' locks until its
    /// commit, so even a call of one statement can be chosen as a deadlock's victim.
    static func rolledBackWhole(_ error: StateStoreError) -> Bool {
        error.sqlState == "40P01" || error.sqlState == "40001"
    }

    /// A server error that ends the session (SQLSTATE class 08, connection exception; 57P01 and
    /// 57P02, the backend terminated or the server shutting down), even while libpq has not yet
    /// seen the connection close.
    private static func endsConnection(_ error: StateStoreError) -> Bool {
        guard let state = error.sqlState else { return false }
        return state.hasPrefix("08") || state == "57P01" || state == "57P02"
    }

    /// `error` as the store reports it: the call's operation, and the database (without
    /// password) when it could not be reached.
    private func named(_ error: StateStoreError, operation: String) -> StateStoreError {
        var error = error
        error.operation = operation
        if error.code == .unavailable && !error.message.hasPrefix(location) {
            error.message = "\(location): \(error.message)"
        }
        return error
    }

    private func noteUnavailable(_ error: StateStoreError) {
        let problem = "state store unavailable: \(error.message)"
        availability.withLock { $0 = problem }
    }

    private func noteAvailable() {
        availability.withLock { if $0 != nil { $0 = nil } }
    }
}
