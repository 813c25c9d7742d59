import Synchronization

/// Handler tasks of one pull loop that finished a message and wait for the next, so that a
/// pulled message usually goes to a waiting task instead of a new child task (whose creation,
/// stack slabs and destruction cost more than the rest of a no-op message's dispatching).
final class HandlerPool: Sendable {
    private struct State {
        var idle: [CheckedContinuation<ReceivedMessage?, Never>] = []
        var closed = false
    }

    private let state = Mutex(State())
    /// Most tasks kept waiting; more finish instead.
    let maxIdle: Int

    init(maxIdle: Int) {
        self.maxIdle = maxIdle
    }

    /// Gives `message` to a waiting handler. - Returns: false if none waits (start a new one).
    func handOff(_ message: ReceivedMessage) -> Bool {
        guard let handler = state.withLock({ $0.idle.popLast() }) else { return false }
        handler.resume(returning: message)
        return true
    }

    /// Waits for the next message; nil (the handler should end) once the pool is closed, or at
    /// once when `maxIdle` handlers already wait.
    func next() async -> ReceivedMessage? {
        await withCheckedContinuation { (handler: CheckedContinuation<ReceivedMessage?, Never>) in
            let waiting = state.withLock { s -> Bool in
                guard !s.closed, s.idle.count < maxIdle else { return false }
                s.idle.append(handler)
                return true
            }
            if !waiting { handler.resume(returning: nil) }
        }
    }

    /// Ends every waiting handler and every one that finishes later.
    func close() {
        let idle = state.withLock { s -> [CheckedContinuation<ReceivedMessage?, Never>] in
            s.closed = true
            defer { s.idle = [] }
            return s.idle
        }
        for handler in idle { handler.resume(returning: nil) }
    }

    /// Handlers waiting now (for tests).
    var idleCount: Int { state.withLock { $0.idle.count } }
}
