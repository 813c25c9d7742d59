import Dispatch
import Synchronization

/// Maps over an array on all cores, keeping the order: for a few independent pieces of work, each
/// far longer than taking a lock (the rule files of a load, the chunks of `horae match --summary`).
package enum ConcurrentMap {
    /// `items.map(transform)`, with the calls spread over the cores by
    /// `DispatchQueue.concurrentPerform`. Each call stores its result in its own slot of an array
    /// behind a `Mutex`, so the lock is taken once per item and never held while transforming.
    package static func map<T: Sendable, R: Sendable>(_ items: [T], _ transform: @Sendable (T) -> R) -> [R] {
        if items.count < 2 { return items.map(transform) }
        let results = Mutex<[R?]>(Array(repeating: nil, count: items.count))
        DispatchQueue.concurrentPerform(iterations: items.count) { i in
            let result = transform(items[i])
            results.withLock { $0[i] = result }
        }
        return results.withLock { slots in slots.map { $0! } }
    }
}
