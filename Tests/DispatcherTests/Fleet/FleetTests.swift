import Foundation
import HoraeTestSupport
import Testing

@testable import HoraeDispatcher

/// Three `horae run` processes on one subscription of the Pub/Sub emulator and one PostgreSQL
/// database: every GCS event runs once across the fleet though each is delivered four times, one
/// daemon killed with -9 mid-run loses nothing, and a one-second schedule runs each tick once.
///
/// Each daemon runs on a host of its own where the machine allows network namespaces (``NetworkHosts``:
/// the daemons' Pub/Sub and database traffic then crosses a network hop), and on loopback
/// otherwise; the report's first words say which.
///
/// The schedule is checked over the fleet's whole run: the events' 30–60 s, and at least a minute.
@Suite(.serialized, .enabled(if: HoraeExecutable.path != nil, "the horae executable is not built"))
struct FleetTests {
    static let events = 500
    static let copies = 4

    @Test func threeDaemonsRunEachEventOnceThroughAKillAndEachTickOnce() async throws {
        let stack = try await FleetStack(actionSeconds: "0.3")
        defer { stack.remove() }
        for _ in 0..<3 { try stack.startDaemon() }
        let fleetStarted = Date()

        // Each event as four messages (different ids, same attributes), the copies spread through the stream.
        var messages: [OutgoingMessage] = []
        for event in 0..<Self.events {
            let attributes = [
                "bucketId": "fleet-bucket", "objectId": "fleet/obj-\(event).tar.gz", "objectGeneration": "1",
                "eventType": "OBJECT_FINALIZE",
            ]
            for _ in 0..<Self.copies { messages.append(OutgoingMessage(attributes: attributes)) }
        }
        try await stack.publish(messages.shuffled())

        // Kill -9 the daemon with the most actions in flight once a third of the events started.
        try await Polling.waitUntil("a third of the events started", timeout: .seconds(90)) {
            stack.runLog.grouped("start").count >= Self.events / 3
        }
        let atKill = stack.runLog
        let victim = try #require(
            stack.daemons.first { $0.pid == atKill.busiestDaemons().first?.daemon } ?? stack.daemons.first)
        victim.signal(SIGKILL)
        let killedStatus = await victim.waitForExit(timeout: .seconds(10))
        #expect(killedStatus != nil)
        // What it had started and not finished: its actions died with it (their children are killed).
        let afterKill = stack.runLog
        let interrupted = afterKill.unfinished(on: victim.pid)
        let endedOnVictim = Set(afterKill.lines.filter { $0.kind == "end" && $0.daemon == victim.pid }.map(\.subject))
        try stack.startDaemon(replacing: victim)

        try await Polling.waitUntil("every event ran and every message is recorded", timeout: .seconds(150)) {
            let ended = stack.runLog.grouped("end").count
            guard ended == Self.events else { return false }
            let states = try await stack.taskStates(rule: "fleet")
            return states.values.reduce(0, +) == Self.events * Self.copies
                && states.keys.allSatisfy { ["succeeded", "duplicate"].contains($0) }
        }
        let eventsSeconds = Int(Date().timeIntervalSince(fleetStarted))
        // The one-second schedule runs for at least a minute of the fleet's life.
        let minute = fleetStarted.addingTimeInterval(60).timeIntervalSinceNow
        if minute > 0 { try await Task.sleep(for: .seconds(minute)) }
        let fleetEnded = Date()
        for daemon in stack.daemons where daemon.isRunning { daemon.signal(SIGTERM) }
        var exits: [Int32?] = []
        for daemon in stack.daemons where daemon.pid != victim.pid { exits.append(await daemon.waitForExit()) }

        // Every event's action ran once, but for those the killed daemon had started (at least once).
        let log = stack.runLog
        let starts = log.grouped("start")
        let ends = log.grouped("end")
        let daemonPIDs = Set(stack.daemons.map(\.pid))
        let strangers = Set(log.lines.map(\.daemon)).subtracting(daemonPIDs)
        #expect(strangers.isEmpty, "actions run by processes that are not the fleet's daemons: \(strangers)")
        #expect(starts.count == Self.events)
        #expect(ends.count == Self.events)
        let runTwice = starts.filter { $0.value.count > 1 }
        let runTwiceUnexplained = runTwice.filter { event, runs in
            // All runs but one must be the killed daemon's.
            runs.filter { $0.daemon != victim.pid }.count > 1
        }
        #expect(runTwiceUnexplained.isEmpty, "events run twice not because of the kill: \(runTwiceUnexplained)")
        let endedTwice = ends.filter { $0.value.count > 1 && $0.value.contains { $0.daemon != victim.pid } }
        let endedTwiceByOthers = endedTwice.filter { $0.value.filter { $0.daemon != victim.pid }.count > 1 }
        #expect(endedTwiceByOthers.isEmpty)
        // Its claimed-but-unfinished tasks were resumed by whichever daemon got the redelivery.
        let resumedBy = interrupted.map { event in ends[event]?.first { $0.daemon != victim.pid }?.daemon }
        #expect(resumedBy.allSatisfy { $0 != nil }, "interrupted events that no other daemon finished")
        let resumers = Set(resumedBy.compactMap { $0 })
        // Of the events run again: those whose action was in flight at the kill, and those whose
        // action had ended on the killed daemon before its progress reached the store.
        let rerunInFlight = runTwice.keys.filter { interrupted.contains($0) }.count
        let rerunUnsaved = runTwice.keys.filter { endedOnVictim.contains($0) }.count

        // One task succeeded per event, the other three messages of each are duplicates.
        let states = try await stack.taskStates(rule: "fleet")
        #expect(states == ["succeeded": Self.events, "duplicate": Self.events * (Self.copies - 1)])
        let keys = try await stack.server.psql(
            "SELECT count(DISTINCT dedup_key) FROM tasks WHERE rule = 'fleet' AND state = 'succeeded'",
            database: stack.database)
        #expect(keys == String(Self.events))
        #expect(exits.allSatisfy { $0 == 0 }, "exit statuses after SIGTERM: \(exits)")

        // Each tick ran once across the fleet (at least once for one the killed daemon had started).
        let ticks = log.grouped("tick")
        let ticksTwice = ticks.filter { $0.value.count > 1 }
        let restarted = stack.daemons.last?.pid
        let ticksTwiceUnexplained = ticksTwice.filter { tick, runs in
            runs.filter { $0.daemon != victim.pid && $0.daemon != restarted }.count > 1
        }
        #expect(ticksTwiceUnexplained.isEmpty, "ticks run twice: \(ticksTwiceUnexplained)")
        // A daemon that starts resumes the unfinished schedule tasks it finds in the store; the run
        // lease keeps it off a tick another live daemon is running. Only a tick the killed daemon
        // had started may run again (at least once).
        let ticksRerunAtRestart = ticksTwice.filter { tick, runs in
            runs.filter { $0.daemon != victim.pid }.count > 1
        }
        #expect(ticksRerunAtRestart.isEmpty, "ticks run twice by live daemons: \(ticksRerunAtRestart)")
        let seconds = Int(fleetEnded.timeIntervalSince(fleetStarted))
        let tickDaemons = Set(ticks.values.flatMap { $0.map(\.daemon) })
        // Ticks are claimed by whichever daemon gets there first; most seconds have one. (A late
        // tick is not made up for, and the whole machine is busy: a few may be missed.)
        #expect(ticks.count >= seconds / 2, "\(ticks.count) ticks in \(seconds) s")

        let perDaemon = Dictionary(grouping: log.lines.filter { $0.kind == "start" }, by: \.daemon)
            .map { "\($0.key): \($0.value.count)" }.sorted().joined(separator: ", ")
        print(
            """
            fleet on \(stack.network): \
            \(Self.events) events × \(Self.copies) messages over 3 daemons in \(eventsSeconds) s; \
            action starts per daemon pid \(perDaemon); killed pid \(victim.pid) with \
            \(atKill.grouped("start").count) events started, \(interrupted.count) of its actions in flight; \
            events run more than once (at-least-once after the kill): \(runTwice.count), all first started \
            by the killed daemon: \(rerunInFlight) in flight at the kill, \(rerunUnsaved) ended before it \
            with their progress not yet in the store; \
            interrupted events finished by pids \(resumers.sorted()); task states \(states); \
            ticks: \(ticks.count) distinct in \(seconds) s by \(tickDaemons.count) daemons, \
            \(ticksTwice.count) run twice (\(ticksRerunAtRestart.count) by the restarted daemon resuming a tick \
            another daemon was running)
            """)
        if !runTwiceUnexplained.isEmpty || ends.count != Self.events { print(stack.daemonLogs) }
    }
}
