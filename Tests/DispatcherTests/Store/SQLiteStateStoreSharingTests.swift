import Foundation
import Synchronization
import Testing

@testable import HoraeDispatcher

/// Several SQLite stores on one directory, beyond the contract (``StateStoreSharingTests``):
/// another process, and opening a new directory from several threads.
@Suite("SQLiteStateStore: several instances on one directory")
struct SQLiteStateStoreSharingTests {
    typealias T = StoreTestTime

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

}
