import Foundation
import HoraeTestSupport

@testable import HoraeDispatcher

/// Several `horae run` processes sharing one subscription of the Pub/Sub emulator and one
/// PostgreSQL database (`state: postgres://…`), with one project directory: `horae.yaml`, the
/// rules, and the `record` script their actions run, which appends to ``runLogPath``.
///
/// Rule `fleet` runs `record start/end OBJECT` once per GCS event (dedup on object and
/// generation); rule `tick` runs every second (`* * * * * *`) and appends `tick TIME PID`.
///
/// Where this machine lets the test make network namespaces (``NetworkHosts``), each daemon runs
/// on a host of its own, and the emulator and PostgreSQL (started for this stack) listen on the
/// bridge that joins them, so that every daemon's database and Pub/Sub traffic crosses a network
/// hop; elsewhere all run on loopback, with the shared emulator and server. ``network`` says which.
final class FleetStack: @unchecked Sendable {
    static let hostCount = 3
    let emulator: PubSubEmulator
    let server: PostgresServer
    /// The daemons' hosts; nil on loopback.
    let hosts: NetworkHosts?
    /// Where the daemons run, for the test's report.
    let network: String
    /// The host (index in ``hosts``) each daemon was started on, by pid.
    private var hostOfDaemon: [Int32: Int] = [:]
    let database: String
    let project: String
    let client: PubSubClient
    let directory: String
    var runLogPath: String { directory + "/runs.log" }
    private(set) var daemons: [HoraeProcess] = []
    private var started = 0

    /// `actionSeconds`: how long each event's action sleeps between its start and end lines.
    init(actionSeconds: String) async throws {
        switch NetworkHosts.make(count: Self.hostCount) {
        case .success(let made):
            do {
                emulator = try await PubSubEmulator.start(address: made.gateway)
                server = try await PostgresServer.start(host: made.gateway)
            } catch {
                made.remove()
                throw error
            }
            hosts = made
            network =
                "\(Self.hostCount) network namespaces (\(made.addresses.joined(separator: ", "))), "
                + "the emulator and PostgreSQL across a bridge at \(made.gateway)"
        case .failure(let failure):
            emulator = try await PubSubEmulator.shared()
            server = try await PostgresServer.shared()
            hosts = nil
            network = "loopback (no network namespaces here: \(failure))"
        }
        database = try await server.createDatabase("fleet")
        project = PubSubEmulator.uniqueProject("fleet")
        client = try emulator.client(project: project)
        directory =
            FileManager.default.temporaryDirectory.appendingPathComponent("horae-fleet-\(UUID().uuidString)").path
        do {
            try await writeProject(actionSeconds: actionSeconds)
        } catch {
            remove()
            throw error
        }
    }

    /// The project directory (the `record` script, the rules, `horae.yaml`) and the subscription.
    private func writeProject(actionSeconds: String) async throws {
        try FileManager.default.createDirectory(atPath: directory + "/rules", withIntermediateDirectories: true)
        let record = """
            #!/bin/sh
            # record KIND SUBJECT [SLEEP]: one short line per call, appended (O_APPEND) by the daemon's child.
            printf '%s %s %s\\n' "$1" "$2" "$PPID" >> "\(runLogPath)"
            [ -z "$3" ] && exit 0
            sleep "$3"
            printf 'end %s %s\\n' "$2" "$PPID" >> "\(runLogPath)"
            """
        try record.write(toFile: directory + "/record", atomically: true, encoding: .utf8)
        chmod(directory + "/record", 0o755)
        try """
        rules:
          - name: fleet
            on: { message: { attributes: { objectId: "fleet/*" } } }
            dedup: { key: "{{ attributes.objectId }}#{{ attributes.objectGeneration }}", window: 1h }
            actions:
              - exec: { command: ["\(directory)/record", start, "{{ attributes.objectId }}", "\(actionSeconds)"] }
          - name: tick
            on: { schedule: { cron: "* * * * * *" } }
            actions:
              - exec: { command: ["\(directory)/record", tick, "{{ schedule.time }}"] }
        """.write(toFile: directory + "/rules/fleet.yaml", atomically: true, encoding: .utf8)
        try """
        project: \(project)
        rules: rules/
        state: \(server.url(database: database).redacted)
        subscriptions:
          events: { name: events-sub, ackDeadline: 10s }
        shutdownGrace: 10s
        http: off
        log: { format: text, level: warning }
        """.write(toFile: directory + "/horae.yaml", atomically: true, encoding: .utf8)
        let topic = try client.topic("events")
        try await client.createTopic(topic)
        var settings = PubSubClient.SubscriptionSettings(topic: topic)
        settings.ackDeadlineSeconds = 10
        try await client.createSubscription(try client.subscription("events-sub"), settings)
    }

    /// Starts one more `horae run` (its output in `horae-N.log` in the directory): on the host
    /// `replacing` ran on (a restart after a kill), else on the next host in turn.
    @discardableResult
    func startDaemon(replacing: HoraeProcess? = nil) throws -> HoraeProcess {
        let host = replacing.flatMap { hostOfDaemon[$0.pid] } ?? started % Self.hostCount
        started += 1
        let daemon = try HoraeExecutable.start(
            ["run", "--config", directory + "/horae.yaml"], in: directory,
            environment: ["PUBSUB_EMULATOR_HOST": emulator.host], logName: "horae-\(started).log",
            launcher: hosts?.launcher(host) ?? [])
        daemons.append(daemon)
        hostOfDaemon[daemon.pid] = host
        return daemon
    }

    /// Publishes `messages` in batches of 500.
    func publish(_ messages: [OutgoingMessage]) async throws {
        let topic = try client.topic("events")
        var start = 0
        while start < messages.count {
            let end = min(messages.count, start + 500)
            _ = try await client.publish(topic, messages: Array(messages[start..<end]))
            start = end
        }
    }

    var runLog: FleetRunLog { FleetRunLog(path: runLogPath) }

    /// `state → count` of rule `rule`'s task records in the shared database.
    func taskStates(rule: String) async throws -> [String: Int] {
        let rows = try await server.psql(
            "SELECT state, count(*) FROM tasks WHERE rule = '\(rule)' GROUP BY state", database: database)
        var states: [String: Int] = [:]
        for row in rows.split(separator: "\n") {
            let fields = row.split(separator: "|")
            if fields.count == 2, let count = Int(fields[1]) { states[String(fields[0])] = count }
        }
        return states
    }

    /// What each daemon logged at warning or worse, for a failing test's message.
    var daemonLogs: String {
        daemons.map { "--- \($0.logPath) (pid \($0.pid)):\n\($0.log.suffix(2000))" }.joined(separator: "\n")
    }

    /// Kills what still runs, drops the database (or stops the stack's own server and
    /// emulator, and deletes its hosts), removes the directory.
    func remove() {
        for daemon in daemons where daemon.isRunning { daemon.signal(SIGKILL) }
        // Gone before their hosts are: a namespace lives on while a process is in it.
        for _ in 0..<50 where daemons.contains(where: \.isRunning) { usleep(100_000) }
        if let hosts {
            server.stop()
            emulator.stop()
            hosts.remove()
        } else {
            server.dropDatabaseNow(database)
        }
        try? FileManager.default.removeItem(atPath: directory)
    }
}
