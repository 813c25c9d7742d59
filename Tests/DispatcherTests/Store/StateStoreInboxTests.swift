import Foundation
import HoraeRules
import Testing

@testable import HoraeDispatcher

/// The store's operator requests (docs/operations.md): kept messages, task queries, retries and
/// the inbox the daemons claim them from — the same behaviour in every store.
@Suite struct StateStoreInboxTests {
    typealias T = StoreTestTime

    static func message(_ id: String, data: String = "payload") -> PubSubMessage {
        var m = PubSubMessage(id: id)
        m.attributes = ["bucketId": "b", "objectId": "gocc/\(id).tar.gz"]
        m.data = Array(data.utf8)
        m.publishTime = "2023-11-14T22:13:20Z"
        return m
    }

    /// A task recorded as the runner records it: inserted with its message, then saved.
    static func record(
        _ store: any StateStore, _ id: String, rule: String = "r", state: TaskState, nextAction: Int = 1,
        at seconds: Double = 0, data: String = "payload"
    ) async throws -> TaskRecord {
        let key = TaskKey(messageID: id, rule: rule)
        let first = TaskRecord(
            key: key, state: .running, attempt: 1, subscription: "events", createdAt: T.at(seconds),
            message: KeptMessage(message(id, data: data)))
        #expect(try await store.insertIfAbsent(first, transitionDetail: "attempt 1") == nil)
        var record = first
        record.message = nil
        record.state = state
        record.attempt = 3
        record.nextAction = nextAction
        record.lastError = state == .failed || state == .deadLettered ? "action b: down" : nil
        record.updatedAt = T.at(seconds + 1)
        try await store.save(record, transitionDetail: "done")
        return record
    }

    @Test(arguments: StoreKind.allCases)
    func theMessageIsKeptWithTheTaskAndALargePayloadWithoutItsData(_ kind: StoreKind) async throws {
        let fixture = try await kind.fixture()
        defer { fixture.remove() }
        let store = try await fixture.open()
        _ = try await Self.record(store, "m1", state: .failed)
        let kept = try #require(try await store.keptMessage(of: TaskKey(messageID: "m1", rule: "r")))
        #expect(kept.message == Self.message("m1"))
        #expect(kept.droppedDataBytes == 0)
        #expect(try await store.keptMessage(of: TaskKey(messageID: "m1", rule: "other")) == nil)

        let big = String(repeating: "x", count: KeptMessage.maxDataBytes + 1)
        _ = try await Self.record(store, "m2", state: .failed, data: big)
        let large = try #require(try await store.keptMessage(of: TaskKey(messageID: "m2", rule: "r")))
        #expect(large.message.data.isEmpty)
        #expect(large.droppedDataBytes == big.utf8.count)
        #expect(large.message.attributes == Self.message("m2").attributes)
        // Such a task cannot be retried from the store.
        #expect(
            try await store.requestRetry(TaskKey(messageID: "m2", rule: "r"), force: false, now: T.at(5))
                == .messageNotKept)
    }

    @Test(arguments: StoreKind.allCases)
    func tasksAreSelectedByStateRuleAndTimeNewestFirst(_ kind: StoreKind) async throws {
        let fixture = try await kind.fixture()
        defer { fixture.remove() }
        let store = try await fixture.open()
        _ = try await Self.record(store, "m1", state: .failed, at: 0)
        _ = try await Self.record(store, "m2", state: .succeeded, at: 10)
        _ = try await Self.record(store, "m3", rule: "other", state: .deadLettered, at: 20)
        _ = try await Self.record(store, "m4", state: .deadLettered, at: 30)

        func ids(_ query: TaskQuery) async throws -> [String] {
            try await store.tasks(matching: query).map(\.key.messageID)
        }
        #expect(try await ids(TaskQuery()) == ["m4", "m3", "m2", "m1"])
        #expect(try await ids(TaskQuery(states: [.failed, .deadLettered])) == ["m4", "m3", "m1"])
        #expect(try await ids(TaskQuery(rule: "r")) == ["m4", "m2", "m1"])
        #expect(try await ids(TaskQuery(updatedSince: T.at(11))) == ["m4", "m3", "m2"])
        #expect(try await ids(TaskQuery(states: [.deadLettered], rule: "r", updatedSince: T.at(0))) == ["m4"])
        #expect(try await ids(TaskQuery(limit: 2)) == ["m4", "m3"])
        // A record read back carries no message; everything else round-trips.
        let m1 = try #require(try await store.tasks(matching: TaskQuery(rule: "r", limit: 10)).last)
        #expect(m1.message == nil)
        #expect(m1.lastError == "action b: down")
        #expect(m1.subscription == "events")
    }

    /// Each state is read from its own index range (schema version 5): the merged answer keeps
    /// the one order across states, ties broken by message id in byte order, not by Swift's
    /// canonical equivalence ("e" + U+0301 sorts before the precomposed "é", which it equals).
    @Test(arguments: StoreKind.allCases)
    func tasksOfSeveralStatesMergeInOneOrderWithTiesInByteOrder(_ kind: StoreKind) async throws {
        let fixture = try await kind.fixture()
        defer { fixture.remove() }
        let store = try await fixture.open()
        // (id, state, seconds): the last four share their times.
        let tasks: [(String, TaskState, Double)] = [
            ("old", .succeeded, 0), ("new", .running, 50),
            ("\u{E9}", .failed, 20), ("e\u{301}", .waiting, 20), ("b", .succeeded, 20), ("a", .pending, 20),
        ]
        for (id, state, seconds) in tasks {
            try await store.save(
                TaskRecord(
                    key: TaskKey(messageID: id, rule: "r"), state: state, createdAt: T.at(seconds),
                    updatedAt: T.at(seconds)))
        }
        // Same updatedAt, newer createdAt first.
        try await store.save(
            TaskRecord(
                key: TaskKey(messageID: "z", rule: "r"), state: .succeeded, createdAt: T.at(19), updatedAt: T.at(20)))
        func ids(_ query: TaskQuery) async throws -> [String] {
            try await store.tasks(matching: query).map(\.key.messageID)
        }
        let all = ["new", "a", "b", "e\u{301}", "\u{E9}", "z", "old"]
        #expect(try await ids(TaskQuery(limit: 100)).map { Array($0.utf8) } == all.map { Array($0.utf8) })
        #expect(
            try await store.recentTasks(limit: 3).map { Array($0.key.messageID.utf8) }
                == all.prefix(3).map { Array($0.utf8) })
        #expect(
            try await ids(TaskQuery(states: [.succeeded, .failed], limit: 3)).map { Array($0.utf8) }
                == ["b", "\u{E9}", "z"].map { Array($0.utf8) })
        #expect(try await ids(TaskQuery(updatedSince: T.at(21), limit: 100)) == ["new"])
    }

    /// A retry makes a failed task pending at attempt 0, from the action that failed, records it
    /// in the history and queues its message for the task's rule and subscription.
    @Test(arguments: StoreKind.allCases)
    func aRetryQueuesTheMessageAndResetsTheAttempts(_ kind: StoreKind) async throws {
        let fixture = try await kind.fixture()
        defer { fixture.remove() }
        let store = try await fixture.open()
        _ = try await Self.record(store, "m1", state: .deadLettered, nextAction: 2)
        let key = TaskKey(messageID: "m1", rule: "r")
        guard case .queued(let record) = try await store.requestRetry(key, force: false, now: T.at(10)) else {
            Issue.record("the retry was not queued")
            return
        }
        #expect(record.state == .pending && record.attempt == 0 && record.nextAction == 2)
        #expect(try await store.task(key) == record)
        let last = try #require(try await store.transitions(of: key).last)
        #expect(last.from == .deadLettered && last.to == .pending)
        #expect(last.detail == "retry requested: fresh attempts from action 3")
        #expect(try await store.inboxCount() == 1)
        // Pending now: a second request is refused, and queues nothing.
        #expect(try await store.requestRetry(key, force: false, now: T.at(11)) == .refused(.pending))
        #expect(
            try await store.requestRetry(TaskKey(messageID: "nope", rule: "r"), force: false, now: T.at(11))
                == .unknownTask)

        let claimed = try await store.claimInbox(
            subscriptions: ["events"], limit: 10, now: T.at(12), leaseUntil: T.at(72))
        #expect(claimed.count == 1)
        let entry = try #require(claimed.first)
        #expect(entry.kind == .retry && entry.rule == "r" && entry.subscription == "events" && entry.claims == 1)
        #expect(entry.message == Self.message("m1"))
    }

    @Test(arguments: StoreKind.allCases)
    func succeededTasksAreRetriedOnlyWithForceAndFromTheFirstAction(_ kind: StoreKind) async throws {
        let fixture = try await kind.fixture()
        defer { fixture.remove() }
        let store = try await fixture.open()
        _ = try await Self.record(store, "m1", state: .succeeded, nextAction: 3)
        _ = try await Self.record(store, "m2", state: .running)
        let key = TaskKey(messageID: "m1", rule: "r")
        #expect(try await store.requestRetry(key, force: false, now: T.at(10)) == .refused(.succeeded))
        #expect(
            try await store.requestRetry(TaskKey(messageID: "m2", rule: "r"), force: true, now: T.at(10))
                == .refused(.running))
        #expect(try await store.inboxCount() == 0)
        guard case .queued(let record) = try await store.requestRetry(key, force: true, now: T.at(10)) else {
            Issue.record("the forced retry was not queued")
            return
        }
        #expect(record.nextAction == 0)
        #expect(
            try await store.transitions(of: key).last?.detail
                == "retry requested (forced): fresh attempts from action 1")
    }

    /// The inbox is a queue with leases: an entry is claimed by one daemon at a time, only by
    /// daemons of its subscription, comes back when its lease ends or when given back, and is
    /// gone once settled. The same message for the same rule and subscription is queued once.
    @Test(arguments: StoreKind.allCases)
    func inboxEntriesAreClaimedOnceUnderALease(_ kind: StoreKind) async throws {
        let fixture = try await kind.fixture()
        defer { fixture.remove() }
        let first = try await fixture.open()
        let second = try await fixture.open()
        let entries = (1...3).map {
            InboxEntry(
                kind: .backfill, subscription: "events", rule: nil, message: Self.message("b\($0)"), createdAt: T.t0)
        }
        #expect(try await first.enqueue(entries) == 3)
        #expect(try await second.enqueue([entries[0]]) == 0)  // already queued
        let other = InboxEntry(
            kind: .redrive, subscription: "other", rule: "r", message: Self.message("d1"), createdAt: T.t0)
        #expect(try await first.enqueue([other]) == 1)
        #expect(try await first.inboxCount() == 4)

        let a = try await first.claimInbox(subscriptions: ["events"], limit: 2, now: T.at(1), leaseUntil: T.at(61))
        let b = try await second.claimInbox(subscriptions: ["events"], limit: 5, now: T.at(1), leaseUntil: T.at(61))
        #expect(a.count == 2 && b.count == 1)
        #expect(Set((a + b).map(\.message.id)) == ["b1", "b2", "b3"])
        // Nothing left to claim while the leases last; a daemon without the subscription sees nothing.
        #expect(
            try await second.claimInbox(subscriptions: ["events"], limit: 5, now: T.at(30), leaseUntil: T.at(90))
                .isEmpty)
        #expect(
            try await second.claimInbox(subscriptions: ["nothing"], limit: 5, now: T.at(30), leaseUntil: T.at(90))
                .isEmpty)

        try await first.settleInbox(a[0].id, availableAt: nil)  // done
        try await first.settleInbox(a[1].id, availableAt: T.at(40))  // given back until +40 s
        // b's daemon died: its entry comes back when its lease ends (+61 s), claimed a second time.
        let early = try await second.claimInbox(
            subscriptions: ["events"], limit: 5, now: T.at(45), leaseUntil: T.at(105))
        #expect(early.map(\.message.id) == [a[1].message.id])
        let late = try await second.claimInbox(
            subscriptions: ["events"], limit: 5, now: T.at(62), leaseUntil: T.at(122))
        #expect(late.map(\.message.id) == [b[0].message.id])
        #expect(late.first?.claims == 2)
        #expect(try await first.inboxCount() == 3)
        let redrive = try #require(
            try await first.claimInbox(subscriptions: ["other"], limit: 5, now: T.at(1), leaseUntil: T.at(61)).first)
        #expect(redrive.kind == .redrive && redrive.rule == "r" && redrive.message == Self.message("d1"))
    }
}

extension StateStoreInboxTests {
    @Test(arguments: StoreKind.allCases)
    func aPrunedTaskTakesItsMessageWithIt(_ kind: StoreKind) async throws {
        let fixture = try await kind.fixture()
        defer { fixture.remove() }
        let store = try await fixture.open()
        _ = try await Self.record(store, "m1", state: .succeeded)
        let key = TaskKey(messageID: "m1", rule: "r")
        #expect(try await store.keptMessage(of: key) != nil)
        #expect(try await store.prune(now: T.at(100), finishedBefore: T.at(50)) >= 1)
        #expect(try await store.task(key) == nil)
        #expect(try await store.keptMessage(of: key) == nil)
        #expect(try await store.checkIntegrity().isEmpty)
    }
}
