import Logging
import Synchronization
import Testing

@testable import HoraeDispatcher

/// Which leases ``LeaseManager`` renews and drops, at instants the test chooses.
@Suite struct LeaseManagerTests {
    /// Renewed and expired counts, as the daemon's metrics get them.
    final class Counts: Sendable {
        let extended = Mutex(0)
        let expired = Mutex(0)
    }

    static func manager(deadline: Duration, maxLease: Duration, counts: Counts) throws -> (LeaseManager, AckQueue) {
        let acks = try AckQueueTests.queue()
        let leases = LeaseManager(
            acks: acks, ackDeadline: deadline, maxLease: maxLease, logger: Logger(label: "horae-test"),
            onExtended: { count in counts.extended.withLock { $0 += count } },
            onExpired: { count in counts.expired.withLock { $0 += count } })
        return (leases, acks)
    }

    /// Only the leases due within the margin are renewed, each once per pass; a finished one is
    /// not; past `maxLease` the rest are dropped; the next due instant follows the renewals.
    @Test func dueLeasesAreRenewedOnceAndDroppedPastTheirMaximum() throws {
        let counts = Counts()
        let (leases, acks) = try Self.manager(deadline: .seconds(30), maxLease: .seconds(60), counts: counts)
        let start = ContinuousClock.now
        leases.received([("a", "1"), ("b", "2"), ("c", "3")])
        leases.finished("b")
        #expect(leases.count == 2)
        #expect(acks.pendingCount == 3)  // the modAcks at receipt

        // Due at 25 s (30 s less the 5 s margin): nothing yet at 10 s.
        let early = try #require(leases.renewDue(now: start + .seconds(10)))
        #expect(early >= start + .seconds(25) && early < start + .seconds(26))
        #expect(acks.pendingCount == 3)

        let renewedAt = start + .seconds(26)
        #expect(leases.renewDue(now: renewedAt) == renewedAt + .seconds(25))
        #expect(counts.extended.withLock { $0 } == 2)
        #expect(acks.pendingCount == 5)
        // Renewed to 56 s: not due again at 27 s.
        #expect(leases.renewDue(now: start + .seconds(27)) == renewedAt + .seconds(25))
        #expect(counts.extended.withLock { $0 } == 2)

        // At 52 s, a renewal would hold them past 60 s of lease: both dropped.
        #expect(leases.renewDue(now: start + .seconds(52)) == nil)
        #expect(counts.expired.withLock { $0 } == 2)
        #expect(leases.count == 0)
        #expect(counts.extended.withLock { $0 } == 2)
    }

    /// Passes are a second apart at most often, or a quarter of a short margin.
    @Test func renewalPassesAreSpacedByTheMargin() throws {
        let counts = Counts()
        #expect(
            try Self.manager(deadline: .seconds(60), maxLease: .seconds(600), counts: counts).0.wakeInterval
                == .seconds(1))
        // A 3 s deadline: a 1 s margin, passes 250 ms apart.
        #expect(
            try Self.manager(deadline: .seconds(3), maxLease: .seconds(600), counts: counts).0.wakeInterval
                == .milliseconds(250))
    }
}
