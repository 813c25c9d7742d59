import Dispatch
import Synchronization

/// Runs a store's SQLite calls on one serial `DispatchQueue` (off Swift's cooperative pool), with
/// one connection, and group-commits concurrent writes.
///
/// ## Group commit
/// Calls queue up while the worker is busy (typically waiting on an fsync). When it gets to them,
/// consecutive write operations — up to ``maxBatch`` — run in *one* `BEGIN IMMEDIATE … COMMIT`,
/// and nobody's call returns before that commit. Each call therefore stays atomic and durable on
/// return, while the fsync of `synchronous=FULL` is paid once per batch instead of once per call.
/// A lone write runs in its own transaction; reads run in autocommit mode.
///
/// An operation that throws fails alone: the batch is rolled back, that operation gets its error
/// (none of its writes took effect), and the others run again as a new batch. (Operations are
/// database work only, so running one again after a rollback is running it once. Rolling back
/// the rare failure this way, rather than putting each operation in a savepoint, spares two
/// statements and the savepoint's copies of every page it touches per operation.)
///
/// If SQLite rolls the batch's transaction back on its own (SQLITE_FULL, SQLITE_IOERR …), or the
/// commit fails, every operation run so far in the batch fails with that error: none of them took
/// effect.
final class SQLiteWorker: Sendable {
    /// Most operations per group commit, bounding how long one transaction holds the write lock.
    static let maxBatch = 256

    /// One queued call. Not generic: its three steps are closures made where the call's result
    /// type is known (``perform(_:writes:_:)``), so running and resuming it needs no generic
    /// metadata at run time (a generic subclass's overrides ran unspecialized, looking up the
    /// metadata of `Result<T, any Error>` and of its continuation at every step).
    private final class Operation: @unchecked Sendable {
        let name: String
        let writes: Bool
        /// Runs the body and keeps its result, to be delivered once its transaction is settled.
        /// - Returns: the error the body threw, if it did.
        let run: (SQLiteConnection) -> (any Error)?
        /// Resumes the caller with the kept result.
        let deliver: () -> Void
        /// Resumes the caller with an error (none of its writes took effect).
        let abort: (any Error) -> Void

        init(
            name: String, writes: Bool, run: @escaping (SQLiteConnection) -> (any Error)?,
            deliver: @escaping () -> Void, abort: @escaping (any Error) -> Void
        ) {
            self.name = name
            self.writes = writes
            self.run = run
            self.deliver = deliver
            self.abort = abort
        }
    }

    /// A call's body, continuation and result: the one object the closures of its
    /// ``Operation`` capture. Its result is only touched on the worker's queue.
    private final class Call<T: Sendable>: @unchecked Sendable {
        private let body: @Sendable (SQLiteConnection) throws -> T
        private let continuation: CheckedContinuation<T, any Error>
        private var value: T?
        private var failure: (any Error)?

        init(body: @escaping @Sendable (SQLiteConnection) throws -> T, continuation: CheckedContinuation<T, any Error>)
        {
            self.body = body
            self.continuation = continuation
        }

        func run(_ db: SQLiteConnection) -> (any Error)? {
            do {
                value = try body(db)
                failure = nil
                return nil
            } catch {
                value = nil
                failure = error
                return error
            }
        }

        func deliver() {
            if let value { continuation.resume(returning: value) } else { continuation.resume(throwing: failure!) }
        }

        func abort(_ error: any Error) { continuation.resume(throwing: error) }
    }

    private struct Pending: ~Copyable {
        var operations: [Operation] = []
        var drainScheduled = false
        var closed = false
    }

    private let queue: DispatchQueue
    /// Transactions that carried more than one write operation, and the operations they carried.
    let groupCommits = Atomic<Int>(0)
    let groupCommittedOperations = Atomic<Int>(0)
    private let connection: Mutex<SQLiteConnection?>
    private let pending = Mutex(Pending())

    init(connection: sending SQLiteConnection, label: String) {
        queue = DispatchQueue(label: label)
        self.connection = Mutex(connection)
    }

    /// Runs `body` on the worker's queue with the connection; `writes` lets it join a group commit.
    /// `body` must do its writes inside ``SQLiteConnection/transaction(_:operation:_:)``.
    func perform<T: Sendable>(
        _ name: String, writes: Bool, _ body: @escaping @Sendable (SQLiteConnection) throws -> T
    ) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let call = Call(body: body, continuation: continuation)
            let operation = Operation(
                name: name, writes: writes, run: { call.run($0) }, deliver: { call.deliver() },
                abort: { call.abort($0) })
            let schedule = pending.withLock { pending in
                pending.operations.append(operation)
                defer { pending.drainScheduled = true }
                return !pending.drainScheduled
            }
            if schedule { queue.async { self.drain() } }
        }
    }

    /// Closes the connection once the operation in progress (if any) is done. Queued and later
    /// calls fail with ``StateStoreError/Code/closed``.
    func close() {
        pending.withLock { $0.closed = true }
        connection.withLock { db in
            db?.close()
            db = nil
        }
    }

    /// Calls waiting for the worker (for tests).
    var queuedOperations: Int { pending.withLock { $0.operations.count } }

    /// Whether ``close()`` was called (for tests).
    var isClosing: Bool { pending.withLock { $0.closed } }

    // MARK: - Draining

    private func drain() {
        let (operations, closed) = pending.withLock { pending in
            pending.drainScheduled = false
            return (pending.operations.take(), pending.closed)
        }
        connection.withLock { db in
            guard !closed, let db else {
                for operation in operations {
                    operation.abort(
                        StateStoreError(code: .closed, message: "the state store is closed", operation: operation.name))
                }
                return
            }
            var index = operations.startIndex
            while index < operations.endIndex {
                guard operations[index].writes else {
                    _ = operations[index].run(db)
                    operations[index].deliver()
                    index += 1
                    continue
                }
                var end = index + 1
                while end < operations.endIndex, operations[end].writes, end - index < Self.maxBatch { end += 1 }
                runBatch(operations[index..<end], db)
                index = end
            }
        }
    }

    /// Runs consecutive writes as one group commit, then delivers every outcome.
    private func runBatch(_ batch: ArraySlice<Operation>, _ db: SQLiteConnection) {
        guard batch.count > 1 else {
            if let operation = batch.first {
                _ = operation.run(db)
                operation.deliver()
            }
            return
        }
        do {
            try db.beginBatch(operation: batch[batch.startIndex].name)
        } catch {
            for operation in batch { operation.abort(error) }
            return
        }
        var done: [Operation] = []
        done.reserveCapacity(batch.count)
        for position in batch.indices {
            let operation = batch[position]
            let failure = operation.run(db)
            if !db.inTransaction {
                // SQLite rolled the whole transaction back: nothing of the batch so far happened.
                db.endBatch()
                let cause =
                    failure
                    ?? StateStoreError(
                        code: .sqlite, message: "the transaction was rolled back", operation: operation.name)
                for earlier in done { earlier.abort(cause) }
                operation.abort(cause)
                runBatch(batch[(position + 1)...], db)
                return
            }
            if failure != nil {
                // Undo the batch; this operation fails alone, the others run again without it.
                db.rollbackBatch(operation: operation.name)
                operation.deliver()
                runBatch(ArraySlice(done + batch[(position + 1)...]), db)
                return
            }
            done.append(operation)
        }
        do {
            try db.commitBatch(operation: batch[batch.startIndex].name)
            groupCommits.add(1, ordering: .relaxed)
            groupCommittedOperations.add(done.count, ordering: .relaxed)
            for operation in done { operation.deliver() }
        } catch {
            for operation in done { operation.abort(error) }
        }
    }
}

extension Array {
    /// Returns the elements and leaves the array empty.
    fileprivate mutating func take() -> [Element] {
        defer { self = [] }
        return self
    }
}
