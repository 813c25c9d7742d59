import DequeModule
import Dispatch
import Synchronization

/// At most `size` libpq connections, opened on demand and kept, each used through its own
/// serial `DispatchQueue` (libpq calls block: network round trips, waiting for row locks), so
/// they never run on Swift's cooperative pool.
///
/// A call waits for a free slot (a cancelled one stops waiting), runs its body on the slot's
/// queue with the slot's connection — opening it first if there is none, if the last one broke,
/// or if the server closed it while it was idle — and frees the slot. A connection that broke
/// during a call is closed; the call fails with the connection's error, and the next call on the
/// slot connects again (the store decides whether to run the call again: ``PostgresStateStore/Repetition``).
///
/// A call that starts with one statement may instead queue it (``pipelined(operation:_:then:)``):
/// a slot takes every queued statement at once (up to ``pipelineLimit``), sends them in one
/// round trip as one transaction, and hands each answer to its call's continuation on the slot's
/// queue. Under load, when hundreds of tasks each wait for one statement, this costs one round
/// trip, one commit (one WAL flush) and one wake of each side's thread for many of them instead
/// of one each. When one statement of a batch fails, none commits, and each call of the batch
/// runs again on its own (``PostgresStateStore/call(_:patience:first:lostCommit:finish:)``).
final class PostgresPool: Sendable {
    /// One connection and the queue it is used on; `connection` is only touched on `queue`.
    private final class Slot: @unchecked Sendable {
        let queue: DispatchQueue
        var connection: PostgresConnection?
        init(index: Int) { queue = DispatchQueue(label: "horae.state-store.postgres.\(index)") }
    }

    /// A queued statement and what to do with its answer (run on the slot's queue).
    private struct Job: Sendable {
        let id: UInt64
        let statement: PostgresConnection.Statement
        let operation: String
        let answer: @Sendable (PipelineOutcome) -> Void
        let fail: @Sendable (any Error) -> Void
    }

    /// What became of a pipelined statement.
    enum PipelineOutcome {
        /// The server answered it: its rows (committed), or its error (it committed nothing); and
        /// the connection, for any statements the call runs next.
        case answered(Result<PostgresConnection.Result, StateStoreError>, PostgresConnection)
        /// It did not run to an answer: the connection broke (`sent`: after it was sent, so it
        /// may have committed), or another statement of its batch failed (nothing committed,
        /// `sent` is false). The call runs on its own.
        case broke(StateStoreError, sent: Bool)
    }

    /// The most statements sent in one round trip.
    static let pipelineLimit = 64

    private struct State {
        /// Statements waiting for a slot to send them.
        var pending: Deque<Job> = []
        /// Whether the next slot freed while calls and statements both wait goes to the statements.
        var pendingsTurn = false
        /// Indices of free slots; the last is taken first (the most recently used, so that
        /// connections are opened only when calls overlap).
        var free: [Int]
        /// Calls waiting for a slot, first come first served, by an id their cancellation uses.
        /// A deque: under load hundreds of tasks wait, and each freed slot takes the first.
        var waiters: Deque<(id: UInt64, continuation: CheckedContinuation<Int, any Error>)> = []
        var nextWaiterID: UInt64 = 0
        var closed = false
    }

    private let slots: [Slot]
    private let state: Mutex<State>
    private let connect: @Sendable () throws -> PostgresConnection

    init(size: Int, connect: @escaping @Sendable () throws -> PostgresConnection) {
        let size = max(size, 1)
        slots = (0..<size).map(Slot.init)
        state = Mutex(State(free: Array((0..<size).reversed())))
        self.connect = connect
    }

    /// Runs `body` with a connection, off the cooperative pool.
    func withConnection<T: Sendable>(
        operation: String, _ body: @escaping @Sendable (PostgresConnection) throws -> T
    ) async throws -> T {
        let index = try await acquire(operation: operation)
        defer { release(index) }
        let slot = slots[index]
        let connect = self.connect
        return try await withCheckedThrowingContinuation { continuation in
            slot.queue.async {
                continuation.resume(
                    with: Result {
                        let connection = try Self.connection(of: slot, connect: connect)
                        do {
                            return try body(connection)
                        } catch {
                            if !connection.isUsable {
                                connection.close()
                                slot.connection = nil
                            }
                            throw error
                        }
                    })
            }
        }
    }

    /// The slot's connection: opened if there is none, if the last one broke, or if the server
    /// closed it while it was idle. On the slot's queue.
    private static func connection(
        of slot: Slot, connect: @Sendable () throws -> PostgresConnection
    ) throws -> PostgresConnection {
        if let connection = slot.connection, connection.isUsable, !connection.wasClosedByServer {
            return connection
        }
        slot.connection?.close()
        slot.connection = nil
        let connection = try connect()
        slot.connection = connection
        return connection
    }

    /// What became of a statement given to ``pipelined(operation:_:then:)``.
    private enum Queueing {
        case queued, closed, cancelled
        /// Queued, and slot `index` was free: it sends the queue now.
        case start(Int)
    }

    /// Queues `statement` to be sent with the others queued (one round trip for all), and runs
    /// `then` with its outcome on the slot's queue: `then` may run more statements on the
    /// connection an answer comes with. A call cancelled while its statement waits stops waiting
    /// (the statement is not sent).
    func pipelined<T: Sendable>(
        operation: String, _ statement: PostgresConnection.Statement,
        then body: @escaping @Sendable (PipelineOutcome) throws -> T
    ) async throws -> T {
        let id = state.withLock { state -> UInt64 in
            state.nextWaiterID &+= 1
            return state.nextWaiterID
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
                let job = Job(
                    id: id, statement: statement, operation: operation,
                    answer: { outcome in continuation.resume(with: Result { try body(outcome) }) },
                    fail: { continuation.resume(throwing: $0) })
                let outcome = state.withLock { state -> Queueing in
                    if state.closed { return .closed }
                    if Task.isCancelled { return .cancelled }
                    state.pending.append(job)
                    // A free slot sends it now; otherwise the next slot to finish does.
                    return state.free.popLast().map(Queueing.start) ?? .queued
                }
                switch outcome {
                case .queued: break
                case .start(let index): slots[index].queue.async { self.sendPending(on: index) }
                case .cancelled: continuation.resume(throwing: CancellationError())
                case .closed:
                    continuation.resume(
                        throwing: StateStoreError(code: .closed, message: "the store is closed", operation: operation))
                }
            }
        } onCancel: {
            let job = state.withLock { state -> Job? in
                guard let at = state.pending.firstIndex(where: { $0.id == id }) else { return nil }
                return state.pending.remove(at: at)
            }
            job?.fail(CancellationError())
        }
    }

    /// On slot `index`'s queue, which it holds: sends one batch of the queued statements, then
    /// gives the slot on (``release(_:)``: to a waiting call or the next batch).
    private func sendPending(on index: Int) {
        defer { release(index) }
        let batch = state.withLock { state -> [Job] in
            let count = min(state.pending.count, Self.pipelineLimit)
            defer { state.pending.removeFirst(count) }
            return Array(state.pending.prefix(count))
        }
        guard !batch.isEmpty else { return }
        let slot = slots[index]
        let connection: PostgresConnection
        do {
            connection = try Self.connection(of: slot, connect: connect)
        } catch {
            for job in batch { job.fail(error) }
            return
        }
        let operation = batch.count == 1 ? batch[0].operation : "pipeline"
        switch connection.executePipelined(batch.map(\.statement), operation: operation) {
        case .committed(let results):
            for (job, result) in zip(batch, results) { job.answer(.answered(.success(result), connection)) }
        case .rolledBack(let error):
            if batch.count == 1 {
                batch[0].answer(.answered(.failure(error), connection))
            } else {
                // Which statement failed alone, and why the others failed with it, is not known:
                // each call runs on its own (nothing of the batch committed).
                for job in batch { job.answer(.broke(error, sent: false)) }
            }
        case .broke(let error, let sent):
            for (position, job) in batch.enumerated() { job.answer(.broke(error, sent: position < sent)) }
        }
        if !connection.isUsable {
            connection.close()
            slot.connection = nil
        }
    }

    /// Closes every connection (after the call running on it, if any); later calls, and those
    /// waiting for a slot, throw ``StateStoreError/Code/closed``. Idempotent.
    func close() {
        let (waiters, jobs) = state.withLock { state -> ([CheckedContinuation<Int, any Error>], [Job]) in
            state.closed = true
            defer {
                state.waiters = []
                state.pending = []
            }
            return (state.waiters.map(\.continuation), Array(state.pending))
        }
        for waiter in waiters {
            waiter.resume(throwing: StateStoreError(code: .closed, message: "the store is closed", operation: "wait"))
        }
        for job in jobs {
            job.fail(StateStoreError(code: .closed, message: "the store is closed", operation: job.operation))
        }
        for slot in slots {
            slot.queue.sync {
                slot.connection?.close()
                slot.connection = nil
            }
        }
    }

    private func acquire(operation: String) async throws -> Int {
        enum Step {
            case take(Int)
            case closed
            case wait
        }
        let step = state.withLock { state -> Step in
            if state.closed { return .closed }
            if let index = state.free.popLast() { return .take(index) }
            return .wait
        }
        switch step {
        case .take(let index):
            return index
        case .closed:
            throw StateStoreError(code: .closed, message: "the store is closed", operation: operation)
        case .wait:
            // A call cancelled while it waits (a shutdown) stops waiting at once.
            let id = state.withLock { state -> UInt64 in
                state.nextWaiterID &+= 1
                return state.nextWaiterID
            }
            return try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { continuation in
                    enum Outcome {
                        case waiting, closed, cancelled
                        case took(Int)
                    }
                    let outcome = state.withLock { state -> Outcome in
                        if state.closed { return .closed }
                        if Task.isCancelled { return .cancelled }
                        // A slot may have been freed since the check above.
                        if let index = state.free.popLast() { return .took(index) }
                        state.waiters.append((id, continuation))
                        return .waiting
                    }
                    switch outcome {
                    case .waiting: break
                    case .took(let index): continuation.resume(returning: index)
                    case .cancelled: continuation.resume(throwing: CancellationError())
                    case .closed:
                        continuation.resume(
                            throwing: StateStoreError(
                                code: .closed, message: "the store is closed", operation: operation))
                    }
                }
            } onCancel: {
                let waiter = state.withLock { state -> CheckedContinuation<Int, any Error>? in
                    guard let at = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                    return state.waiters.remove(at: at).continuation
                }
                waiter?.resume(throwing: CancellationError())
            }
        }
    }

    /// Gives slot `index` to the first waiting call or to the queued statements (in turns when
    /// there are both), else frees it.
    private func release(_ index: Int) {
        enum Next {
            case waiter(CheckedContinuation<Int, any Error>)
            case pending, none
        }
        let next = state.withLock { state -> Next in
            let pending = !state.pending.isEmpty && !state.closed
            // When both wait, they take turns: neither starves the other.
            if !state.waiters.isEmpty && !(pending && state.pendingsTurn) {
                state.pendingsTurn = true
                return .waiter(state.waiters.removeFirst().continuation)
            }
            if pending {
                state.pendingsTurn = false
                return .pending
            }
            state.free.append(index)
            return .none
        }
        switch next {
        case .waiter(let continuation): continuation.resume(returning: index)
        case .pending: slots[index].queue.async { self.sendPending(on: index) }
        case .none: break
        }
    }
}
