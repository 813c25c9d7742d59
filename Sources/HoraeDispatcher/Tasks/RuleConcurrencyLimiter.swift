import DequeModule
import Synchronization

/// Per-rule `concurrency` (docs/rules.md): at most that many tasks of a rule run at once;
/// the others wait, first come first served, without holding a thread.
public final class RuleConcurrencyLimiter: Sendable {
    private struct Gate {
        var running = 0
        /// First come first served; a rule with a backlog may have thousands waiting.
        var waiters: Deque<(id: Int, continuation: CheckedContinuation<Bool, Never>)> = []
    }

    private struct State {
        var gates: [String: Gate] = [:]
        var nextID = 0
        var closed = false
    }

    private let state = Mutex(State())

    public init() {}

    /// Waits for a slot of `rule` (limit `limit`; nil means no limit).
    /// - Returns: false when the limiter was closed (shutdown) or the task is cancelled (before or
    ///   while waiting): the task must not start.
    public func acquire(rule: String, limit: Int?) async -> Bool {
        guard let limit else { return !state.withLock { $0.closed } }
        let id = state.withLock { s -> Int in
            s.nextID += 1
            return s.nextID
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Bool, Never>) in
                let immediate = state.withLock { s -> Bool? in
                    // Cancelled before this registration: the handler below found nothing to remove.
                    if s.closed || Task.isCancelled { return false }
                    if s.gates[rule, default: Gate()].running < limit {
                        s.gates[rule, default: Gate()].running += 1
                        return true
                    }
                    s.gates[rule, default: Gate()].waiters.append((id, c))
                    return nil
                }
                if let immediate { c.resume(returning: immediate) }
            }
        } onCancel: {
            let c = state.withLock { s -> CheckedContinuation<Bool, Never>? in
                guard let i = s.gates[rule]?.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return s.gates[rule]?.waiters.remove(at: i).continuation
            }
            c?.resume(returning: false)
        }
    }

    /// Gives back a slot taken with a non-nil limit; the next waiter (if any) takes it.
    public func release(rule: String) {
        let next = state.withLock { s -> CheckedContinuation<Bool, Never>? in
            // Changed in place: a copy of the gate would copy its waiters.
            guard let index = s.gates.index(forKey: rule) else { return nil }
            if let first = s.gates.values[index].waiters.popFirst() { return first.continuation }
            s.gates.values[index].running -= 1
            if s.gates.values[index].running == 0 { s.gates.remove(at: index) }
            return nil
        }
        next?.resume(returning: true)
    }

    /// Refuses every waiter and every later acquire (shutdown).
    public func close() {
        let waiters = state.withLock { s -> [CheckedContinuation<Bool, Never>] in
            s.closed = true
            var all: [CheckedContinuation<Bool, Never>] = []
            for index in s.gates.indices {
                all += s.gates.values[index].waiters.map(\.continuation)
                s.gates.values[index].waiters = []
            }
            return all
        }
        for w in waiters { w.resume(returning: false) }
    }
}
