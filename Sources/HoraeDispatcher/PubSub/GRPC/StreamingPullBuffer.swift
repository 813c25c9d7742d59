import Synchronization

/// What a subscription's StreamingPull streams delivered and ``StreamingPullSource/receive(_:maxMessages:)``
/// has not handed out yet, with the state of those streams.
///
/// Bounded: a stream reader that finds it full waits (``waitForRoom()``) before it reads the next
/// response, so HTTP/2 flow control holds the server back. A message kept here past its ack
/// deadline is dropped when it would be handed out: its lease is gone, the server redelivers it.
///
/// The streams' failures are kept for `receive` to report: the latest failure of a stream that is
/// reconnecting (retryable), or the failure that ended them (not retryable), after which the next
/// `receive` opens them again.
final class StreamingPullBuffer: Sendable {
    struct Limits: Sendable {
        var messages: Int
        var bytes: Int
    }

    private struct Entry {
        var message: ReceivedMessage
        var expires: ContinuousClock.Instant
    }

    private struct State {
        var entries: [Entry] = []
        /// Index of the first entry not handed out (entries before it are dropped in batches).
        var head = 0
        var bytes = 0
        /// Streams running (or asked for and not ended).
        var streams = 0
        var failure: PubSubError?
        /// Whether a `receive` has thrown ``failure`` already.
        var failureReported = false
        /// The streams are closing: their readers take whatever the server still sends.
        var closing = false
        var nextWaiter: UInt64 = 0
        var messageWaiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var roomWaiters: [UInt64: CheckedContinuation<Void, Never>] = [:]

        var count: Int { entries.count - head }

        mutating func takeMessageWaiters() -> [CheckedContinuation<Void, Never>] {
            defer { messageWaiters.removeAll() }
            return Array(messageWaiters.values)
        }

        mutating func takeRoomWaiters() -> [CheckedContinuation<Void, Never>] {
            defer { roomWaiters.removeAll() }
            return Array(roomWaiters.values)
        }
    }

    enum Take {
        case messages([ReceivedMessage], expired: Int)
        case failure(PubSubError)
        case empty(expired: Int)
    }

    let limits: Limits
    private let state = Mutex(State())

    init(limits: Limits) {
        self.limits = Limits(messages: max(1, limits.messages), bytes: max(1, limits.bytes))
    }

    var bufferedCount: Int { state.withLock { $0.count } }

    // MARK: - Streams

    /// Called by `receive`: true when no stream runs and the caller must ask for `count` of them
    /// (they count as running from now on).
    func claimStreamStart(_ count: Int) -> Bool {
        state.withLock { s in
            guard s.streams == 0 else { return false }
            // A terminal failure is reported once before the streams are opened again.
            if s.failure != nil && !s.failureReported { return false }
            s.streams = count
            s.failure = nil
            s.failureReported = false
            return true
        }
    }

    /// A stream reached the server: earlier failures no longer describe the subscription.
    func streamConnected() {
        state.withLock { s in
            s.failure = nil
            s.failureReported = false
        }
    }

    /// A stream failed and will try again; `receive` reports `error` while it stays down.
    func streamRetrying(_ error: PubSubError) {
        let waiters = state.withLock { s in
            s.failure = error
            s.failureReported = false
            return s.takeMessageWaiters()
        }
        for w in waiters { w.resume() }
    }

    /// A stream ended for good (`error` is not retryable, or it was cancelled: nil).
    func streamEnded(_ error: PubSubError?) {
        let waiters = state.withLock { s in
            s.streams = max(0, s.streams - 1)
            if let error {
                s.failure = error
                s.failureReported = false
            }
            return s.takeMessageWaiters() + s.takeRoomWaiters()
        }
        for w in waiters { w.resume() }
    }

    /// The streams are closing (``StreamingPullSource/stopReceiving()``): a reader no longer
    /// waits for room, so it reads what the server sends until the server ends the stream.
    func close() {
        let waiters = state.withLock { s in
            s.closing = true
            return s.takeRoomWaiters()
        }
        for w in waiters { w.resume() }
    }

    // MARK: - Messages

    /// Adds what a stream delivered, each leased until `deadline` from now (less a margin).
    func deliver(_ messages: [ReceivedMessage], leaseFor deadline: Duration) {
        guard !messages.isEmpty else { return }
        let expires = ContinuousClock.now + deadline - Self.expiryMargin
        let waiters = state.withLock { s in
            for m in messages {
                s.entries.append(Entry(message: m, expires: expires))
                s.bytes += m.size
            }
            return s.takeMessageWaiters()
        }
        for w in waiters { w.resume() }
    }

    /// A lease this close to its deadline is not handed out: the message would be redelivered
    /// while its task starts.
    static let expiryMargin: Duration = .seconds(2)

    /// Up to `maxMessages` buffered messages, else the failure to report, else nothing.
    /// A terminal failure is reported once; a retryable one each time `reportRetryable` is set,
    /// or when it has not been reported yet.
    func take(_ maxMessages: Int, reportRetryable: Bool) -> Take {
        let (result, waiters) = state.withLock { s -> (Take, [CheckedContinuation<Void, Never>]) in
            let now = ContinuousClock.now
            var expired = 0
            var out: [ReceivedMessage] = []
            while s.head < s.entries.count, out.count < maxMessages {
                let entry = s.entries[s.head]
                s.head += 1
                s.bytes -= entry.message.size
                if entry.expires <= now {
                    expired += 1
                } else {
                    out.append(entry.message)
                }
            }
            if s.head > 0 && (s.head == s.entries.count || s.head >= 1024) {
                s.entries.removeFirst(s.head)
                s.head = 0
            }
            let room = expired + out.count > 0 ? s.takeRoomWaiters() : []
            if !out.isEmpty { return (.messages(out, expired: expired), room) }
            if let failure = s.failure {
                if !s.failureReported || (reportRetryable && failure.isRetryable) {
                    s.failureReported = true
                    return (.failure(failure), room)
                }
            }
            return (.empty(expired: expired), room)
        }
        for w in waiters { w.resume() }
        return result
    }

    // MARK: - Waiting

    /// Returns when a message or a failure arrives, or when the calling task is cancelled.
    func waitForMessages() async {
        await wait(
            ready: { $0.count > 0 || ($0.failure != nil && !$0.failureReported) },
            register: { s, id, c in s.messageWaiters[id] = c },
            remove: { s, id in s.messageWaiters.removeValue(forKey: id) })
    }

    /// Returns when the buffer has room for more (below both limits), when it closes, or on
    /// cancellation.
    func waitForRoom() async {
        let limits = limits
        await wait(
            ready: { $0.closing || ($0.count < limits.messages && $0.bytes < limits.bytes) },
            register: { s, id, c in s.roomWaiters[id] = c },
            remove: { s, id in s.roomWaiters.removeValue(forKey: id) })
    }

    /// Race-free cancellable wait: registration and the cancellation handler both run under the
    /// lock, and the task's cancelled flag is set before its handler runs.
    private func wait(
        ready: @Sendable (State) -> Bool,
        register: @Sendable (inout State, UInt64, CheckedContinuation<Void, Never>) -> Void,
        remove: @Sendable (inout State, UInt64) -> CheckedContinuation<Void, Never>?
    ) async {
        let id = state.withLock { s in
            s.nextWaiter += 1
            return s.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { s in
                    if Task.isCancelled || ready(s) { return true }
                    register(&s, id, c)
                    return false
                }
                if resumeNow { c.resume() }
            }
        } onCancel: {
            state.withLock { s in remove(&s, id) }?.resume()
        }
    }
}
