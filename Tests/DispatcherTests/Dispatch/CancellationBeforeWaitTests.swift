import Synchronization
import Testing

@testable import HoraeDispatcher

/// The daemon's waits (`ShutdownSignal`, `FlowController`, `RuleConcurrencyLimiter`) park a
/// continuation and rely on a cancellation handler to resume it. The handler can run before the
/// continuation is parked — the task was cancelled before it started waiting, or in between — and
/// then finds nothing to resume: the wait must notice the cancellation itself. A wait that does
/// not hangs its caller forever; for `ShutdownSignal.sleep(for:)`, which cancels its shutdown wait
/// as soon as the time is up, that is a retry that never comes or a pull loop that stops.
///
/// Each wait runs in its own task; a test that fails leaves that task behind instead of hanging.
@Suite struct CancellationBeforeWaitTests {
    /// Runs `body` in a task that cancels itself first; true if `body` returned within `patience`.
    static func returnsWhenCancelledFirst(
        within patience: Duration = .seconds(20),
        _ body: @escaping @Sendable () async -> Void
    ) async -> Bool {
        await withUnsafeContinuation { (result: UnsafeContinuation<Bool, Never>) in
            let finished = Mutex(false)
            let report: @Sendable (Bool) -> Void = { value in
                if finished.withLock({ f in
                    defer { f = true }
                    return !f
                }) {
                    result.resume(returning: value)
                }
            }
            Task {
                withUnsafeCurrentTask { $0?.cancel() }
                await body()
                report(true)
            }
            Task {
                try? await Task.sleep(for: patience)
                report(false)
            }
        }
    }

    @Test func aCancelledTaskDoesNotWaitForTheShutdown() async {
        let signal = ShutdownSignal()
        #expect(await Self.returnsWhenCancelledFirst { await signal.wait() })
        #expect(!signal.isStopping)
    }

    @Test func aCancelledTaskDoesNotWaitForAConcurrencySlot() async {
        let limiter = RuleConcurrencyLimiter()
        #expect(await limiter.acquire(rule: "r", limit: 1))
        let answer = Mutex<Bool?>(nil)
        #expect(
            await Self.returnsWhenCancelledFirst {
                let granted = await limiter.acquire(rule: "r", limit: 1)
                answer.withLock { $0 = granted }
            })
        #expect(answer.withLock { $0 } == false)
        limiter.release(rule: "r")
    }

    @Test func aCancelledTaskDoesNotWaitForRoomInTheBudget() async throws {
        let flow = FlowController(maxMessages: 1, maxBytes: 1_000)
        #expect(try await flow.reserve(upTo: 1) == 1)
        #expect(await Self.returnsWhenCancelledFirst { await flow.waitForRoom() })
        #expect(flow.waitingCount == 0)
    }
}
