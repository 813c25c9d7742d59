import Foundation
import Testing

@testable import HoraeDispatcher

/// Concurrent writes that queue up behind a busy worker share one transaction (``SQLiteWorker``).
@Suite("SQLiteStateStore: group commit")
struct SQLiteStateStoreGroupCommitTests {
    typealias T = StoreTestTime

    /// Holds a store's worker busy until released, so that the calls made meanwhile form one batch.
    struct WorkerGate: Sendable {
        private let started = DispatchSemaphore(value: 0)
        private let released = DispatchSemaphore(value: 0)

        /// The blocking call: add it to the task group first.
        func hold(_ store: SQLiteStateStore) async throws {
            try await store.perform("hold") { _ in
                started.signal()
                released.wait()
            }
        }

        func waitUntilHeld() async { await wait { started.wait(timeout: .now()) == .success } }

        func release() { released.signal() }
    }

    @Test func aFailingWriteInABatchIsRolledBackAlone() async throws {
        let directory = TemporaryStoreDirectory()
        defer { directory.remove() }
        let store = try directory.open()
        struct Injected: Error {}

        let failures = try await withThrowingTaskGroup(of: Bool.self) { group in
            let gate = WorkerGate()
            group.addTask {
                try await gate.hold(store)
                return false
            }
            await gate.waitUntilHeld()
            for index in 0..<60 {
                group.addTask {
                    if index == 30 {
                        do {
                            try await store.perform("inject", writes: true) { db in
                                try db.transaction(.immediate, operation: "inject") {
                                    try db.run(
                                        "INSERT INTO schedule_ticks (rule, tick, claimed_at) VALUES ('boom', 1, 1)",
                                        operation: "inject")
                                    throw Injected()
                                }
                            }
                        } catch is Injected {
                            return true
                        }
                        Issue.record("the injected failure did not surface")
                        return false
                    }
                    let key = TaskKey(messageID: "m\(index)", rule: "r")
                    try await store.save(TaskRecord(key: key, state: .running, createdAt: T.t0))
                    _ = try await store.claimTick(rule: "tick", tick: T.at(Double(index)))
                    return false
                }
            }
            await wait { store.worker.queuedOperations == 60 }
            gate.release()
            return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(failures == 1)
        #expect(store.worker.groupCommits.load(ordering: .relaxed) >= 1)
        #expect(store.worker.groupCommittedOperations.load(ordering: .relaxed) >= 30)
        #expect(try await store.recentTasks(limit: 100).count == 59)
        #expect(try await store.lastTick(rule: "boom") == nil)
        #expect(try await store.lastTick(rule: "tick") == T.at(59))
        // Nothing is left open: a later write commits on its own.
        try await store.save(TaskRecord(key: TaskKey(messageID: "after", rule: "r"), state: .pending, createdAt: T.t0))
        let other = try directory.open()
        #expect(try await other.task(TaskKey(messageID: "after", rule: "r")) != nil)
    }

    @Test func savesOfOneTaskInOneBatchKeepAConsistentHistory() async throws {
        let directory = TemporaryStoreDirectory()
        defer { directory.remove() }
        let store = try directory.open()
        let key = TaskKey(messageID: "m", rule: "r")
        let states: [TaskState] = [.pending, .running, .waiting, .running, .succeeded, .running, .failed]
        try await withThrowingTaskGroup(of: Void.self) { group in
            let gate = WorkerGate()
            group.addTask { try await gate.hold(store) }
            await gate.waitUntilHeld()
            for (offset, state) in states.enumerated() {
                group.addTask {
                    try await store.save(
                        TaskRecord(key: key, state: state, createdAt: T.t0, updatedAt: T.at(Double(offset))))
                }
            }
            await wait { store.worker.queuedOperations == states.count }
            gate.release()
            try await group.waitForAll()
        }
        #expect(store.worker.groupCommits.load(ordering: .relaxed) >= 1)
        let history = try await store.transitions(of: key)
        #expect(history.first?.from == nil)
        for (earlier, later) in zip(history, history.dropFirst()) { #expect(later.from == earlier.to) }
        #expect(history.last?.to == (try await store.task(key))?.state)
    }

    @Test func closingFailsTheQueuedCalls() async throws {
        let directory = TemporaryStoreDirectory()
        defer { directory.remove() }
        let store = try directory.open()
        let gate = WorkerGate()
        let results = try await withThrowingTaskGroup(of: StateStoreError.Code?.self) { group in
            group.addTask {
                try await gate.hold(store)
                return nil
            }
            await gate.waitUntilHeld()
            for index in 0..<5 {
                group.addTask {
                    do {
                        let key = TaskKey(messageID: "m\(index)", rule: "r")
                        try await store.save(TaskRecord(key: key, state: .pending, createdAt: T.t0))
                        return nil
                    } catch let error as StateStoreError {
                        return error.code
                    }
                }
            }
            await wait { store.worker.queuedOperations == 5 }
            // close() marks the store closed at once, then waits for the call in progress.
            DispatchQueue.global().async { store.close() }
            await wait { store.worker.isClosing }
            gate.release()
            return try await group.reduce(into: [StateStoreError.Code?]()) { $0.append($1) }
        }
        #expect(results.compactMap { $0 } == Array(repeating: .closed, count: 5))
        #expect(results.count == 6)
    }

}

/// Polls `condition` every millisecond, for up to 10 s.
private func wait(for condition: @Sendable () -> Bool) async {
    for _ in 0..<10_000 {
        if condition() { return }
        try? await Task.sleep(for: .milliseconds(1))
    }
    Issue.record("condition not met within 10 s")
}
