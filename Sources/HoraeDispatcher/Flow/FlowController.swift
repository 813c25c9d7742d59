import Synchronization

/// One budget of outstanding messages and bytes (runtime.md §1): pulling pauses when either
/// reaches 100 % and resumes once both are back at or under 80 %.
///
/// A pull first reserves room for the messages it asks for (``reserve(upTo:)``), so several pulls
/// in flight can never together bring more messages than the budget; the bytes of a pull are only
/// known when it returns, so they may overshoot once, which pauses pulling until they drain.
/// A message stops counting when it is acked or nacked (``release(messages:bytes:)``).
public final class FlowController: Sendable {
    public let maxMessages: Int
    public let maxBytes: Int

    private struct State {
        var messages = 0
        var bytes = 0
        var reserved = 0
        var paused = false
        var highWater = 0
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    public init(maxMessages: Int, maxBytes: Int) {
        precondition(maxMessages > 0 && maxBytes > 0)
        self.maxMessages = maxMessages
        self.maxBytes = maxBytes
    }

    /// Messages received and not yet acked or nacked.
    public var outstandingMessages: Int { state.withLock { $0.messages } }
    public var outstandingBytes: Int { state.withLock { $0.bytes } }
    /// The most messages ever outstanding at once (received + reserved never exceeds the budget).
    public var highWaterMessages: Int { state.withLock { $0.highWater } }

    /// Waits until pulling may go on, then reserves room for at most `wanted` messages and returns
    /// how many (≥ 1). Throws `CancellationError` if the task is cancelled while waiting.
    public func reserve(upTo wanted: Int) async throws -> Int {
        while true {
            try Task.checkCancellation()
            let granted: Int? = state.withLock { s in
                guard !s.paused else { return nil }
                let room = maxMessages - s.messages - s.reserved
                guard room > 0 else {
                    s.paused = true
                    return nil
                }
                let n = min(wanted, room)
                s.reserved += n
                return n
            }
            if let granted { return granted }
            await waitForResume()
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
            return Self.resumeIfBelowLowWater(&s, maxMessages, maxBytes)
        }
        for w in wake { w.resume() }
    }

    /// Acked or nacked messages leave the budget.
    public func release(messages: Int, bytes: Int) {
        let wake = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.messages -= messages
            s.bytes -= bytes
            return Self.resumeIfBelowLowWater(&s, maxMessages, maxBytes)
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

    private func waitForResume() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { s -> Bool in
                    if !s.paused && s.messages + s.reserved < maxMessages { return true }
                    s.waiters.append(c)
                    return false
                }
                if resumeNow { c.resume() }
            }
        } onCancel: {
            wakeAll()
        }
    }

    private static func resumeIfBelowLowWater(_ s: inout State, _ maxMessages: Int, _ maxBytes: Int) -> [CheckedContinuation<Void, Never>] {
        guard s.paused else {
            defer { s.waiters = [] }
            return s.waiters
        }
        // Resume at 80 % of each limit (integer arithmetic, at least one free slot).
        let lowMessages = min(maxMessages - 1, maxMessages * 4 / 5)
        let lowBytes = maxBytes / 5 * 4
        guard s.messages + s.reserved <= lowMessages && s.bytes <= lowBytes else { return [] }
        s.paused = false
        defer { s.waiters = [] }
        return s.waiters
    }
}
