import Synchronization

/// The daemon-wide limit on `gcs` download bytes in flight (`downloadBytesInFlight` in
/// horae.yaml, docs/daemon.md "Configuration").
///
/// What is counted: the size of every object being downloaded, from before its body is requested
/// until its file is renamed into place or removed. A download's bytes are not held in memory
/// (they are streamed into a temporary file next to the final one), so this caps what the
/// downloads in flight write to the disk and take from the network at once: a burst of
/// notifications for large objects runs a few downloads at a time instead of all of them
/// sharing the link (and the disk) until every one of them is too slow to finish in time.
///
/// - A download whose size fits waits until the bytes in flight plus its size are within the
///   limit. Waiters are served first come, first served, so a large download is not overtaken
///   for ever by smaller ones.
/// - A download larger than the whole limit counts as the whole limit: it runs once nothing else
///   is in flight, alone, rather than never.
/// - Waiting ends with the caller's deadline (``Failure/timedOut``) or its task's cancellation
///   (``Failure/cancelled``, e.g. at shutdown); a waiter that gives up holds nothing.
public final class DownloadBudget: Sendable {
    /// 1 GiB.
    public static let defaultCapacity = 1 << 30

    public enum Failure: Error, Sendable, Equatable {
        case timedOut
        case cancelled
    }

    /// Bytes held by one download, until ``DownloadBudget/release(_:)``.
    public struct Grant: Sendable {
        let id: UInt64
        /// What was counted: the download's size, at most the capacity.
        public let bytes: Int
    }

    private struct Waiter {
        let id: UInt64
        let bytes: Int
        let continuation: CheckedContinuation<Grant, any Error>
    }

    private struct State {
        var inFlight = 0
        var nextID: UInt64 = 1
        var waiters: [Waiter] = []
        /// Acquires in progress that are not queued yet, with why they gave up if they did
        /// (cancelled or timed out before they got to the queue).
        var starting: [UInt64: Failure?] = [:]
    }

    /// The most bytes in flight at once; at least 1.
    public let capacity: Int
    private let state = Mutex(State())

    public init(capacity: Int = DownloadBudget.defaultCapacity) {
        self.capacity = max(1, capacity)
    }

    /// Bytes counted for the downloads in flight now.
    public var bytesInFlight: Int { state.withLock { $0.inFlight } }

    /// Downloads waiting for room now.
    public var waiting: Int { state.withLock { $0.waiters.count } }

    /// Waits until `bytes` (at most ``capacity``) fit, counts them and returns the grant to
    /// ``release(_:)`` when the download is over.
    /// - Throws: ``Failure/timedOut`` when `deadline` passes first, ``Failure/cancelled`` when
    ///   the calling task is cancelled first; nothing is held then.
    public func acquire(_ bytes: Int, deadline: ContinuousClock.Instant? = nil) async throws(Failure) -> Grant {
        let charge = min(max(0, bytes), capacity)
        if Task.isCancelled { throw .cancelled }
        let id = state.withLock { state -> UInt64 in
            defer { state.nextID += 1 }
            state.starting[state.nextID] = .some(nil)
            return state.nextID
        }
        let timer = deadline.map { deadline in
            Task { [weak self] in
                try? await Task.sleep(until: deadline, clock: .continuous)
                if !Task.isCancelled { self?.giveUp(id, .timedOut) }
            }
        }
        defer { timer?.cancel() }
        do {
            return try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Grant, any Error>) in
                    let result = state.withLock { state -> Result<Grant, Failure>? in
                        if case .some(.some(let failure)) = state.starting.removeValue(forKey: id) {
                            return .failure(failure)
                        }
                        if state.waiters.isEmpty, state.inFlight + charge <= capacity {
                            state.inFlight += charge
                            return .success(Grant(id: id, bytes: charge))
                        }
                        state.waiters.append(Waiter(id: id, bytes: charge, continuation: continuation))
                        return nil
                    }
                    if let result { continuation.resume(with: result.mapError { $0 as any Error }) }
                }
            } onCancel: {
                self.giveUp(id, .cancelled)
            }
        } catch let failure as Failure {
            throw failure
        } catch {
            throw .cancelled
        }
    }

    /// Returns a grant's bytes and lets the waiters that now fit go, in order.
    public func release(_ grant: Grant) {
        let resumed = state.withLock { state -> [(CheckedContinuation<Grant, any Error>, Grant)] in
            state.inFlight -= grant.bytes
            return Self.admit(&state, capacity: capacity)
        }
        for (continuation, grant) in resumed { continuation.resume(returning: grant) }
    }

    /// Takes the waiter `id` out of the queue and fails it with `failure`; when it is not queued
    /// yet, marks it so that it fails instead of queueing. Nothing when it is already done.
    private func giveUp(_ id: UInt64, _ failure: Failure) {
        let (removed, resumed) = state.withLock {
            state -> (Waiter?, [(CheckedContinuation<Grant, any Error>, Grant)]) in
            guard let index = state.waiters.firstIndex(where: { $0.id == id }) else {
                if case .some(.none) = state.starting[id] { state.starting[id] = .some(failure) }
                return (nil, [])
            }
            let waiter = state.waiters.remove(at: index)
            // The queue's head leaving may let the next ones go.
            return (waiter, index == 0 ? Self.admit(&state, capacity: capacity) : [])
        }
        removed?.continuation.resume(throwing: failure)
        for (continuation, grant) in resumed { continuation.resume(returning: grant) }
    }

    /// Admits waiters from the head of the queue while they fit.
    private static func admit(_ state: inout State, capacity: Int) -> [(CheckedContinuation<Grant, any Error>, Grant)] {
        var resumed: [(CheckedContinuation<Grant, any Error>, Grant)] = []
        while let first = state.waiters.first, state.inFlight + first.bytes <= capacity {
            state.waiters.removeFirst()
            state.inFlight += first.bytes
            resumed.append((first.continuation, Grant(id: first.id, bytes: first.bytes)))
        }
        return resumed
    }
}
