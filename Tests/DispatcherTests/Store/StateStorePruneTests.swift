import Foundation
import HoraeRules
import Testing

@testable import HoraeDispatcher

/// The ``StateStore`` contract, run against every store (``StoreKind``).
@Suite("StateStore: pruning")
struct StateStorePruneTests {
    typealias T = StoreTestTime

    @Test(arguments: StoreKind.allCases)
    func pruneRemovesOnlyExpiredKeysAndOldFinishedTasks(_ kind: StoreKind) async throws {
        let fixture = try await kind.fixture()
        defer { fixture.remove() }
        let store = try await fixture.open()
        let day = 86_400.0

        // Tasks: (id, state, updatedAt). Cutoff = t0 + 7 days.
        let tasks: [(String, TaskState, Double)] = [
            ("old-succeeded", .succeeded, 1 * day),
            ("old-failed", .failed, 2 * day),
            ("old-dead", .deadLettered, 3 * day),
            ("old-duplicate", .duplicate, 4 * day),
            ("old-running", .running, 1 * day),  // unfinished: kept however old
            ("old-waiting", .waiting, 1 * day),
            ("old-pending", .pending, 1 * day),
            ("new-succeeded", .succeeded, 8 * day),
            ("edge-succeeded", .succeeded, 7 * day),  // not *before* the cutoff
        ]
        for (id, state, at) in tasks {
            let key = TaskKey(messageID: id, rule: "r")
            try await store.save(TaskRecord(key: key, state: .running, createdAt: T.t0, updatedAt: T.t0))
            try await store.save(TaskRecord(key: key, state: state, createdAt: T.t0, updatedAt: T.at(at)))
        }
        // Dedup keys at now = t0 + 10 days.
        let now = T.at(10 * day)
        let owner = TaskKey(messageID: "o", rule: "r")
        func claim(_ key: String, leaseUntil: Double) async throws {
            _ = try await store.claimDedup(rule: "r", key: key, owner: owner, now: T.t0, leaseUntil: T.at(leaseUntil))
        }
        try await claim("lease-expired", leaseUntil: 9 * day)
        try await claim("lease-live", leaseUntil: 11 * day)
        try await claim("window-over", leaseUntil: 60)
        try await store.completeDedup(
            rule: "r", key: "window-over", owner: owner, now: T.at(1 * day), window: .seconds(86_400))
        try await claim("window-live", leaseUntil: 60)
        try await store.completeDedup(
            rule: "r", key: "window-live", owner: owner, now: T.at(9 * day), window: .seconds(2 * 86_400))
        // Ticks: the latest of each rule survives however old.
        for hour in 0..<5 { _ = try await store.claimTick(rule: "hourly", tick: T.at(Double(hour) * 3600)) }
        _ = try await store.claimTick(rule: "late", tick: T.at(9 * day))
        _ = try await store.claimTick(rule: "late", tick: T.at(1 * day))

        let deleted = try await store.prune(now: now, finishedBefore: T.at(7 * day))
        // 2 keys + 4 tasks with 2 transitions each + 4 hourly ticks + 1 late tick.
        #expect(deleted == 2 + 4 * 3 + 4 + 1)

        let left = Set(try await store.recentTasks(limit: 100).map(\.key.messageID))
        #expect(left == ["old-running", "old-waiting", "old-pending", "new-succeeded", "edge-succeeded"])
        #expect(try await store.transitions(of: TaskKey(messageID: "old-succeeded", rule: "r")).isEmpty)
        #expect(try await store.transitions(of: TaskKey(messageID: "new-succeeded", rule: "r")).count == 2)
        #expect(try await store.dedupEntry(rule: "r", key: "lease-expired") == nil)
        #expect(try await store.dedupEntry(rule: "r", key: "window-over") == nil)
        #expect(try await store.dedupEntry(rule: "r", key: "lease-live") != nil)
        #expect(try await store.dedupEntry(rule: "r", key: "window-live")?.status == "succeeded")
        #expect(try await store.lastTick(rule: "hourly") == T.at(4 * 3600))
        #expect(try await store.claimTick(rule: "hourly", tick: T.at(4 * 3600)) == false)
        #expect(try await store.lastTick(rule: "late") == T.at(9 * day))

        // Nothing more to do.
        #expect(try await store.prune(now: now, finishedBefore: T.at(7 * day)) == 0)
        #expect(try await store.checkIntegrity() == [])
    }

    /// A pruned task takes its kept message with it (SQLite, whose foreign keys are not enforced,
    /// deletes it itself; PostgreSQL by the cascade), and so does a pruned unfinished one.
    @Test(arguments: StoreKind.allCases)
    func prunedTasksTakeTheirKeptMessagesWithThem(_ kind: StoreKind) async throws {
        let fixture = try await kind.fixture()
        defer { fixture.remove() }
        let store = try await fixture.open()
        let day = 86_400.0
        for (id, rule, state) in [("old", "r", TaskState.succeeded), ("new", "r", .succeeded), ("gone", "x", .running)]
        {
            let key = TaskKey(messageID: id, rule: rule)
            let first = TaskRecord(
                key: key, state: .running, attempt: 1, createdAt: T.t0,
                message: KeptMessage(PubSubMessage(id: id, data: Array("data".utf8))))
            #expect(try await store.insertIfAbsent(first, transitionDetail: "attempt 1") == nil)
            let at = id == "new" ? 8 * day : 1 * day
            try await store.save(TaskRecord(key: key, state: state, createdAt: T.t0, updatedAt: T.at(at)))
        }
        _ = try await store.prune(now: T.at(10 * day), finishedBefore: T.at(7 * day))
        #expect(try await store.pruneUnfinished(exceptRules: ["r"], updatedBefore: T.at(7 * day)) == ["x": 1])
        #expect(try await store.keptMessage(of: TaskKey(messageID: "old", rule: "r")) == nil)
        #expect(try await store.keptMessage(of: TaskKey(messageID: "gone", rule: "x")) == nil)
        #expect(try await store.keptMessage(of: TaskKey(messageID: "new", rule: "r"))?.message.id == "new")
        // Saving a task again under a pruned key keeps its new message, not a stale one.
        let again = TaskRecord(
            key: TaskKey(messageID: "old", rule: "r"), state: .running, attempt: 1, createdAt: T.at(11 * day),
            message: KeptMessage(PubSubMessage(id: "old", data: Array("again".utf8))))
        #expect(try await store.insertIfAbsent(again, transitionDetail: "attempt 1") == nil)
        #expect(try await store.keptMessage(of: again.key)?.message.data == Array("again".utf8))
        #expect(try await store.transitions(of: again.key).count == 1)
        #expect(try await store.checkIntegrity() == [])
    }

    @Test(arguments: StoreKind.allCases)
    func unfinishedTasksOfRulesNoLongerLoadedArePrunedAfterTheRetention(_ kind: StoreKind) async throws {
        let fixture = try await kind.fixture()
        defer { fixture.remove() }
        let store = try await fixture.open()
        let day = 86_400.0
        // (id, rule, state, updatedAt); the rules loaded now are "kept" and "other".
        let tasks: [(String, String, TaskState, Double)] = [
            ("gone-pending", "removed", .pending, 1 * day),
            ("gone-running", "removed", .running, 2 * day),
            ("gone-waiting", "renamed", .waiting, 3 * day),
            ("gone-recent", "removed", .waiting, 8 * day),  // within the retention: kept
            ("gone-succeeded", "removed", .succeeded, 8 * day),  // finished: the other prune's business
            ("kept-running", "kept", .running, 1 * day),  // its rule is loaded: kept however old
            ("other-pending", "other", .pending, 1 * day),
        ]
        for (id, rule, state, at) in tasks {
            let key = TaskKey(messageID: id, rule: rule)
            try await store.save(TaskRecord(key: key, state: .pending, createdAt: T.t0, updatedAt: T.t0))
            try await store.save(TaskRecord(key: key, state: state, createdAt: T.t0, updatedAt: T.at(at)))
        }

        let pruned = try await store.pruneUnfinished(exceptRules: ["kept", "other"], updatedBefore: T.at(7 * day))
        #expect(pruned == ["removed": 2, "renamed": 1])

        let left = Set(try await store.recentTasks(limit: 100).map(\.key.messageID))
        #expect(left == ["gone-recent", "gone-succeeded", "kept-running", "other-pending"])
        #expect(try await store.transitions(of: TaskKey(messageID: "gone-pending", rule: "removed")).isEmpty)
        #expect(try await store.transitions(of: TaskKey(messageID: "kept-running", rule: "kept")).count == 2)
        #expect(try await store.pruneUnfinished(exceptRules: ["kept", "other"], updatedBefore: T.at(7 * day)).isEmpty)
        #expect(try await store.checkIntegrity() == [])
    }
}
