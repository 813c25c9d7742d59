import Logging
import Synchronization

/// Acks, nacks (modAck 0) and lease extensions of one subscription, sent in batches
/// (docs/daemon.md, "Message path"): at most ``flushInterval`` after the first pending id, sooner when a batch is
/// full, each request under Pub/Sub's 512 KiB limit.
///
/// A retryable failure keeps the ids queued and retries with backoff; a permanent one (typically
/// ack ids that expired) drops them with a log line: the messages simply come back.
public final class AckQueue: Sendable {
    public enum Operation: Sendable, Hashable {
        case ack
        /// modAck to `seconds` (0 gives the message back at once).
        case modAck(seconds: Int)

        var name: String {
            switch self {
            case .ack: "acknowledge"
            case .modAck(let s): s == 0 ? "nack" : "modAck(\(s)s)"
            }
        }
    }

    public let subscription: PubSubResourceName
    public static let flushInterval: Duration = .milliseconds(100)
    /// Flush at once, without waiting for the interval, when this many ids are pending.
    public static let maxIDsPerRequest = AckRequestBatcher.maxAckIDsPerRequest

    private struct State {
        var pending: [Operation: [String]] = [:]
        var count = 0
        var closed = false
        var wakeup: CheckedContinuation<Void, Never>?
        var failures = 0
    }

    private let client: any MessageSource
    private let logger: Logger
    private let state = Mutex(State())
    private let onFailure: @Sendable (Operation, PubSubError) -> Void

    public init(
        client: any MessageSource, subscription: PubSubResourceName, logger: Logger,
        onFailure: @escaping @Sendable (Operation, PubSubError) -> Void = { _, _ in }
    ) {
        self.client = client
        self.subscription = subscription
        self.logger = logger
        self.onFailure = onFailure
    }

    /// Queues `operation` for `ackIDs`. `superseding`: the ids are taken out of every other pending
    /// modAck first, so that a message given back (nack, or a modAck to a delay) is not extended
    /// to the ack deadline by a lease modAck sent after it in the same flush (the operations of
    /// one flush go out in no set order).
    public func enqueue(_ operation: Operation, _ ackIDs: [String], superseding: Bool = false) {
        guard !ackIDs.isEmpty else { return }
        let wake = state.withLock { s -> CheckedContinuation<Void, Never>? in
            if superseding {
                let ids = Set(ackIDs)
                for (other, pending) in s.pending where other != operation && other != .ack {
                    let kept = pending.filter { !ids.contains($0) }
                    s.count -= pending.count - kept.count
                    s.pending[other] = kept.isEmpty ? nil : kept
                }
            }
            s.pending[operation, default: []].append(contentsOf: ackIDs)
            s.count += ackIDs.count
            defer { s.wakeup = nil }
            return s.wakeup
        }
        wake?.resume()
    }

    /// Ids waiting to be sent.
    public var pendingCount: Int { state.withLock { $0.count } }

    /// Sends batches until ``close()`` has been called and everything is flushed (or, after
    /// close, a flush failed again: the ids are dropped, their messages will be redelivered).
    public func run() async {
        var backoff = Backoff(initial: .milliseconds(200), maximum: .seconds(10), multiplier: 2)
        backoff.initial = .milliseconds(200)
        while true {
            let (hasWork, closed) = state.withLock { ($0.count > 0, $0.closed) }
            if !hasWork {
                if closed { return }
                await waitForWork()
                continue
            }
            if !closed && pendingCount < Self.maxIDsPerRequest {
                try? await Task.sleep(for: Self.flushInterval)
            }
            let failed = await flushOnce()
            let failures = state.withLock { s -> Int in
                s.failures = failed ? s.failures + 1 : 0
                return s.failures
            }
            if failed {
                if state.withLock({ $0.closed }) && failures >= 3 {
                    let dropped = state.withLock { s -> Int in
                        defer {
                            s.pending = [:]
                            s.count = 0
                        }
                        return s.count
                    }
                    logger.error(
                        "giving up on pending acks at shutdown; the messages will be redelivered",
                        metadata: ["subscription": "\(subscription)", "ids": "\(dropped)"])
                    return
                }
                try? await Task.sleep(for: backoff.delay(afterFailures: failures, floor: .milliseconds(100)))
            }
        }
    }

    /// No more ids will come: ``run()`` flushes what is pending and returns.
    public func close() {
        let wake = state.withLock { s -> CheckedContinuation<Void, Never>? in
            s.closed = true
            defer { s.wakeup = nil }
            return s.wakeup
        }
        wake?.resume()
    }

    private func waitForWork() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let now = state.withLock { s -> Bool in
                if s.count > 0 || s.closed { return true }
                s.wakeup = c
                return false
            }
            if now { c.resume() }
        }
    }

    /// Sends everything pending; returns true when some request failed retryably (its ids are queued again).
    private func flushOnce() async -> Bool {
        let batches = state.withLock { s -> [Operation: [String]] in
            defer {
                s.pending = [:]
                s.count = 0
            }
            return s.pending
        }
        var failed = false
        for (operation, ids) in batches {
            let request: AckRequestBatcher.Request =
                switch operation {
                case .ack: .acknowledge
                case .modAck(let seconds): .modifyAckDeadline(seconds: seconds)
                }
            for chunk in AckRequestBatcher.batches(ids, for: request) {
                do {
                    switch operation {
                    case .ack: try await client.acknowledge(subscription, ackIDs: chunk)
                    case .modAck(let seconds):
                        try await client.modifyAckDeadline(subscription, ackIDs: chunk, seconds: seconds)
                    }
                } catch {
                    onFailure(operation, error)
                    if error.isRetryable {
                        failed = true
                        enqueue(operation, chunk)
                        logger.warning(
                            "\(operation.name) failed, will retry",
                            metadata: ["subscription": "\(subscription)", "ids": "\(chunk.count)", "error": "\(error)"])
                    } else {
                        logger.error(
                            "\(operation.name) refused; the messages will be redelivered",
                            metadata: ["subscription": "\(subscription)", "ids": "\(chunk.count)", "error": "\(error)"])
                    }
                }
            }
        }
        return failed
    }
}
