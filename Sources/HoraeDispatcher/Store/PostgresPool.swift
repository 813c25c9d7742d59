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
final class PostgresPool: Sendable {
    /// One connection and the queue it is used on; `connection` is only touched on `queue`.
    private final class Slot: @unchecked Sendable {
        let queue: DispatchQueue
        var connection: PostgresConnection?
        init(index: Int) { queue = DispatchQueue(label: "horae.state-store.postgres.\(index)") }
    }

    private struct State {
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
                        if slot.connection?.isUsable != true || slot.connection?.wasClosedByServer == true {
                            slot.connection?.close()
                            slot.connection = nil
                            slot.connection = try connect()
                        }
                        let connection = slot.connection!
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

    /// Closes every connection (after the call running on it, if any); later calls, and those
    /// waiting for a slot, throw ``StateStoreError/Code/closed``. Idempotent.
    func close() {
        let waiters = state.withLock { state -> [CheckedContinuation<Int, any Error>] in
            state.closed = true
            defer { state.waiters = [] }
            return state.waiters.map(\.continuation)
        }
        for waiter in waiters {
            waiter.resume(throwing: StateStoreError(code: .closed, message: "the store is closed", operation: "wait"))
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

    private func release(_ index: Int) {
        let waiter = state.withLock { state -> CheckedContinuation<Int, any Error>? in
            if !state.waiters.isEmpty { return state.waiters.removeFirst().continuation }
            state.free.append(index)
            return nil
        }
        waiter?.resume(returning: index)
    }
}
