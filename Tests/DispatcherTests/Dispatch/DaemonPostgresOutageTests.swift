import Foundation
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

    @Test func tasksRunDuringAnOutageFinishOnceAndEveryMessageIsAcked() async throws {
        let directory = TemporaryStoreDirectory()
        defer { directory.remove() }
        let server = try await PostgresServer.start(dataDirectory: directory.path + "/postgres")
        defer { server.stop() }
        let url = PostgresURL(
            user: "postgres", host: server.host, port: server.port, database: "postgres", sslMode: .disable)
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
        try await withDaemon(harness) { h in
            h.start()
            let status = DaemonStatus(daemon: h.daemon)
            for n in 1...4 { try await h.publish(["event": "e\(n)"]) }
            try await h.waitUntil("tasks are running") { h.plugin.calls.count >= 2 }

            server.stop()
            let stopped = ContinuousClock.now
            // Arriving during the outage: four new events, and a second message for two events.
            for n in 5...8 { try await h.publish(["event": "e\(n)"]) }
            try await h.publish(["event": "e1"])
            try await h.publish(["event": "e5"])
            var reason = ""
            try await h.waitUntil("/readyz names the store", timeout: .seconds(10)) {
                guard case .notReady(let why) = await status.readiness() else { return false }
                reason = why
                return true
            }
            let namesTheStore = reason.hasPrefix("state store unavailable: \(url.redacted): ")
            #expect(namesTheStore, "\(reason)")
            #expect(!reason.contains("s3cret-pw"))
            let outage = Duration.seconds(12) - (ContinuousClock.now - stopped)
            if outage > .zero { try await Task.sleep(for: outage) }
            let stillDown = await status.readiness() != .ready
            #expect(stillDown)

            try await server.restart()
            try await h.waitUntil("/readyz is ready again", timeout: .seconds(20)) {
                await status.readiness() == .ready
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
}
