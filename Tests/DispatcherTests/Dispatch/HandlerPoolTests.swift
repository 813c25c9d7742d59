import HoraeRules
import Synchronization
import Testing

@testable import HoraeDispatcher

@Suite struct HandlerPoolTests {
    static func message(_ id: String) -> ReceivedMessage {
        ReceivedMessage(ackID: "ack-\(id)", message: PubSubMessage(id: id))
    }

    /// Polls `condition` every millisecond for up to 60 s (the test process may be busy).
    static func eventually(_ condition: () -> Bool) async -> Bool {
        for _ in 0..<60_000 {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(1))
        }
        return false
    }

    @Test func aWaitingHandlerGetsTheNextMessage() async {
        let pool = HandlerPool(maxIdle: 4)
        #expect(!pool.handOff(Self.message("m0")))  // nobody waits: start a new handler
        let handler = Task { await pool.next()?.message.id }
        #expect(await Self.eventually { pool.idleCount == 1 })
        #expect(pool.handOff(Self.message("m1")))
        #expect(await handler.value == "m1")
        #expect(pool.idleCount == 0)
    }

    @Test func atMostMaxIdleHandlersWait() async {
        let pool = HandlerPool(maxIdle: 2)
        let waiting = (0..<2).map { _ in Task { await pool.next()?.message.id } }
        #expect(await Self.eventually { pool.idleCount == 2 })
        // A third finds the pool full and ends at once.
        #expect(await pool.next() == nil)
        pool.close()
        for handler in waiting { #expect(await handler.value == nil) }
    }

    @Test func closingEndsWaitingAndLaterHandlers() async {
        let pool = HandlerPool(maxIdle: 4)
        let handler = Task { await pool.next() }
        #expect(await Self.eventually { pool.idleCount == 1 })
        pool.close()
        #expect(await handler.value == nil)
        #expect(await pool.next() == nil)
        #expect(!pool.handOff(Self.message("late")))
    }
}
