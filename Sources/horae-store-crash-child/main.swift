// Child process for the state store's multi-process tests.
//
//   horae-store-crash-child cycles <directory> <first index>
//     Runs task cycles until killed (SIGKILL) by the test, printing `done <i>` after each
//     cycle's last commit. Even i: claimDedup(k<i>) → save(running) → save(succeeded, dedup:
//     complete 1h). Odd i: claimDedup(k<i>) → save(running) → save(failed, dedup: release).
//     A cycle interrupted by the kill is resumed by the next child, as the dispatcher would: a
//     final record is left alone, otherwise the same owner re-claims its key and carries on.
//
//   horae-store-crash-child race <directory> <count> <start ms since 1970>
//     Claims key r<i> of rule `race` as owner `child/race` at start + 3·i ms, printing
//     `acquired <i>` or `held <i>` for each, then exits: the test claims the same keys on the
//     same schedule from its own process, so that both processes collide on every key.
import Foundation
import HoraeDispatcher

/// Unbuffered, so the parent sees each line as soon as the commit before it returned.
func say(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("horae-store-crash-child: \(message)\n".utf8))
    exit(2)
}

func runCycles(_ store: SQLiteStateStore, from first: Int) async throws {
    var index = first
    while true {
        let owner = TaskKey(messageID: "m\(index)", rule: "crash")
        let key = "k\(index)"
        let now = Date()
        let existing = try await store.task(owner)
        if let existing, existing.state.isFinal {
            // The previous child finished this cycle but was killed before it could say so.
            say("done \(index)")
            index += 1
            continue
        }
        let claim = try await store.claimDedup(
            rule: "crash", key: key, owner: owner, now: now, leaseUntil: now.addingTimeInterval(600))
        guard claim == .acquired else { fail("unexpected claim \(claim) for \(owner)") }
        var record =
            existing ?? TaskRecord(key: owner, state: .running, attempt: 1, dedupKey: key, createdAt: now)
        record.state = .running
        record.updatedAt = Date()
        record.output = String(repeating: "o", count: index % 7 * 300)
        try await store.save(record, transitionDetail: "attempt \(record.attempt)")
        record.updatedAt = Date()
        if index.isMultiple(of: 2) {
            record.state = .succeeded
            record.nextAction = 3
            try await store.save(
                record, transitionDetail: nil, dedup: .complete(rule: "crash", key: key, window: .seconds(3600)))
        } else {
            record.state = .failed
            record.lastError = "permanent failure \(index)"
            try await store.save(record, transitionDetail: "gave up", dedup: .release(rule: "crash", key: key))
        }
        say("done \(index)")
        index += 1
    }
}

func race(_ store: SQLiteStateStore, count: Int, start: Int64) async throws {
    let owner = TaskKey(messageID: "child", rule: "race")
    for index in 0..<count {
        let due = Double(start + 3 * Int64(index)) / 1000
        let wait = due - Date().timeIntervalSince1970
        if wait > 0 { usleep(UInt32(wait * 1_000_000)) }
        let now = Date()
        let claim = try await store.claimDedup(
            rule: "race", key: "r\(index)", owner: owner, now: now, leaseUntil: now.addingTimeInterval(600))
        say(claim == .acquired ? "acquired \(index)" : "held \(index)")
    }
}

let arguments = CommandLine.arguments
guard arguments.count >= 4, let number = Int(arguments[3]) else {
    fail("usage: horae-store-crash-child cycles <directory> <first> | race <directory> <count> <start ms>")
}
let store = try SQLiteStateStore(directory: arguments[2])
say("ready")
switch arguments[1] {
case "cycles": try await runCycles(store, from: number)
case "race":
    guard arguments.count == 5, let start = Int64(arguments[4]) else { fail("race needs a start time") }
    try await race(store, count: number, start: start)
default: fail("unknown mode \(arguments[1])")
}
