import Foundation
import Testing

@testable import HoraeDispatcher

/// The PostgreSQL store's pipeline: statements of concurrent calls sent in one round trip and one
/// transaction, against a real server.
@Suite("PostgresPool: pipelined statements")
struct PostgresPipelineTests {
    typealias T = StoreTestTime

    /// What a pipelined statement's call saw, as text.
    static func describe(_ outcome: PostgresPool.PipelineOutcome) -> String {
        switch outcome {
        case .answered(.success, _): "committed"
        case .answered(.failure, _): "failed"
        case .broke(_, let sent): sent ? "unknown" : "not committed"
        }
    }

    /// Holds the pool's only connection for a second while `statements` queue up, so that they
    /// go in one batch; returns each one's outcome, in order.
    static func oneBatch(_ pool: PostgresPool, _ statements: [PostgresConnection.Statement]) async throws -> [String] {
        let hold = Task { try await pool.withConnection(operation: "hold") { _ in Thread.sleep(forTimeInterval: 1) } }
        try await Task.sleep(for: .milliseconds(100))
        let outcomes = try await withThrowingTaskGroup(of: (Int, String).self) { group in
            for (index, statement) in statements.enumerated() {
                group.addTask {
                    (index, try await pool.pipelined(operation: "test", statement, then: describe))
                }
            }
            var outcomes = [String](repeating: "", count: statements.count)
            for try await (index, outcome) in group { outcomes[index] = outcome }
            return outcomes
        }
        try await hold.value
        return outcomes
    }

    /// A batch commits together; when one of its statements fails, none of them commits, and
    /// every call is told that nothing of it committed (each then runs on its own).
    @Test func aBatchCommitsWholeOrNotAtAll() async throws {
        let server = try await PostgresServer.shared()
        let database = try await server.createDatabase()
        defer { server.dropDatabaseNow(database) }
        let parameters = PostgresStateStore.connectionParameters(.init(url: server.url(database: database)))
        let pool = PostgresPool(size: 1) { try PostgresConnection(parameters: parameters, location: "test") }
        defer { pool.close() }
        _ = try await pool.withConnection(operation: "setup") { db in
            try db.execute("CREATE TABLE pipelined (x integer PRIMARY KEY)", operation: "setup")
        }
        let inserts = (0..<20).map {
            PostgresConnection.Statement(sql: "INSERT INTO pipelined VALUES ($1)", parameters: [String($0)])
        }
        let failing = PostgresConnection.Statement(sql: "SELECT 1 / $1::integer", parameters: ["0"])

        let spoiled = try await Self.oneBatch(pool, inserts + [failing])
        #expect(spoiled == [String](repeating: "not committed", count: 21))
        #expect(try await server.psql("SELECT count(*) FROM pipelined", database: database) == "0")

        let whole = try await Self.oneBatch(pool, inserts)
        #expect(whole == [String](repeating: "committed", count: 20))
        #expect(try await server.psql("SELECT count(*) FROM pipelined", database: database) == "20")

        // Alone, a failing statement gets its own error.
        #expect(try await Self.oneBatch(pool, [failing]) == ["failed"])
    }

    /// Hundreds of concurrent calls, most of them pipelined together: each gets its own answer —
    /// a new task or the stored one, one claim of each dedup key acquired and the others told
    /// who holds it.
    @Test func concurrentCallsEachGetTheirOwnAnswer() async throws {
        let server = try await PostgresServer.shared()
        let database = try await server.createDatabase()
        defer { server.dropDatabaseNow(database) }
        let store = try PostgresStateStore(configuration: .init(url: server.url(database: database)))
        defer { store.close() }
        let keys = (0..<200).map { TaskKey(messageID: "\($0)", rule: "r") }
        let claims = try await withThrowingTaskGroup(of: DedupClaim.self) { group in
            for key in keys {
                group.addTask {
                    let record = TaskRecord(key: key, state: .running, attempt: 1, createdAt: T.t0)
                    #expect(try await store.insertIfAbsent(record, transitionDetail: "attempt 1") == nil)
                    #expect(try await store.insertIfAbsent(record, transitionDetail: "attempt 1")?.attempt == 1)
                    return try await store.claimDedup(
                        rule: "r", key: "k\(Int(key.messageID)! % 8)", owner: key, now: T.t0,
                        leaseUntil: T.at(60))
                }
            }
            return try await group.reduce(into: [DedupClaim]()) { $0.append($1) }
        }
        #expect(claims.filter { $0 == .acquired }.count == 8)
        #expect(claims.count == 200)
        for key in keys { #expect(try await store.task(key)?.state == .running) }
        #expect(try await store.checkIntegrity().isEmpty)
    }
}
