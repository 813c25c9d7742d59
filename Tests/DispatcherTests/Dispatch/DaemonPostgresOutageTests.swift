import Foundation
import HoraeRules
import Logging
import Testing

@testable import HoraeDispatcher

/// A daemon on a PostgreSQL store whose server goes away for 12 s while its tasks run and
/// messages keep arriving (docs/daemon.md, "When PostgreSQL goes away"). The outage is longer
/// than the store's reconnection patience (10 s), so that store calls do fail and the daemon's
/// own handling is what keeps every event: tasks hold the progress of actions that ran until it
/// is saved, tasks that cannot take their claim give their message back, pulling pauses, and
/// `/readyz` names the store. The server is a dedicated one: the shared one is not stopped.
@Suite(.serialized) struct DaemonPostgresOutageTests {
    /// Two actions of 1 s each per event; one event runs once whatever message brings it.
    static let rule = """
        rules:
          - name: ingest
            on: { message: { attributes: { event: { exists: true } } } }
            dedup: { key: "{{ attributes.event }}", window: 1h }
            actions:
              - log: { message: "fetch {{ attributes.event }}" }
              - log: { message: "load {{ attributes.event }}" }
        """

    /// `/readyz` of a status server on `port`: its status and body.
    static func readyz(_ client: CurlHTTPClient, port: Int) async throws -> (status: Int, body: String) {
        let response = try await client.send(
            HTTPRequest(method: "GET", url: "http://127.0.0.1:\(port)/readyz", timeout: .seconds(10)))
        return (response.status, String(decoding: response.body, as: UTF8.self))
    }

    /// A status server answering for `daemon`, as `horae run` starts one; its port once it listens.
    static func serveStatus(of daemon: Daemon) async throws -> (port: Int, serving: Task<Void, any Error>) {
        let (addresses, bound) = AsyncStream.makeStream(of: StatusServer.Address.self)
        let server = try StatusServer(
            address: "127.0.0.1:0", metrics: DaemonMetrics(), source: DaemonStatus(daemon: daemon),
            logger: Logger(label: "status-test") { _ in SwiftLogNoOpLogHandler() },
            onRunning: { bound.yield($0) })
        let serving = Task { try await server.run() }
        var iterator = addresses.makeAsyncIterator()
        guard let address = await iterator.next() else { throw CancellationError() }
        return (address.port, serving)
    }

    @Test func tasksRunDuringAnOutageFinishOnceAndEveryMessageIsAcked() async throws {
        let directory = TemporaryStoreDirectory()
        defer { directory.remove() }
        let server = try await PostgresServer.start(dataDirectory: directory.path + "/postgres")
        defer { server.stop() }
        let url = server.url(database: "postgres")
        // The test server trusts loopback logins: the password is only there to be kept out of sight.
        let passwordFile = directory.path + "/password"
        try FileManager.default.createDirectory(atPath: directory.path, withIntermediateDirectories: true)
        try "s3cret-pw\n".write(toFile: passwordFile, atomically: true, encoding: .utf8)
        var runner = TaskRunner.Configuration()
        runner.dedupWait = Backoff(initial: .seconds(1), maximum: .seconds(2), multiplier: 2)
        runner.storeUnavailableGiveBack = .seconds(2)
        runner.storeRetry = Backoff(initial: .milliseconds(200), maximum: .seconds(1), multiplier: 2)
        let harness = try await DaemonHarness(
            rules: Self.rule,
            script: { _, _ in
                try? await Task.sleep(for: .seconds(1))
                return .success(output: nil)
            }, runner: runner,
            configure: {
                $0.state = url.redacted
                $0.postgres.passwordFile = passwordFile
            })
        let client = try CurlHTTPClient(configuration: .init(maxConnections: 2))
        defer { client.shutdown() }
        try await withDaemon(harness) { h in
            h.start()
            let (port, serving) = try await Self.serveStatus(of: h.daemon)
            defer { serving.cancel() }
            for n in 1...4 { try await h.publish(["event": "e\(n)"]) }
            try await h.waitUntil("tasks are running") { h.plugin.calls.count >= 2 }

            server.stop()
            let stopped = ContinuousClock.now
            // Arriving during the outage: four new events, and a second message for two events.
            for n in 5...8 { try await h.publish(["event": "e\(n)"]) }
            try await h.publish(["event": "e1"])
            try await h.publish(["event": "e5"])
            var answer = (status: 0, body: "")
            try await h.waitUntil("/readyz names the store", timeout: .seconds(10)) {
                answer = try await Self.readyz(client, port: port)
                return answer.status == 503
            }
            let namesTheStore = answer.body.hasPrefix("state store unavailable: \(url.redacted): ")
            #expect(namesTheStore, "\(answer.body)")
            #expect(!answer.body.contains("s3cret-pw"))
            let outage = Duration.seconds(12) - (ContinuousClock.now - stopped)
            if outage > .zero { try await Task.sleep(for: outage) }
            let stillDown = try await Self.readyz(client, port: port).status
            #expect(stillDown == 503)

            try await server.restart()
            try await h.waitUntil("/readyz is ready again", timeout: .seconds(20)) {
                try await Self.readyz(client, port: port).status == 200
            }
            try await h.waitUntil("every event ran and every message was acked", timeout: .seconds(60)) {
                h.metrics["task.succeeded"] == 8 && h.metrics["task.duplicate"] == 2 && h.metrics["acked"] == 10
            }
            let texts = h.plugin.calls.map(\.text).sorted()
            let expected = (1...8).flatMap { ["fetch e\($0)", "load e\($0)"] }.sorted()
            #expect(texts == expected)
            #expect(h.metrics["nacked"] == 0)
            try await Task.sleep(for: .seconds(1))
            #expect(h.metrics["acked"] == 10)
            #expect(h.metrics["task.succeeded"] == 8)
        }
    }

    /// A schedule tick due while the server is away — longer than the store's reconnection
    /// patience, so the claim fails — is claimed once the server is back, and runs once, late,
    /// instead of being lost.
    @Test func aTickDueDuringAnOutageRunsOnceTheStoreIsBack() async throws {
        let directory = TemporaryStoreDirectory()
        defer { directory.remove() }
        let server = try await PostgresServer.start(dataDirectory: directory.path + "/postgres")
        defer { server.stop() }
        let url = server.url(database: "postgres")
        let harness = try await DaemonHarness(
            rules: """
                rules:
                  - name: every-20s
                    on: { schedule: { cron: "*/20 * * * * *" } }
                    actions:
                      - log: { message: "tick {{ schedule.time }}" }
                """,
            configure: { $0.state = url.redacted })
        try await withDaemon(harness) { h in
            h.start()
            // The next tick at least 3 s away; the server goes 1 s before it and is back 13 s after.
            let now = Date().timeIntervalSince1970
            var tick = (now / 20).rounded(.down) * 20 + 20
            if tick - now < 3 { tick += 20 }
            try await Task.sleep(for: .seconds(tick - 1 - Date().timeIntervalSince1970))
            server.stop()
            try await Task.sleep(for: .seconds(tick + 13 - Date().timeIntervalSince1970))
            try await server.restart()
            let expected = "tick \(ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: tick)))"
            try await h.waitUntil("the tick due during the outage ran", timeout: .seconds(30)) {
                h.plugin.calls.contains { $0.text == expected }
            }
            try await Task.sleep(for: .seconds(1))
            let runs = h.plugin.calls.filter { $0.text == expected }.count
            #expect(runs == 1)
        }
    }
}
