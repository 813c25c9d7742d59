import Synchronization

/// Tells the daemon's parts that a graceful shutdown began (docs/daemon.md, "Message path"): pulling stops, tasks
/// that have not started (waiting for a concurrency slot or a retry) give their message back, and
/// running ones get the grace period.
///
/// A one-shot latch: ``StreamingPullSource`` also uses two of its own to stop its streams and to
/// learn that they closed.
public final class ShutdownSignal: Sendable {
    private struct State {
        var stopping = false
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
        var nextID = 0
    }

    private let state = Mutex(State())

    public init() {}

    public var isStopping: Bool { state.withLock { $0.stopping } }

    /// Starts the shutdown; idempotent.
    public func stop() {
        let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.stopping = true
            defer { s.waiters = [:] }
            return Array(s.waiters.values)
        }
        for w in waiters { w.resume() }
    }

    /// Returns when the shutdown begins (at once if it has), or when the task is cancelled.
    ///
    /// The cancellation handler can run before the waiter is registered (a task cancelled before
    /// it got here, or between the two); so the registration itself, under the lock the handler
    /// takes, checks for cancellation, or the waiter would never be resumed — `sleep(for:)`
    /// cancels this as soon as its time is up, and its task group then waited for it forever.
    public func wait() async {
        let id = state.withLock { s -> Int in
            s.nextID += 1
            return s.nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let now = state.withLock { s -> Bool in
                    if s.stopping || Task.isCancelled { return true }
                    s.waiters[id] = c
                    return false
                }
                if now { c.resume() }
            }
        } onCancel: {
            let c = state.withLock { $0.waiters.removeValue(forKey: id) }
            c?.resume()
        }
    }

    /// Sleeps for `duration`.
    /// - Returns: false when the shutdown began (or the task was cancelled) before the time was up.
    public func sleep(for duration: Duration) async -> Bool {
        if isStopping { return false }
        return await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                do {
                    try await Task.sleep(for: duration)
                    return true
                } catch { return false }
            }
            group.addTask {
                await self.wait()
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first && !isStopping
        }
    }
}
