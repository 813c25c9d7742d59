import Foundation
import Testing

@testable import HoraeDispatcher

/// The ``StateStore`` contract, run against every store (``StoreKind``).
@Suite("StateStore: dedup gate")
struct StateStoreDedupTests {
    typealias T = StoreTestTime
    let a = TaskKey(messageID: "msg-a", rule: "thumbs")
    let b = TaskKey(messageID: "msg-b", rule: "thumbs")
    let c = TaskKey(messageID: "msg-c", rule: "thumbs")

    @Test(arguments: StoreKind.allCases)
    func leaseLifecycle(_ kind: StoreKind) async throws {
        let fixture = try await kind.fixture()
        defer { fixture.remove() }
        let store = try await fixture.open()

        // Fresh key.
        #expect(
            try await store.claimDedup(rule: "thumbs", key: "k", owner: a, now: T.t0, leaseUntil: T.at(60)) == .acquired
        )
        // The same owner again (a redelivery after a crash): acquired, lease moved.
        #expect(
            try await store.claimDedup(rule: "thumbs", key: "k", owner: a, now: T.at(5), leaseUntil: T.at(65))
                == .acquired)
        #expect(try await store.dedupEntry(rule: "thumbs", key: "k")?.expiresAt == T.at(65))
        // Another owner while the lease runs.
        #expect(
            try await store.claimDedup(rule: "thumbs", key: "k", owner: b, now: T.at(64.999), leaseUntil: T.at(120))
                == .heldByRunningTask(a))
        // The same key under another rule is another key.
        #expect(
            try await store.claimDedup(rule: "other", key: "k", owner: b, now: T.at(10), leaseUntil: T.at(120))
                == .acquired)
        // At the lease's end it is taken over…
        #expect(
            try await store.claimDedup(rule: "thumbs", key: "k", owner: b, now: T.at(65), leaseUntil: T.at(125))
                == .acquired)
        // …and the former owner is now the one kept out.
        #expect(
            try await store.claimDedup(rule: "thumbs", key: "k", owner: a, now: T.at(70), leaseUntil: T.at(130))
                == .heldByRunningTask(b))
        #expect(try await store.renewDedup(rule: "thumbs", key: "k", owner: a, leaseUntil: T.at(500)) == false)
        #expect(try await store.renewDedup(rule: "thumbs", key: "k", owner: b, leaseUntil: T.at(300)) == true)
        #expect(
            try await store.claimDedup(rule: "thumbs", key: "k", owner: c, now: T.at(200), leaseUntil: T.at(260))
                == .heldByRunningTask(b))
        // The owner that lost the key completing late does not overwrite the new holder.
        try await store.completeDedup(rule: "thumbs", key: "k", owner: a, now: T.at(210), window: .seconds(600))
        #expect(try await store.dedupEntry(rule: "thumbs", key: "k")?.owner == b)
        #expect(try await store.dedupEntry(rule: "thumbs", key: "k")?.status == "running")
    }

    @Test(arguments: StoreKind.allCases)
    func successWindow(_ kind: StoreKind) async throws {
        let fixture = try await kind.fixture()
        defer { fixture.remove() }
        let store = try await fixture.open()
        #expect(
            try await store.claimDedup(rule: "thumbs", key: "k", owner: a, now: T.t0, leaseUntil: T.at(60)) == .acquired
        )
        try await store.completeDedup(rule: "thumbs", key: "k", owner: a, now: T.at(30), window: .seconds(600))

        let until = T.at(630)
        #expect(
            try await store.claimDedup(rule: "thumbs", key: "k", owner: b, now: T.at(31), leaseUntil: T.at(90))
                == .recentlySucceeded(until: until))
        // Even past the old lease, and for the owner itself.
        #expect(
            try await store.claimDedup(rule: "thumbs", key: "k", owner: a, now: T.at(100), leaseUntil: T.at(160))
                == .recentlySucceeded(until: until))
        #expect(
            try await store.claimDedup(rule: "thumbs", key: "k", owner: b, now: T.at(629.999), leaseUntil: T.at(700))
                == .recentlySucceeded(until: until))
        // The renewal of a finished claim does nothing.
        #expect(try await store.renewDedup(rule: "thumbs", key: "k", owner: a, leaseUntil: T.at(9999)) == false)
        // Releasing a succeeded key does nothing either.
        try await store.releaseDedup(rule: "thumbs", key: "k", owner: a)
        // When the window ends the key is free again.
        #expect(
            try await store.claimDedup(rule: "thumbs", key: "k", owner: b, now: until, leaseUntil: T.at(700))
                == .acquired)
        #expect(
            try await store.claimDedup(rule: "thumbs", key: "k", owner: c, now: T.at(640), leaseUntil: T.at(700))
                == .heldByRunningTask(b))
    }

    @Test(arguments: StoreKind.allCases)
    func zeroWindowFreesTheKeyAtOnce(_ kind: StoreKind) async throws {
        let fixture = try await kind.fixture()
        defer { fixture.remove() }
        let store = try await fixture.open()
        #expect(try await store.claimDedup(rule: "r", key: "k", owner: a, now: T.t0, leaseUntil: T.at(60)) == .acquired)
        try await store.completeDedup(rule: "r", key: "k", owner: a, now: T.at(1), window: .zero)
        #expect(
            try await store.claimDedup(rule: "r", key: "k", owner: b, now: T.at(1), leaseUntil: T.at(60)) == .acquired)
    }

    @Test(arguments: StoreKind.allCases)
    func completingAKeyNobodyHoldsRemembersIt(_ kind: StoreKind) async throws {
        let fixture = try await kind.fixture()
        defer { fixture.remove() }
        let store = try await fixture.open()
        // E.g. the claim row was pruned after its lease expired while the task still ran.
        try await store.completeDedup(rule: "r", key: "k", owner: a, now: T.t0, window: .seconds(10))
        #expect(
            try await store.claimDedup(rule: "r", key: "k", owner: b, now: T.at(1), leaseUntil: T.at(60))
                == .recentlySucceeded(until: T.at(10)))
    }

    @Test(arguments: StoreKind.allCases)
    func releaseOnFailureFreesTheKeyForItsOwnerOnly(_ kind: StoreKind) async throws {
        let fixture = try await kind.fixture()
        defer { fixture.remove() }
        let store = try await fixture.open()
        #expect(try await store.claimDedup(rule: "r", key: "k", owner: a, now: T.t0, leaseUntil: T.at(60)) == .acquired)
        try await store.releaseDedup(rule: "r", key: "k", owner: b)  // not the holder: ignored
        #expect(
            try await store.claimDedup(rule: "r", key: "k", owner: b, now: T.at(1), leaseUntil: T.at(60))
                == .heldByRunningTask(a))
        try await store.releaseDedup(rule: "r", key: "k", owner: a)
        #expect(try await store.dedupEntry(rule: "r", key: "k") == nil)
        #expect(
            try await store.claimDedup(rule: "r", key: "k", owner: b, now: T.at(2), leaseUntil: T.at(60)) == .acquired)
        try await store.releaseDedup(rule: "r", key: "absent", owner: a)  // no row: no error
    }

    @Test(arguments: StoreKind.allCases)
    func saveSettlesTheKeyInTheSameTransaction(_ kind: StoreKind) async throws {
        let fixture = try await kind.fixture()
        defer { fixture.remove() }
        let store = try await fixture.open()
        #expect(
            try await store.claimDedup(rule: "r", key: "ok", owner: a, now: T.t0, leaseUntil: T.at(60)) == .acquired)
        #expect(
            try await store.claimDedup(rule: "r", key: "ko", owner: b, now: T.t0, leaseUntil: T.at(60)) == .acquired)

        try await store.save(
            TaskRecord(
                key: a, state: .succeeded, attempt: 1, nextAction: 2, dedupKey: "ok",
                createdAt: T.t0, updatedAt: T.at(20)),
            transitionDetail: nil, dedup: .complete(rule: "r", key: "ok", window: .seconds(100)))
        try await store.save(
            TaskRecord(
                key: b, state: .failed, attempt: 5, lastError: "boom", dedupKey: "ko",
                createdAt: T.t0, updatedAt: T.at(20)),
            transitionDetail: "gave up", dedup: .release(rule: "r", key: "ko"))

        #expect(
            try await store.claimDedup(rule: "r", key: "ok", owner: c, now: T.at(21), leaseUntil: T.at(60))
                == .recentlySucceeded(until: T.at(120)))
        #expect(
            try await store.claimDedup(rule: "r", key: "ko", owner: c, now: T.at(21), leaseUntil: T.at(60)) == .acquired
        )
        #expect(try await store.task(a)?.state == .succeeded)
        #expect(try await store.task(b)?.state == .failed)
    }

    @Test(arguments: StoreKind.allCases)
    func dedupRowsSurviveARestart(_ kind: StoreKind) async throws {
        let fixture = try await kind.fixture()
        defer { fixture.remove() }
        do {
            let store = try await fixture.open()
            #expect(
                try await store.claimDedup(rule: "r", key: "done", owner: a, now: T.t0, leaseUntil: T.at(60))
                    == .acquired)
            try await store.completeDedup(rule: "r", key: "done", owner: a, now: T.at(1), window: .seconds(3600))
            #expect(
                try await store.claimDedup(rule: "r", key: "busy", owner: b, now: T.t0, leaseUntil: T.at(60))
                    == .acquired)
            store.close()
        }
        let store = try await fixture.open()
        #expect(
            try await store.claimDedup(rule: "r", key: "done", owner: c, now: T.at(10), leaseUntil: T.at(70))
                == .recentlySucceeded(until: T.at(3601)))
        #expect(
            try await store.claimDedup(rule: "r", key: "busy", owner: c, now: T.at(10), leaseUntil: T.at(70))
                == .heldByRunningTask(b))
        // The redelivered message of the interrupted task resumes its claim.
        #expect(
            try await store.claimDedup(rule: "r", key: "busy", owner: b, now: T.at(10), leaseUntil: T.at(70))
                == .acquired)
    }
}
