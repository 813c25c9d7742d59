import Foundation
import Testing

@testable import HoraeDispatcher

/// `kill -9` at arbitrary instants, then reopen: the file is sound and holds exactly the
/// committed transactions.
@Suite("SQLiteStateStore: crash safety", .serialized)
struct SQLiteStateStoreCrashTests {
    /// A `python3` whose `sqlite3` module works, to play a foreign writer killed mid-transaction.
    static let python: String? = {
        guard let python = StoreTestHelpers.executableOnPath("python3") else { return nil }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-c", "import sqlite3"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return nil }
        process.waitUntilExit()
        return process.terminationStatus == 0 ? python : nil
    }()

    /// Kills the store's own writer (claim → save → save+settle cycles) at random instants, four
    /// times, each next child resuming where the last one died; checks integrity and that every
    /// task is in a state its committed history explains, with its dedup key settled atomically.
    @Test func storeWriterKilledAtRandomInstants() async throws {
        let child = try StoreTestHelpers.requireChild()
        let directory = TemporaryStoreDirectory()
        defer { directory.remove() }
        // A store kept open by "another daemon" through all the crashes.
        let witness = try directory.open()
        var next = 0
        var generator = SystemRandomNumberGenerator()

        for round in 0..<4 {
            let process = try StoreTestChildProcess(
                executable: child, arguments: ["cycles", directory.path, String(next)])
            #expect(process.waitForLine { $0 == "ready" } != nil)
            // Let it run a random number of cycles, then kill it at a random instant.
            let cycles = Int.random(in: 5...40, using: &generator)
            var lastDone = next - 1
            for _ in 0..<cycles {
                guard let line = process.waitForLine(where: { $0.hasPrefix("done ") }) else { break }
                lastDone = Int(line.dropFirst(5)) ?? lastDone
            }
            usleep(UInt32.random(in: 0...3_000, using: &generator))
            process.kill9()
            #expect(process.terminationReason == .uncaughtSignal, "round \(round)")
            for line in process.remainingLines() where line.hasPrefix("done ") {
                lastDone = Int(line.dropFirst(5)) ?? lastDone
            }
            try #require(lastDone >= next, "round \(round): the child made no progress")

            try await Self.checkConsistency(witness, through: lastDone, round: round)
            let reopened = try directory.open()
            #expect(try await reopened.checkIntegrity() == [])
            try await Self.checkConsistency(reopened, through: lastDone, round: round)
            reopened.close()
            next = lastDone + 1  // the next child resumes the cycle that was interrupted, if any
        }
    }

    private static func checkConsistency(_ store: SQLiteStateStore, through lastDone: Int, round: Int) async throws {
        let records = try await store.recentTasks(limit: 100_000)
        let byIndex = Dictionary(uniqueKeysWithValues: records.map { (Int($0.key.messageID.dropFirst())!, $0) })
        // Everything reported done is final.
        for index in 0...lastDone {
            let record = try #require(byIndex[index], "round \(round): m\(index) lost")
            #expect(record.state == (index.isMultiple(of: 2) ? .succeeded : .failed), "m\(index)")
        }
        // At most one cycle beyond, interrupted at any of its commits.
        #expect(byIndex.keys.filter { $0 > lastDone }.count <= 1, "round \(round)")
        for record in records {
            let key = "k\(record.key.messageID.dropFirst())"
            let entry = try await store.dedupEntry(rule: "crash", key: key)
            let transitions = try await store.transitions(of: record.key)
            // The history is a chain ending in the current state.
            #expect(transitions.first?.from == nil)
            #expect(transitions.last?.to == record.state)
            for (earlier, later) in zip(transitions, transitions.dropFirst()) { #expect(later.from == earlier.to) }
            switch record.state {
            case .succeeded:
                #expect(entry?.status == "succeeded" && entry?.owner == record.key, "\(record.key)")
            case .failed:
                #expect(entry == nil, "\(record.key)")
            case .running:
                #expect(entry?.status == "running" && entry?.owner == record.key, "\(record.key)")
            default:
                Issue.record("unexpected state \(record.state) of \(record.key)")
            }
        }
    }

    /// A foreign writer (Python's sqlite3) commits some transactions, then dies in the middle of a
    /// large one whose pages spilled into the WAL. The store opens the hot WAL, keeps exactly the
    /// committed rows, and keeps working.
    @Test(.enabled(if: python != nil, "python3 with sqlite3 is not available"))
    func foreignWriterKilledInsideATransaction() async throws {
        let python = try #require(Self.python)
        let directory = TemporaryStoreDirectory()
        defer { directory.remove() }
        let setup = try directory.open()
        setup.close()
        let script = """
            import sqlite3, sys, time
            db = sqlite3.connect(sys.argv[1], isolation_level=None)
            db.execute("PRAGMA busy_timeout = 5000")
            for i in range(int(sys.argv[2])):
                db.execute("BEGIN IMMEDIATE")
                db.execute("INSERT INTO tasks (message_id, rule, state, attempt, next_action, created_at, updated_at) "
                           "VALUES (?, 'py', 'succeeded', 1, 1, ?, ?)", (f"c{i}", i, i))
                db.execute("INSERT INTO transitions (message_id, rule, from_state, to_state, at) "
                           "VALUES (?, 'py', NULL, 'succeeded', ?)", (f"c{i}", i))
                db.execute("COMMIT")
            print("committed", flush=True)
            db.execute("PRAGMA cache_size = 8")  # a tiny cache: uncommitted pages spill into the WAL
            db.execute("BEGIN IMMEDIATE")
            for i in range(3000):
                db.execute("INSERT INTO tasks (message_id, rule, state, attempt, next_action, output, "
                           "created_at, updated_at) VALUES (?, 'py', 'running', 1, 0, ?, 0, 0)", (f"u{i}", "x" * 2000))
            print("in-transaction", flush=True)
            time.sleep(60)
            """
        let path = directory.path + "/" + SQLiteStateStore.fileName
        let process = try StoreTestChildProcess(executable: python, arguments: ["-c", script, path, "200"])
        #expect(process.waitForLine { $0 == "committed" } != nil)
        #expect(process.waitForLine { $0 == "in-transaction" } != nil)
        let walSize = (try? FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int) ?? 0
        #expect(walSize > 1_000_000, "the uncommitted transaction should have spilled into the WAL")
        process.kill9()

        let store = try directory.open()
        #expect(try await store.checkIntegrity() == [])
        let committed = try await store.tasks(in: [.succeeded])
        #expect(committed.count == 200)
        #expect(try await store.tasks(in: [.running]).isEmpty)
        #expect(try await store.transitions(of: TaskKey(messageID: "c199", rule: "py")).count == 1)
        // And it writes on.
        let key = TaskKey(messageID: "after", rule: "r")
        try await store.save(TaskRecord(key: key, state: .pending, createdAt: StoreTestTime.t0))
        #expect(try await store.task(key)?.state == .pending)
    }
}
