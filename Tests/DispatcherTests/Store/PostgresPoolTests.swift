import Foundation
import Testing

@testable import HoraeDispatcher

/// The PostgreSQL store's connection pool: a call waiting for a free connection stops waiting
/// when its task is cancelled (a shutdown), instead of holding the shutdown until a slot frees.
@Suite struct PostgresPoolTests {
    struct Refused: Error {}

    @Test func aCallWaitingForAConnectionStopsWhenCancelled() async throws {
        // The only slot is busy for 3 s: its call is still connecting (and then fails).
        let pool = PostgresPool(size: 1) {
            Thread.sleep(forTimeInterval: 3)
            throw Refused()
        }
        let busy = Task { try await pool.withConnection(operation: "busy") { _ in 0 } }
        try await Task.sleep(for: .milliseconds(300))
        let waiting = Task { try await pool.withConnection(operation: "waiting") { _ in 1 } }
        try await Task.sleep(for: .milliseconds(300))
        let cancelled = ContinuousClock.now
        waiting.cancel()
        await #expect(throws: CancellationError.self) { try await waiting.value }
        let took = ContinuousClock.now - cancelled
        #expect(took < .seconds(1.5))
        await #expect(throws: Refused.self) { try await busy.value }
        pool.close()
    }
}
