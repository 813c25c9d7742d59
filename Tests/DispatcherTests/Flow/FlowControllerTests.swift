import Synchronization
import Testing

@testable import HoraeDispatcher

@Suite("FlowController: the outstanding budget")
struct FlowControllerTests {
    /// A `reserve(upTo:)` running in the background, to see whether and when it is granted.
    /// (Patiences are long: the test process may be busy; the polls end as soon as they can.)
    final class PendingReservation: Sendable {
        private final class Outcome: Sendable {
            /// nil while waiting; then what `reserve` returned (nil if it threw).
            let value = Mutex<Int??>(nil)
        }

        private let outcome = Outcome()
        private let task: Task<Void, Never>
        private let flow: FlowController

        init(_ flow: FlowController, upTo wanted: Int) {
            let outcome = self.outcome
            self.flow = flow
            task = Task {
                let granted = try? await flow.reserve(upTo: wanted)
                outcome.value.withLock { $0 = .some(granted) }
            }
        }

        /// What was granted within `patience`, or nil (the reservation is then cancelled).
        func granted(within patience: Duration = .seconds(60)) async -> Int? {
            let deadline = ContinuousClock.now + patience
            while ContinuousClock.now < deadline {
                if let done = outcome.value.withLock({ $0 }) { return done }
                try? await Task.sleep(for: .milliseconds(5))
            }
            task.cancel()
            return nil
        }

        /// Whether it waits for room: true once it is among the controller's waiters (right after a
        /// change that woke it, it no longer is), false once it was granted.
        func isWaiting() async -> Bool {
            let deadline = ContinuousClock.now + .seconds(60)
            while ContinuousClock.now < deadline {
                if outcome.value.withLock({ $0 != nil }) { return false }
                if flow.waitingCount > 0 { return true }
                try? await Task.sleep(for: .milliseconds(5))
            }
            return false
        }
    }

    @Test func reservationsUpToTheBudgetAreGrantedAtOnce() async throws {
        let flow = FlowController(maxMessages: 1000, maxBytes: 1 << 30)
        for _ in 0..<4 { #expect(try await flow.reserve(upTo: 250) == 250) }
        #expect(flow.reservedMessages == 1000)
        #expect(!flow.isPaused)
        // Less room than wanted: what is left.
        flow.commit(reserved: 250, received: 0, bytes: 0)
        #expect(try await flow.reserve(upTo: 100) == 100)
        #expect(try await flow.reserve(upTo: 300) == 150)
    }

    /// Room a pull reserved and did not fill goes to a waiting pull at once: 4 pulls × 250 fill the
    /// budget with reservations; one comes back with 150 messages, and the next pull gets the 100
    /// left over without waiting for acks (pulling must not stay paused at 900 outstanding).
    @Test func roomAPullReservedAndDidNotFillGoesToTheWaitingPull() async throws {
        let flow = FlowController(maxMessages: 1000, maxBytes: 1 << 30)
        for _ in 0..<4 { _ = try await flow.reserve(upTo: 250) }
        let next = PendingReservation(flow, upTo: 250)
        #expect(await next.isWaiting())
        flow.commit(reserved: 250, received: 150, bytes: 150 * 300)
        #expect(await next.granted() == 100)
        #expect(flow.outstandingMessages == 150)
        #expect(flow.reservedMessages == 850)
    }

    /// Pulls that bring back less than they asked for never stall below the budget: without acks
    /// (tasks that sleep), more pull loops than the budget has room for at 250 each, every pull
    /// bringing back less than it asked for; the outstanding messages still reach the budget, not
    /// stopping at 900.
    @Test func pullsBringingBackLessNeverStallBelowTheBudget() async throws {
        let flow = FlowController(maxMessages: 1000, maxBytes: 1 << 30)
        final class Counter: Sendable { let value = Atomic(0) }
        let received = Counter()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<5 {
                group.addTask {
                    while received.value.load(ordering: .relaxed) < 1000 {
                        let asked = try await flow.reserve(upTo: 250)
                        try await Task.sleep(for: .milliseconds(5))
                        let got = max(1, asked * 9 / 10)  // 90 % of what was asked, at least one
                        received.value.add(got, ordering: .relaxed)
                        flow.commit(reserved: asked, received: got, bytes: got * 300)
                    }
                }
            }
            group.addTask {
                try await Task.sleep(for: .seconds(60))
                throw CancellationError()
            }
            // The first loop to finish means the budget is full; the others wait in `reserve`.
            _ = try await group.next()
            try await Task.sleep(for: .milliseconds(50))
            group.cancelAll()
            flow.wakeAll()
            while !group.isEmpty { _ = try? await group.next() }
        }
        #expect(flow.outstandingMessages == 1000)
        #expect(flow.isPaused)
    }

    /// Acks that free room while a pull is in flight are not lost when that pull comes back full.
    @Test func roomFreedByAcksGoesToTheNextPullWhenAPullReturns() async throws {
        let flow = FlowController(maxMessages: 1000, maxBytes: 1 << 30)
        for _ in 0..<4 { _ = try await flow.reserve(upTo: 250) }
        for _ in 0..<3 { flow.commit(reserved: 250, received: 250, bytes: 250) }
        let next = PendingReservation(flow, upTo: 250)
        #expect(await next.isWaiting())
        flow.release(messages: 100, bytes: 100)  // 650 received + 250 reserved: above 80 %
        #expect(await next.isWaiting())
        flow.commit(reserved: 250, received: 250, bytes: 250)  // 900 received, nothing in flight
        #expect(await next.granted() == 100)
    }

    /// Acks alone resume pulling at 80 %, so that one freed slot does not start a one-message pull.
    @Test func acksAloneResumePullingAt80Percent() async throws {
        let flow = FlowController(maxMessages: 10, maxBytes: 1 << 30)
        _ = try await flow.reserve(upTo: 5)
        _ = try await flow.reserve(upTo: 5)
        flow.commit(reserved: 5, received: 5, bytes: 5)
        let next = PendingReservation(flow, upTo: 10)
        #expect(await next.isWaiting())
        flow.release(messages: 1, bytes: 1)  // 4 received + 5 reserved = 9
        #expect(await next.isWaiting())
        flow.release(messages: 1, bytes: 1)  // 3 + 5 = 8: 80 %
        #expect(await next.granted() == 2)
    }

    @Test func receivedMessagesAtTheLimitPauseUntil80Percent() async throws {
        let flow = FlowController(maxMessages: 10, maxBytes: 1 << 30)
        #expect(try await flow.reserve(upTo: 10) == 10)
        flow.commit(reserved: 10, received: 10, bytes: 10)
        #expect(flow.isPaused)
        let next = PendingReservation(flow, upTo: 10)
        #expect(await next.isWaiting())
        flow.release(messages: 1, bytes: 1)
        #expect(await next.isWaiting())
        flow.release(messages: 1, bytes: 1)
        #expect(await next.granted() == 2)
        #expect(!flow.isPaused)
        #expect(flow.highWaterMessages == 10)
    }

    /// Bytes are known only when a pull returns: an overshoot pauses pulling until they are back at 80 %.
    @Test func bytesOverTheLimitPauseUntil80Percent() async throws {
        let flow = FlowController(maxMessages: 1000, maxBytes: 1000)
        _ = try await flow.reserve(upTo: 10)
        flow.commit(reserved: 10, received: 10, bytes: 1500)
        #expect(flow.isPaused)
        let next = PendingReservation(flow, upTo: 10)
        #expect(await next.isWaiting())
        flow.release(messages: 5, bytes: 600)  // 900 bytes: above 80 %
        #expect(await next.isWaiting())
        flow.release(messages: 1, bytes: 100)  // 800 bytes
        #expect(await next.granted() == 10)
    }

    @Test func aWaitingReservationEndsWhenItsTaskIsCancelled() async throws {
        let flow = FlowController(maxMessages: 1, maxBytes: 1 << 30)
        _ = try await flow.reserve(upTo: 1)
        let waiting = Task { try await flow.reserve(upTo: 1) }
        try await Task.sleep(for: .milliseconds(50))
        waiting.cancel()
        await #expect(throws: CancellationError.self) { try await waiting.value }
        #expect(flow.reservedMessages == 1)
    }
}
