import Synchronization

/// One budget of outstanding messages and bytes (docs/daemon.md, "Message path"): pulling pauses when the messages
/// or bytes *received* reach 100 % and resumes once both are back at or under 80 %.
///
/// A pull first reserves room for the messages it asks for (``reserve(upTo:)``), so several pulls
/// in flight can never together bring more messages than the budget; the bytes of a pull are only
/// known when it returns, so they may overshoot once, which pauses pulling until they drain.
/// A message stops counting when it is acked or nacked (``release(messages:bytes:)``).
///
/// Reservations alone never pause pulling: a pull that finds the budget reserved waits until a
/// pull in flight returns (``commit(reserved:received:bytes:)``) leaving room — what it reserved
/// and did not fill, or what acks freed meanwhile — or until acks bring messages and reservations
/// together down to 80 %. So pulls that bring back fewer messages than they asked for cannot
/// leave pulling stalled below the budget, and acks freeing room one message at a time do not
/// start one-message pulls.
public final class FlowController: Sendable {
    public let maxMessages: Int
    public let maxBytes: Int

    private struct State {
        var messages = 0
        var bytes = 0
        var reserved = 0
        /// Received messages or bytes reached the limit; cleared at 80 % of both.
        var paused = false
        var highWater = 0
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())
    private let lowMessages: Int
    private let lowBytes: Int

    public init(maxMessages: Int, maxBytes: Int) {
        precondition(maxMessages > 0 && maxBytes > 0)
        self.maxMessages = maxMessages
        self.maxBytes = maxBytes
        // 80 % of each limit (integer arithmetic, at least one free slot).
        lowMessages = min(maxMessages - 1, maxMessages * 4 / 5)
        lowBytes = maxBytes / 5 * 4
    }

    /// Messages received and not yet acked or nacked.
    public var outstandingMessages: Int { state.withLock { $0.messages } }
    public var outstandingBytes: Int { state.withLock { $0.bytes } }
    /// The most messages ever outstanding at once (received + reserved never exceeds the budget).
    public var highWaterMessages: Int { state.withLock { $0.highWater } }
    /// Messages reserved by pulls in flight.
    var reservedMessages: Int { state.withLock { $0.reserved } }
    /// Whether received messages or bytes have paused pulling.
    var isPaused: Bool { state.withLock { $0.paused } }
    /// Reservations waiting for room (for tests).
    var waitingCount: Int { state.withLock { $0.waiters.count } }

    /// Waits until pulling may go on, then reserves room for at most `wanted` messages and returns
    /// how many (≥ 1). Throws `CancellationError` if the task is cancelled while waiting.
    public func reserve(upTo wanted: Int) async throws -> Int {
        precondition(wanted > 0)
        while true {
            try Task.checkCancellation()
            let granted: Int? = state.withLock { s in
                let room = maxMessages - s.messages - s.reserved
                guard !s.paused, room > 0 else { return nil }
                let n = min(wanted, room)
                s.reserved += n
                return n
            }
            if let granted { return granted }
            await waitForRoom()
        }
    }

    /// A pull that reserved `reserved` returned `received` messages of `bytes` in total.
    public func commit(reserved: Int, received: Int, bytes: Int) {
        precondition(received <= reserved, "a pull returned more messages than it asked for")
        let wake = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.reserved -= reserved
            s.messages += received
            s.bytes += bytes
            s.highWater = max(s.highWater, s.messages + s.reserved)
            if s.messages >= maxMessages || s.bytes >= maxBytes { s.paused = true }
            return wakeable(&s, afterPull: true)
        }
        for w in wake { w.resume() }
    }

    /// Acked or nacked messages leave the budget.
    public func release(messages: Int, bytes: Int) {
        let wake = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.messages -= messages
            s.bytes -= bytes
            return wakeable(&s, afterPull: false)
        }
        for w in wake { w.resume() }
    }

    /// Wakes every waiter (at shutdown, so that waiting pulls see their cancellation).
    public func wakeAll() {
        let wake = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            defer { s.waiters = [] }
            return s.waiters
        }
        for w in wake { w.resume() }
    }

    /// Returns when there may be room, or when the task is cancelled (checked under the lock, as
    /// the cancellation handler may run before the waiter is registered).
    func waitForRoom() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { s -> Bool in
                    if Task.isCancelled || (!s.paused && s.messages + s.reserved < maxMessages) { return true }
                    s.waiters.append(c)
                    return false
                }
                if resumeNow { c.resume() }
            }
        } onCancel: {
            wakeAll()
        }
    }

    /// Unpauses at 80 % of both limits; then takes the waiters if they can get room: whenever
    /// there is some after a pull returned, else (acks freeing room one message at a time) once
    /// messages and reservations are down to 80 %, so that pulls resume with a batch's worth.
    private func wakeable(_ s: inout State, afterPull: Bool) -> [CheckedContinuation<Void, Never>] {
        if s.paused {
            guard s.messages <= lowMessages && s.bytes <= lowBytes else { return [] }
            s.paused = false
        }
        guard !s.waiters.isEmpty, s.messages + s.reserved < maxMessages,
            afterPull || s.messages + s.reserved <= lowMessages
        else { return [] }
        defer { s.waiters = [] }
        return s.waiters
    }
}
