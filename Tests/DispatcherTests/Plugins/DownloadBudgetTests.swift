import Synchronization
import Testing

@testable import HoraeDispatcher

/// ``DownloadBudget``: downloads wait for room by their size, leave it when done, wait in order,
/// give up at their deadline or on cancellation holding nothing, and one larger than the whole
/// budget runs alone.
struct DownloadBudgetTests {
    /// Starts `acquire(bytes)` in a task that records when it got its grant.
    final class Acquirer: Sendable {
        let task: Task<DownloadBudget.Grant, any Error>
        private let flag: Flag

        final class Flag: Sendable { let value = Atomic<Bool>(false) }

        init(_ budget: DownloadBudget, _ bytes: Int, deadline: ContinuousClock.Instant? = nil) {
            let flag = Flag()
            self.flag = flag
            task = Task {
                let grant = try await budget.acquire(bytes, deadline: deadline)
                flag.value.store(true, ordering: .sequentiallyConsistent)
                return grant
            }
        }

        var granted: Bool { flag.value.load(ordering: .sequentiallyConsistent) }
    }

    /// Waits (a short while) until `budget` has `count` waiters.
    func waitForWaiters(_ budget: DownloadBudget, _ count: Int) async throws {
        for _ in 0..<500 where budget.waiting != count { try await Task.sleep(for: .milliseconds(2)) }
        #expect(budget.waiting == count)
    }

    @Test func aDownloadWaitsUntilItsSizeFitsAndReleaseLetsItGo() async throws {
        let budget = DownloadBudget(capacity: 100)
        let first = try await budget.acquire(60)
        #expect(budget.bytesInFlight == 60)
        let second = Acquirer(budget, 50)
        try await waitForWaiters(budget, 1)
        #expect(!second.granted)
        budget.release(first)
        let grant = try await second.task.value
        #expect(grant.bytes == 50)
        #expect(budget.bytesInFlight == 50)
        budget.release(grant)
        #expect(budget.bytesInFlight == 0)
    }

    @Test func downloadsThatFitTogetherRunTogether() async throws {
        let budget = DownloadBudget(capacity: 100)
        let a = try await budget.acquire(40)
        let b = try await budget.acquire(60)
        #expect(budget.bytesInFlight == 100)
        #expect(budget.waiting == 0)
        budget.release(a)
        budget.release(b)
        #expect(budget.bytesInFlight == 0)
    }

    @Test func waitersAreServedInOrderSoALargeOneIsNotOvertaken() async throws {
        let budget = DownloadBudget(capacity: 100)
        let held = try await budget.acquire(50)
        let large = Acquirer(budget, 80)
        try await waitForWaiters(budget, 1)
        // 10 bytes would fit now, but the large download came first.
        let small = Acquirer(budget, 10)
        try await waitForWaiters(budget, 2)
        #expect(!large.granted && !small.granted)
        budget.release(held)
        let largeGrant = try await large.task.value
        let smallGrant = try await small.task.value
        #expect(budget.bytesInFlight == 90)
        budget.release(largeGrant)
        budget.release(smallGrant)
        #expect(budget.bytesInFlight == 0)
    }

    @Test func aDownloadLargerThanTheBudgetRunsAloneRatherThanNever() async throws {
        let budget = DownloadBudget(capacity: 100)
        let small = try await budget.acquire(1)
        let huge = Acquirer(budget, 5_000)
        try await waitForWaiters(budget, 1)
        #expect(!huge.granted, "it waits for the download in flight")
        budget.release(small)
        let grant = try await huge.task.value
        #expect(grant.bytes == 100, "it counts as the whole budget")
        // Nothing else runs beside it.
        let next = Acquirer(budget, 1)
        try await waitForWaiters(budget, 1)
        #expect(!next.granted)
        budget.release(grant)
        budget.release(try await next.task.value)
        // Alone from the start, it does not wait at all.
        let alone = try await budget.acquire(1 << 40)
        #expect(alone.bytes == 100)
        budget.release(alone)
    }

    @Test func cancellationEndsTheWaitHoldingNothing() async throws {
        let budget = DownloadBudget(capacity: 100)
        let held = try await budget.acquire(100)
        let waiter = Acquirer(budget, 10)
        let behind = Acquirer(budget, 10)
        try await waitForWaiters(budget, 2)
        waiter.task.cancel()
        await #expect(throws: DownloadBudget.Failure.cancelled) { try await waiter.task.value }
        try await waitForWaiters(budget, 1)
        budget.release(held)
        let grant = try await behind.task.value
        #expect(budget.bytesInFlight == 10, "the cancelled waiter holds nothing")
        budget.release(grant)

        // A task already cancelled does not wait.
        let full = try await budget.acquire(100)
        let cancelled = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await budget.acquire(1)
        }
        await #expect(throws: DownloadBudget.Failure.cancelled) { try await cancelled.value }
        #expect(budget.waiting == 0)
        budget.release(full)
        #expect(budget.bytesInFlight == 0)
    }

    @Test func theDeadlineEndsTheWaitAndLetsTheNextOneGo() async throws {
        let budget = DownloadBudget(capacity: 100)
        let held = try await budget.acquire(30)
        // At the head of the queue, too large to fit beside `held`, and out of time soon.
        let impatient = Acquirer(budget, 90, deadline: .now + .milliseconds(100))
        try await waitForWaiters(budget, 1)
        let behind = Acquirer(budget, 20)
        try await waitForWaiters(budget, 2)
        let started = ContinuousClock.now
        await #expect(throws: DownloadBudget.Failure.timedOut) { try await impatient.task.value }
        #expect(ContinuousClock.now - started < .seconds(5))
        // With the head gone, the one behind fits.
        let grant = try await behind.task.value
        #expect(budget.bytesInFlight == 50)
        budget.release(grant)
        budget.release(held)
        // A deadline already past fails at once when there is no room.
        let full = try await budget.acquire(100)
        await #expect(throws: DownloadBudget.Failure.timedOut) {
            try await budget.acquire(1, deadline: .now - .seconds(1))
        }
        #expect(budget.waiting == 0)
        budget.release(full)
        #expect(budget.bytesInFlight == 0)
    }
}
