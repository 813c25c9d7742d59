import Foundation
import Testing

@testable import HoraeDispatcher

/// The ``StateStore`` contract, run against every store (``StoreKind``).
@Suite("StateStore: task records and transitions")
struct StateStoreTaskTests {
    typealias T = StoreTestTime

    @Test(arguments: StoreKind.allCases)
    func recordRoundTripsWithEveryField(_ kind: StoreKind) async throws {
        let fixture = try await kind.fixture()
        defer { fixture.remove() }
        let store = try await fixture.open()
        let key = TaskKey(messageID: "1234567890", rule: "thumbnails")
        let record = TaskRecord(
            key: key, state: .waiting, attempt: 3, nextAction: 2, lastError: "HTTP 503 from https://x",
            retryAt: T.at(40), dedupKey: "bucket/object.png", output: "line 1\nline 2",
            subscription: "bucket-events", createdAt: T.t0, updatedAt: T.at(30))
        try await store.save(record, transitionDetail: "retry at +40s")
        #expect(try await store.task(key) == record)

        let minimal = TaskRecord(key: TaskKey(messageID: "m", rule: "r"), state: .pending, createdAt: T.t0)
        try await store.save(minimal)
        #expect(try await store.task(minimal.key) == minimal)
        #expect(try await store.task(TaskKey(messageID: "absent", rule: "r")) == nil)
        // The rule is part of the key.
        #expect(try await store.task(TaskKey(messageID: "m", rule: "other")) == nil)
    }

    @Test(arguments: StoreKind.allCases)
    func saveReplacesTheRecordAndRecordsStateChangesAndSteps(_ kind: StoreKind) async throws {
        let fixture = try await kind.fixture()
        defer { fixture.remove() }
        let store = try await fixture.open()
        let key = TaskKey(messageID: "m1", rule: "r")
        var record = TaskRecord(key: key, state: .pending, createdAt: T.t0)
        try await store.save(record)

        record.updatedAt = T.at(1)
        record.subscription = "s"
        try await store.save(record, transitionDetail: nil)  // same state, no detail: no row
        record.updatedAt = T.at(1.5)
        try await store.save(record, transitionDetail: "a step")  // same state with a detail: a step

        record.state = .running
        record.attempt = 1
        record.updatedAt = T.at(2)
        try await store.save(record, transitionDetail: "attempt 1")
        record.state = .waiting
        record.retryAt = T.at(12)
        record.lastError = "timeout"
        record.updatedAt = T.at(3)
        try await store.save(record, transitionDetail: "retry at +12s")
        record.state = .running
        record.attempt = 2
        record.retryAt = nil
        record.updatedAt = T.at(12)
        try await store.save(record, transitionDetail: nil)
        record.state = .succeeded
        record.nextAction = 4
        record.lastError = nil
        record.updatedAt = T.at(13)
        try await store.save(record, transitionDetail: nil)

        #expect(try await store.task(key) == record)
        let expected: [TaskTransition] = [
            TaskTransition(key: key, from: nil, to: .pending, at: T.t0, detail: nil),
            TaskTransition(key: key, from: .pending, to: .pending, at: T.at(1.5), detail: "a step"),
            TaskTransition(key: key, from: .pending, to: .running, at: T.at(2), detail: "attempt 1"),
            TaskTransition(key: key, from: .running, to: .waiting, at: T.at(3), detail: "retry at +12s"),
            TaskTransition(key: key, from: .waiting, to: .running, at: T.at(12), detail: nil),
            TaskTransition(key: key, from: .running, to: .succeeded, at: T.at(13), detail: nil),
        ]
        #expect(try await store.transitions(of: key) == expected)
        #expect(try await store.transitions(of: TaskKey(messageID: "m1", rule: "other")).isEmpty)
    }

    /// The saves of a caller that knows the stored state (``TaskRunner``'s) write the same rows as
    /// the reading save: an insert, updates, and a transition for each change of state.
    @Test(arguments: StoreKind.allCases)
    func savesReplacingAKnownStateRecordTheSameHistory(_ kind: StoreKind) async throws {
        let fixture = try await kind.fixture()
        defer { fixture.remove() }
        let store = try await fixture.open()
        let key = TaskKey(messageID: "m1", rule: "r")
        var record = TaskRecord(
            key: key, state: .running, attempt: 1, dedupKey: "k", subscription: "s", createdAt: T.t0,
            updatedAt: T.at(1))
        #expect(
            try await store.claimDedup(rule: "r", key: "k", owner: key, now: T.t0, leaseUntil: T.at(60)) == .acquired)
        try await store.save(record, replacing: nil, transitionDetail: "attempt 1", dedup: nil)
        #expect(try await store.task(key) == record)

        record.nextAction = 1
        record.output = "done"
        record.updatedAt = T.at(2)
        try await store.save(record, replacing: .running, transitionDetail: "action a succeeded", dedup: nil)
        #expect(try await store.task(key) == record)

        record.state = .succeeded
        record.nextAction = 2
        record.updatedAt = T.at(3)
        try await store.save(
            record, replacing: .running, transitionDetail: nil,
            dedup: .complete(rule: "r", key: "k", window: .seconds(60)))
        #expect(try await store.task(key) == record)
        #expect(
            try await store.transitions(of: key) == [
                TaskTransition(key: key, from: nil, to: .running, at: T.at(1), detail: "attempt 1"),
                TaskTransition(key: key, from: .running, to: .running, at: T.at(2), detail: "action a succeeded"),
                TaskTransition(key: key, from: .running, to: .succeeded, at: T.at(3), detail: nil),
            ])
        #expect(try await store.dedupEntry(rule: "r", key: "k")?.status == "succeeded")
    }

    @Test(arguments: StoreKind.allCases)
    func insertIfAbsentSavesANewRecordOrReturnsTheStoredOne(_ kind: StoreKind) async throws {
        let fixture = try await kind.fixture()
        defer { fixture.remove() }
        let store = try await fixture.open()
        let key = TaskKey(messageID: "m1", rule: "r")
        let first = TaskRecord(key: key, state: .running, attempt: 1, subscription: "s", createdAt: T.t0)
        #expect(try await store.insertIfAbsent(first, transitionDetail: "attempt 1") == nil)
        #expect(try await store.task(key) == first)
        #expect(
            try await store.transitions(of: key) == [
                TaskTransition(key: key, from: nil, to: .running, at: T.t0, detail: "attempt 1")
            ])

        var done = first
        done.state = .succeeded
        done.updatedAt = T.at(1)
        try await store.save(done, replacing: .running, transitionDetail: nil, dedup: nil)
        // Delivered again: nothing is written, the stored record comes back.
        let again = TaskRecord(key: key, state: .running, attempt: 1, createdAt: T.at(5))
        #expect(try await store.insertIfAbsent(again, transitionDetail: "attempt 1") == done)
        #expect(try await store.task(key) == done)
        #expect(try await store.transitions(of: key).count == 2)
    }

    /// Another daemon sharing the store wrote the record meanwhile: the save still replaces it, and
    /// its transition starts from the state that was really stored.
    @Test(arguments: StoreKind.allCases)
    func aSaveReplacingAStaleStateRecordsTheStateReallyStored(_ kind: StoreKind) async throws {
        let fixture = try await kind.fixture()
        defer { fixture.remove() }
        let first = try await fixture.open()
        let second = try await fixture.open()
        let key = TaskKey(messageID: "m1", rule: "r")
        try await first.save(
            TaskRecord(key: key, state: .running, attempt: 1, createdAt: T.t0, updatedAt: T.at(1)),
            replacing: nil, transitionDetail: "attempt 1", dedup: nil)
        try await second.save(
            TaskRecord(key: key, state: .waiting, attempt: 1, createdAt: T.t0, updatedAt: T.at(2)),
            transitionDetail: "other daemon")
        let mine = TaskRecord(
            key: key, state: .succeeded, attempt: 1, nextAction: 1, createdAt: T.t0, updatedAt: T.at(3))
        try await first.save(mine, replacing: .running, transitionDetail: nil, dedup: nil)
        #expect(try await second.task(key) == mine)
        #expect(try await first.transitions(of: key).map(\.from) == [nil, .running, .waiting])

        // A record this caller believes new, inserted by the other daemon first.
        let other = TaskKey(messageID: "m2", rule: "r")
        try await second.save(TaskRecord(key: other, state: .running, attempt: 1, createdAt: T.t0, updatedAt: T.at(1)))
        let late = TaskRecord(key: other, state: .running, attempt: 2, createdAt: T.t0, updatedAt: T.at(2))
        try await first.save(late, replacing: nil, transitionDetail: "attempt 2", dedup: nil)
        #expect(try await first.task(other) == late)
        #expect(try await first.transitions(of: other).map(\.from) == [nil, .running])  // running → running: a step
    }

    @Test(arguments: StoreKind.allCases)
    func everyStateRoundTripsIncludingDeadLettered(_ kind: StoreKind) async throws {
        let fixture = try await kind.fixture()
        defer { fixture.remove() }
        let store = try await fixture.open()
        for (offset, state) in TaskState.allCases.enumerated() {
            let record = TaskRecord(key: TaskKey(messageID: "m\(offset)", rule: "r"), state: state, createdAt: T.t0)
            try await store.save(record)
            #expect(try await store.task(record.key)?.state == state)
        }
        #expect(TaskState.deadLettered.rawValue == "dead-lettered")
        #expect(TaskState.finalStates == [.succeeded, .failed, .deadLettered, .duplicate])
    }

    @Test(arguments: StoreKind.allCases)
    func datesAreKeptToTheMillisecond(_ kind: StoreKind) async throws {
        let fixture = try await kind.fixture()
        defer { fixture.remove() }
        let store = try await fixture.open()
        let key = TaskKey(messageID: "m", rule: "r")
        let created = Date(timeIntervalSince1970: 1_700_000_000.1234)
        let retry = Date(timeIntervalSince1970: 1_700_000_000.9996)
        try await store.save(TaskRecord(key: key, state: .waiting, retryAt: retry, createdAt: created))
        let stored = try #require(try await store.task(key))
        #expect(stored.createdAt.timeIntervalSince1970 * 1000 == 1_700_000_000_123)
        #expect(stored.retryAt?.timeIntervalSince1970 == 1_700_000_001)
        // Times before 1970 survive too.
        let old = TaskRecord(
            key: TaskKey(messageID: "old", rule: "r"), state: .pending,
            createdAt: Date(timeIntervalSince1970: -86_400.5))
        try await store.save(old)
        #expect(try await store.task(old.key)?.createdAt == old.createdAt)
    }

    @Test(arguments: StoreKind.allCases)
    func recentTasksAreNewestFirstAndLimited(_ kind: StoreKind) async throws {
        let fixture = try await kind.fixture()
        defer { fixture.remove() }
        let store = try await fixture.open()
        // Saved in an order unrelated to their times.
        for seconds in [5, 1, 9, 3, 7] {
            try await store.save(
                TaskRecord(
                    key: TaskKey(messageID: "m\(seconds)", rule: "r"), state: .succeeded,
                    createdAt: T.t0, updatedAt: T.at(Double(seconds))))
        }
        // Updating a record moves it to the front.
        var first = try #require(try await store.task(TaskKey(messageID: "m1", rule: "r")))
        first.updatedAt = T.at(10)
        try await store.save(first)

        let all = try await store.recentTasks(limit: 100).map(\.key.messageID)
        #expect(all == ["m1", "m9", "m7", "m5", "m3"])
        #expect(try await store.recentTasks(limit: 2).map(\.key.messageID) == ["m1", "m9"])
        #expect(try await store.recentTasks(limit: 0).isEmpty)
    }

    @Test(arguments: StoreKind.allCases)
    func tasksInStatesAreOldestFirst(_ kind: StoreKind) async throws {
        let fixture = try await kind.fixture()
        defer { fixture.remove() }
        let store = try await fixture.open()
        let states: [TaskState] = [.running, .waiting, .succeeded, .pending, .running, .failed]
        for (offset, state) in states.enumerated() {
            try await store.save(
                TaskRecord(
                    key: TaskKey(messageID: "m\(offset)", rule: "r"), state: state,
                    createdAt: T.t0, updatedAt: T.at(Double(10 - offset))))
        }
        let unfinished = try await store.tasks(in: [.pending, .running, .waiting])
        #expect(unfinished.map(\.key.messageID) == ["m4", "m3", "m1", "m0"])
        #expect(try await store.tasks(in: [.failed]).map(\.key.messageID) == ["m5"])
        #expect(try await store.tasks(in: [.deadLettered]).isEmpty)
        #expect(try await store.tasks(in: []).isEmpty)
    }

    /// A value an attacker could put in a message id, attribute or rendered dedup key.
    struct HostileString: Sendable, CustomTestStringConvertible {
        var name: String
        var text: String
        var testDescription: String { name }

        static let all: [HostileString] = [
            HostileString(name: "drop table", text: "'; DROP TABLE tasks; --"),
            HostileString(name: "closing parenthesis", text: "Robert'); DROP TABLE dedup_keys;--"),
            HostileString(
                name: "quotes and placeholders",
                text: #"\"double\" and 'single' quotes, back\slash, %_ wildcards ?1 :name @x $y"#),
            HostileString(name: "unicode", text: "ünïcödé — 日本語 — 🚀👩‍👩‍👧 — \u{202E}rtl"),
            HostileString(name: "empty", text: ""),
            HostileString(name: "embedded NUL", text: "embedded\u{0}nul"),
            HostileString(name: "180 kB", text: String(repeating: "long-key/", count: 20_000)),
        ]
    }

    @Test(arguments: StoreKind.allCases, HostileString.all)
    func hostileStringsRoundTripAsValues(_ kind: StoreKind, _ hostile: HostileString) async throws {
        let text = hostile.text
        let fixture = try await kind.fixture()
        defer { fixture.remove() }
        let store = try await fixture.open()
        let key = TaskKey(messageID: text, rule: text)
        let record = TaskRecord(
            key: key, state: .running, attempt: 1, lastError: text, dedupKey: text, output: text,
            subscription: text, createdAt: T.t0)
        try await store.save(record, transitionDetail: text)
        #expect(try await store.task(key) == record)
        #expect(try await store.transitions(of: key).map(\.detail) == [text])

        #expect(
            try await store.claimDedup(rule: text, key: text, owner: key, now: T.t0, leaseUntil: T.at(60)) == .acquired)
        let other = TaskKey(messageID: text + "x", rule: text)
        #expect(
            try await store.claimDedup(rule: text, key: text, owner: other, now: T.at(1), leaseUntil: T.at(60))
                == .heldByRunningTask(key))
        // A neighbouring key is a different key.
        #expect(
            try await store.claimDedup(rule: text, key: text + "'", owner: other, now: T.at(1), leaseUntil: T.at(60))
                == .acquired)
        #expect(try await store.claimTick(rule: text, tick: T.t0))
        #expect(try await store.lastTick(rule: text) == T.t0)

        // Every table is still there and holds what it should.
        #expect(try await store.recentTasks(limit: 10) == [record])
        #expect(try await store.dedupEntry(rule: text, key: text)?.owner == key)
        #expect(try await store.checkIntegrity() == [])
    }

    @Test(arguments: StoreKind.allCases)
    func reopeningKeepsRecordsAndDoesNotRemigrate(_ kind: StoreKind) async throws {
        let fixture = try await kind.fixture()
        defer { fixture.remove() }
        let key = TaskKey(messageID: "m", rule: "r")
        do {
            let store = try await fixture.open()
            try await store.save(TaskRecord(key: key, state: .running, attempt: 2, nextAction: 1, createdAt: T.t0))
            store.close()
        }
        let reopened = try await fixture.open()
        #expect(try await reopened.task(key)?.nextAction == 1)
        #expect(try await reopened.transitions(of: key).count == 1)
    }

    @Test(arguments: StoreKind.allCases)
    func aClosedStoreThrowsClosed(_ kind: StoreKind) async throws {
        let fixture = try await kind.fixture()
        defer { fixture.remove() }
        let store = try await fixture.open()
        store.close()
        store.close()  // idempotent
        let error = await #expect(throws: StateStoreError.self) {
            try await store.task(TaskKey(messageID: "m", rule: "r"))
        }
        #expect(error?.code == .closed)
        #expect(error?.operation == "task")
    }

}
