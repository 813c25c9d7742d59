import Foundation
import HoraeRules
import Testing

@testable import HoraeDispatcher

/// The PostgreSQL store's connections killed under it with `pg_terminate_backend`, against the
/// real server: between calls (idle pooled connections) and in the middle of a transaction; and
/// connections cut right after a commit, its answer lost (``AnswerDroppingProxy``). The calls go
/// on, on fresh connections, with nothing lost and nothing written twice.
@Suite("PostgresStateStore: killed connections")
struct PostgresReconnectTests {
    typealias T = StoreTestTime

    /// Terminates every connection the store holds to `database` and waits until they are gone.
    static func terminateConnections(_ server: PostgresServer, _ database: String) async throws {
        let terminated = try await server.psql(
            """
            SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
            WHERE datname = '\(database)' AND application_name = 'horae'
            """, database: "postgres")
        #expect(Int(terminated).map { $0 > 0 } == true)
        try await Polling.waitUntil("the terminated connections are gone", timeout: .seconds(10)) {
            try await server.psql(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = '\(database)' AND application_name = 'horae'",
                database: "postgres") == "0"
        }
    }

    @Test func callsAfterTheirConnectionsWereTerminatedSucceedOnFreshOnes() async throws {
        let server = try await PostgresServer.shared()
        let database = try await server.createDatabase()
        defer { server.dropDatabaseNow(database) }
        let store = try PostgresStateStore(configuration: .init(url: server.url(database: database), maxConnections: 3))
        defer { store.close() }
        // Several connections open at once, so that several are idle in the pool when killed.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<12 {
                group.addTask {
                    try await store.save(
                        TaskRecord(key: TaskKey(messageID: "m\(index)", rule: "r"), state: .running, createdAt: T.t0))
                }
            }
            try await group.waitForAll()
        }

        for round in 0..<3 {
            try await Self.terminateConnections(server, database)
            let key = TaskKey(messageID: "m\(round)", rule: "r")
            var record = try #require(try await store.task(key))
            record.state = .succeeded
            record.updatedAt = T.at(Double(round + 1))
            try await store.save(record, replacing: .running, transitionDetail: "done", dedup: nil)
            let claim = try await store.claimDedup(
                rule: "r", key: "k\(round)", owner: key, now: T.t0, leaseUntil: T.at(60))
            #expect(claim == .acquired)
            #expect(try await store.claimTick(rule: "tick", tick: T.at(Double(round))))
        }
        // Many calls at once over connections that were all killed.
        try await Self.terminateConnections(server, database)
        let found = try await withThrowingTaskGroup(of: Bool.self) { group in
            for index in 0..<12 {
                group.addTask { try await store.task(TaskKey(messageID: "m\(index)", rule: "r")) != nil }
            }
            return try await group.reduce(into: 0) { $0 += $1 ? 1 : 0 }
        }
        #expect(found == 12)
        for round in 0..<3 {
            let changes = try await store.transitions(of: TaskKey(messageID: "m\(round)", rule: "r")).map(\.to)
            #expect(changes == [.running, .succeeded])
        }
        #expect(store.availabilityProblem == nil)
        #expect(try await store.checkIntegrity().isEmpty)
    }

    /// A save waits for a row lock inside its transaction when its connection is terminated:
    /// the transaction did not commit, so the save runs again on a fresh connection, once. The
    /// lock's holder is then terminated too, which lets the save through.
    @Test func aTransactionWhoseConnectionIsTerminatedMidwayIsRunAgain() async throws {
        let server = try await PostgresServer.shared()
        let database = try await server.createDatabase()
        defer { server.dropDatabaseNow(database) }
        let store = try PostgresStateStore(configuration: .init(url: server.url(database: database), maxConnections: 2))
        defer { store.close() }
        let key = TaskKey(messageID: "m", rule: "r")
        var record = TaskRecord(key: key, state: .running, attempt: 1, createdAt: T.t0)
        try await store.save(record)
        _ = try await store.claimDedup(rule: "r", key: "k", owner: key, now: T.t0, leaseUntil: T.at(60))

        // Another session holds the task's row until it is terminated below.
        let locker = Task {
            try await server.psql(
                "BEGIN; SELECT 1 FROM tasks FOR UPDATE; SELECT pg_sleep(120); COMMIT;", database: database)
        }
        let lockerQuery = """
            FROM pg_stat_activity WHERE datname = '\(database)' AND query LIKE '%pg_sleep(120)%'
                AND pid <> pg_backend_pid()
            """
        try await Polling.waitUntil("the row is locked", timeout: .seconds(30)) {
            try await server.psql("SELECT count(*) \(lockerQuery)", database: "postgres") == "1"
        }
        record.state = .succeeded
        record.updatedAt = T.at(5)
        let finished = record
        let saving = Task {
            try await store.save(
                finished, replacing: .running, transitionDetail: "action done",
                dedup: .complete(rule: "r", key: "k", window: .seconds(3600)))
        }
        // The save is inside its transaction, waiting for the row: kill its connection there.
        try await Polling.waitUntil("the save waits for the lock", timeout: .seconds(30)) {
            try await server.psql(
                """
                SELECT count(*) FROM pg_stat_activity
                WHERE datname = '\(database)' AND application_name = 'horae' AND wait_event_type = 'Lock'
                """, database: "postgres") == "1"
        }
        let killed = try await server.psql(
            """
            SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
            WHERE datname = '\(database)' AND application_name = 'horae' AND wait_event_type = 'Lock'
            """, database: "postgres")
        #expect(killed == "1")
        _ = try await server.psql("SELECT pg_terminate_backend(pid) \(lockerQuery)", database: "postgres")
        try await saving.value
        _ = try? await locker.value

        #expect(try await store.task(key)?.state == .succeeded)
        let transitions = try await store.transitions(of: key)
        #expect(transitions.map(\.to) == [.running, .succeeded])
        #expect(transitions.last?.detail == "action done")
        #expect(try await store.dedupEntry(rule: "r", key: "k")?.status == "succeeded")
        #expect(store.availabilityProblem == nil)
    }

    /// A call made while the server is down waits for it, within the reconnection patience,
    /// and then does its work once.
    @Test func aCallWaitsForAServerThatComesBackWithinThePatience() async throws {
        let directory = TemporaryStoreDirectory()
        defer { directory.remove() }
        let server = try await PostgresServer.start(dataDirectory: directory.path)
        defer { server.stop() }
        let url = PostgresURL(
            user: "postgres", host: server.host, port: server.port, database: "postgres", sslMode: .disable)
        let store = try PostgresStateStore(configuration: .init(url: url, reconnectPatience: .seconds(30)))
        defer { store.close() }
        let key = TaskKey(messageID: "m", rule: "r")
        try await store.save(TaskRecord(key: key, state: .running, attempt: 1, createdAt: T.t0))

        server.stop()
        let claiming = Task { try await store.claimTick(rule: "hourly", tick: T.t0) }
        try await Polling.waitUntil("the store finds the server gone", timeout: .seconds(10)) {
            store.availabilityProblem != nil
        }
        try await server.restart()
        #expect(try await claiming.value)
        #expect(store.availabilityProblem == nil)
        #expect(try await store.claimTick(rule: "hourly", tick: T.t0) == false)
        #expect(try await store.task(key)?.state == .running)
    }

    /// A store on `database` of the shared server, through a proxy that can lose an answer.
    static func storeBehindProxy(_ server: PostgresServer, _ database: String) throws
        -> (PostgresStateStore, AnswerDroppingProxy)
    {
        let proxy = try AnswerDroppingProxy(targetPort: server.port)
        let url = PostgresURL(
            user: "postgres", host: "127.0.0.1", port: proxy.port, database: database, sslMode: .disable)
        return (try PostgresStateStore(configuration: .init(url: url, maxConnections: 2)), proxy)
    }

    /// A save that committed but whose answer was lost runs again, finds its own commit, and
    /// records its transition once: the one-statement save of a task in the state it expects,
    /// then the transaction of the save that does not know the stored state.
    @Test func aSaveWhoseCommitAnswerWasLostIsRecordedOnce() async throws {
        let server = try await PostgresServer.shared()
        let database = try await server.createDatabase()
        defer { server.dropDatabaseNow(database) }
        let (store, proxy) = try Self.storeBehindProxy(server, database)
        defer {
            store.close()
            proxy.stop()
        }
        let key = TaskKey(messageID: "m", rule: "r")
        var record = TaskRecord(key: key, state: .running, attempt: 1, createdAt: T.t0)
        try await store.save(record)
        _ = try await store.claimDedup(rule: "r", key: "k", owner: key, now: T.t0, leaseUntil: T.at(60))

        record.state = .succeeded
        record.updatedAt = T.at(5)
        proxy.dropAnswer(to: "WITH written")
        try await store.save(
            record, replacing: .running, transitionDetail: "action done",
            dedup: .complete(rule: "r", key: "k", window: .seconds(3600)))
        #expect(proxy.droppedAnswers == 1)
        let transitions = try await store.transitions(of: key)
        #expect(transitions.map(\.to) == [.running, .succeeded])
        #expect(try await store.dedupEntry(rule: "r", key: "k")?.status == "succeeded")

        // The same through the save that does not know the stored state.
        record.nextAction = 1
        record.updatedAt = T.at(6)
        proxy.dropAnswer(to: "COMMIT")
        try await store.save(record, transitionDetail: "step", dedup: nil)
        #expect(proxy.droppedAnswers == 2)
        #expect(try await store.transitions(of: key).count == 3)
        #expect(try await store.task(key)?.nextAction == 1)
    }

    /// A task inserted by a statement whose answer was lost (the insert is one statement, which
    /// commits on its own) is still this call's: nil, as if the answer had come, and one transition.
    @Test func anInsertWhoseCommitAnswerWasLostAnswersAsIfItHadCome() async throws {
        let server = try await PostgresServer.shared()
        let database = try await server.createDatabase()
        defer { server.dropDatabaseNow(database) }
        let (store, proxy) = try Self.storeBehindProxy(server, database)
        defer {
            store.close()
            proxy.stop()
        }
        let key = TaskKey(messageID: "m", rule: "r")
        let record = TaskRecord(key: key, state: .running, attempt: 1, createdAt: T.t0)
        proxy.dropAnswer(to: "WITH written")
        let stored = try await store.insertIfAbsent(record, transitionDetail: "attempt 1")
        #expect(stored == nil)
        #expect(proxy.droppedAnswers == 1)
        #expect(try await store.transitions(of: key).count == 1)
        // Another caller still finds it there.
        #expect(try await store.insertIfAbsent(record, transitionDetail: "attempt 1")?.state == .running)
    }

    /// A schedule tick claimed by a statement whose answer was lost is still this caller's, and
    /// nobody else's: the tick is neither lost nor run twice.
    @Test func aTickClaimWhoseAnswerWasLostIsStillTheClaimersAlone() async throws {
        let server = try await PostgresServer.shared()
        let database = try await server.createDatabase()
        defer { server.dropDatabaseNow(database) }
        let (store, proxy) = try Self.storeBehindProxy(server, database)
        defer {
            store.close()
            proxy.stop()
        }
        proxy.dropAnswer(to: "INSERT INTO schedule_ticks")
        #expect(try await store.claimTick(rule: "hourly", tick: T.t0))
        #expect(proxy.droppedAnswers == 1)
        #expect(try await store.claimTick(rule: "hourly", tick: T.t0) == false)
        #expect(try await store.lastTick(rule: "hourly") == T.t0)
    }

    /// A call that is not written to be repeated, whose commit's answer was lost, is not run
    /// again: it fails as unavailable, saying that it may have committed (and here it did).
    @Test func anUnrepeatableCallWhoseCommitAnswerWasLostFailsSayingSo() async throws {
        let server = try await PostgresServer.shared()
        let database = try await server.createDatabase()
        defer { server.dropDatabaseNow(database) }
        let (store, proxy) = try Self.storeBehindProxy(server, database)
        defer {
            store.close()
            proxy.stop()
        }
        let entry = InboxEntry(
            kind: .retry, subscription: "events", rule: "r", message: PubSubMessage(id: "m"), createdAt: T.t0)
        proxy.dropAnswer(to: "COMMIT")
        let error = await #expect(throws: StateStoreError.self) { try await store.enqueue([entry]) }
        #expect(error?.code == .unavailable)
        #expect(error?.message.contains("whether it did is unknown") == true)
        #expect(try await store.inboxCount() == 1)
        #expect(store.availabilityProblem == nil)
    }
}
