import Foundation
import Synchronization
import Testing

@testable import HoraeDispatcher

/// Several stores on one directory: what several daemons sharing a data directory do.
@Suite("SQLiteStateStore: several instances on one directory")
struct SQLiteStateStoreSharingTests {
    typealias T = StoreTestTime

    @Test func exactlyOneConcurrentClaimAcquiresAKey() async throws {
        let directory = TemporaryStoreDirectory()
        defer { directory.remove() }
        let stores = [try directory.open(), try directory.open()]
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

    /// Another process (the helper executable) claims the same keys at the same time as this one:
    /// each key is acquired exactly once, through SQLite's file locks rather than in-process ones.
    @Test func exactlyOneClaimAcrossProcesses() async throws {
        let directory = TemporaryStoreDirectory()
        defer { directory.remove() }
        let store = try directory.open()
        let count = 300
        // Both processes claim key i at start + 3·i ms, so they collide on every key.
        let start = Date().addingTimeInterval(1).millisecondsSince1970
        let child = try StoreTestChildProcess(
            executable: try StoreTestHelpers.requireChild(),
            arguments: ["race", directory.path, String(count), String(start)])
        #expect(child.waitForLine { $0 == "ready" } != nil)
        let owner = TaskKey(messageID: "parent", rule: "race")
        var parentWon = Set<Int>()
        for index in 0..<count {
            let wait = Double(start + 3 * Int64(index)) / 1000 - Date().timeIntervalSince1970
            if wait > 0 { try await Task.sleep(for: .microseconds(Int(wait * 1_000_000))) }
            let now = Date()
            let claim = try await store.claimDedup(
                rule: "race", key: "r\(index)", owner: owner, now: now, leaseUntil: now.addingTimeInterval(600))
            if claim == .acquired { parentWon.insert(index) }
        }
        var childWon = Set<Int>()
        var childAnswers = 0
        while let line = child.nextLine() {
            let parts = line.split(separator: " ")
            guard parts.count == 2, let index = Int(parts[1]) else { continue }
            childAnswers += 1
            if parts[0] == "acquired" { childWon.insert(index) }
        }
        #expect(childAnswers == count)
        #expect(parentWon.isDisjoint(with: childWon))
        #expect(parentWon.union(childWon) == Set(0..<count))
        for index in [0, count / 2, count - 1] {
            let holder = try await store.dedupEntry(rule: "race", key: "r\(index)")?.owner.messageID
            #expect(holder == (parentWon.contains(index) ? "parent" : "child"))
        }
    }

    @Test func eachTickIsClaimedOnceAcrossInstances() async throws {
        let directory = TemporaryStoreDirectory()
        defer { directory.remove() }
        let stores = [try directory.open(), try directory.open()]
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
        let reopened = try directory.open()
        #expect(try await reopened.claimTick(rule: "hourly", tick: T.t0) == false)
        #expect(try await reopened.claimTick(rule: "hourly", tick: T.at(10 * 3600)) == true)
    }

    @Test func instancesSeeEachOthersCommits() async throws {
        let directory = TemporaryStoreDirectory()
        defer { directory.remove() }
        let first = try directory.open()
        let second = try directory.open()
        let key = TaskKey(messageID: "m", rule: "r")
        try await first.save(TaskRecord(key: key, state: .running, attempt: 1, createdAt: T.t0))
        #expect(try await second.task(key)?.state == .running)
        try await second.save(TaskRecord(key: key, state: .succeeded, attempt: 1, createdAt: T.t0, updatedAt: T.at(1)))
        #expect(try await first.transitions(of: key).map(\.to) == [.running, .succeeded])
    }

    @Test func openingANewDirectoryFromSeveralThreadsAtOnce() throws {
        for _ in 0..<5 {
            let directory = TemporaryStoreDirectory()
            defer { directory.remove() }
            let failures = Mutex<[String]>([])
            let opened = Mutex<[SQLiteStateStore]>([])
            DispatchQueue.concurrentPerform(iterations: 4) { _ in
                do {
                    let store = try directory.open()
                    opened.withLock { $0.append(store) }
                } catch {
                    failures.withLock { $0.append("\(error)") }
                }
            }
            #expect(failures.withLock { $0 } == [])
            #expect(opened.withLock { $0.count } == 4)
        }
    }

    @Test func writersWaitForEachOtherWithinTheBusyTimeout() async throws {
        let directory = TemporaryStoreDirectory()
        defer { directory.remove() }
        let stores = [try directory.open(), try directory.open(), try directory.open()]
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
