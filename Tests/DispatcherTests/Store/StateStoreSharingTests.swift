import Foundation
import Synchronization
import Testing

@testable import HoraeDispatcher

/// Several stores on one directory or one database: what several daemons sharing a store do.
@Suite("StateStore: several instances on one store")
struct StateStoreSharingTests {
    typealias T = StoreTestTime

    @Test(arguments: StoreKind.allCases)
    func exactlyOneConcurrentClaimAcquiresAKey(_ kind: StoreKind) async throws {
        let fixture = try await kind.fixture()
        defer { fixture.remove() }
        let stores = [try await fixture.open(), try await fixture.open()]
        let contenders = 12

        for round in 0..<10 {
            let key = "key-\(round)"
            let results = try await withThrowingTaskGroup(of: (TaskKey, DedupClaim).self) { group in
                for contender in 0..<contenders {
                    let owner = TaskKey(messageID: "m\(round)-\(contender)", rule: "r")
                    let store = stores[contender % stores.count]
                    group.addTask {
                        (
                            owner,
                            try await store.claimDedup(
                                rule: "r", key: key, owner: owner, now: T.t0, leaseUntil: T.at(60))
                        )
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let winners = results.filter { $0.1 == .acquired }.map(\.0)
            try #require(winners.count == 1, "round \(round): \(results)")
            for (owner, claim) in results where owner != winners[0] {
                #expect(claim == .heldByRunningTask(winners[0]))
            }
        }
    }

    @Test(arguments: StoreKind.allCases)
    func eachTickIsClaimedOnceAcrossInstances(_ kind: StoreKind) async throws {
        let fixture = try await kind.fixture()
        defer { fixture.remove() }
        let stores = [try await fixture.open(), try await fixture.open()]
        #expect(try await stores[0].lastTick(rule: "hourly") == nil)

        for hour in 0..<10 {
            let tick = T.at(Double(hour) * 3600)
            let wins = try await withThrowingTaskGroup(of: Bool.self) { group in
                for attempt in 0..<8 {
                    let store = stores[attempt % stores.count]
                    group.addTask { try await store.claimTick(rule: "hourly", tick: tick) }
                }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(wins == 1, "tick \(hour)")
        }
        #expect(try await stores[1].lastTick(rule: "hourly") == T.at(9 * 3600))
        #expect(try await stores[0].lastTick(rule: "daily") == nil)
        // Claimed ticks are remembered across a restart.
        for store in stores { store.close() }
        let reopened = try await fixture.open()
        #expect(try await reopened.claimTick(rule: "hourly", tick: T.t0) == false)
        #expect(try await reopened.claimTick(rule: "hourly", tick: T.at(10 * 3600)) == true)
    }

    /// A daemon that died holding a key stops renewing it: another daemon takes it over once the
    /// lease has run out, not before; the renewals of the one still alive extend its lease.
    @Test(arguments: StoreKind.allCases)
    func aClaimOfADaemonThatWentAwayIsTakenOverWhenItsLeaseEnds(_ kind: StoreKind) async throws {
        let fixture = try await kind.fixture()
        defer { fixture.remove() }
        let dying = try await fixture.open()
        let survivor = try await fixture.open()
        let a = TaskKey(messageID: "on-a", rule: "r")
        let b = TaskKey(messageID: "on-b", rule: "r")
        #expect(try await dying.claimDedup(rule: "r", key: "k", owner: a, now: T.t0, leaseUntil: T.at(30)) == .acquired)
        #expect(try await dying.renewDedup(rule: "r", key: "k", owner: a, leaseUntil: T.at(60)))
        dying.close()
        #expect(
            try await survivor.claimDedup(rule: "r", key: "k", owner: b, now: T.at(45), leaseUntil: T.at(75))
                == .heldByRunningTask(a))
        #expect(
            try await survivor.claimDedup(rule: "r", key: "k", owner: b, now: T.at(60), leaseUntil: T.at(90))
                == .acquired)
        #expect(try await survivor.renewDedup(rule: "r", key: "k", owner: b, leaseUntil: T.at(120)))
        #expect(try await survivor.dedupEntry(rule: "r", key: "k")?.expiresAt == T.at(120))
        // The former holder, back from the dead, no longer holds it.
        let revived = try await fixture.open()
        #expect(try await revived.renewDedup(rule: "r", key: "k", owner: a, leaseUntil: T.at(500)) == false)
        #expect(
            try await revived.claimDedup(rule: "r", key: "k", owner: a, now: T.at(100), leaseUntil: T.at(160))
                == .heldByRunningTask(b))
    }

    @Test(arguments: StoreKind.allCases)
    func instancesSeeEachOthersCommits(_ kind: StoreKind) async throws {
        let fixture = try await kind.fixture()
        defer { fixture.remove() }
        let first = try await fixture.open()
        let second = try await fixture.open()
        let key = TaskKey(messageID: "m", rule: "r")
        try await first.save(TaskRecord(key: key, state: .running, attempt: 1, createdAt: T.t0))
        #expect(try await second.task(key)?.state == .running)
        try await second.save(TaskRecord(key: key, state: .succeeded, attempt: 1, createdAt: T.t0, updatedAt: T.at(1)))
        #expect(try await first.transitions(of: key).map(\.to) == [.running, .succeeded])
    }

    @Test(arguments: StoreKind.allCases)
    func writersWaitForEachOtherWithinTheBusyTimeout(_ kind: StoreKind) async throws {
        let fixture = try await kind.fixture()
        defer { fixture.remove() }
        let stores = [try await fixture.open(), try await fixture.open(), try await fixture.open()]
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<stores.count {
                let store = stores[writer]
                group.addTask {
                    for index in 0..<60 {
                        let key = TaskKey(messageID: "w\(writer)-\(index)", rule: "r")
                        try await store.save(TaskRecord(key: key, state: .running, createdAt: T.at(Double(index))))
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(try await stores[0].recentTasks(limit: 1000).count == 180)
    }
}
