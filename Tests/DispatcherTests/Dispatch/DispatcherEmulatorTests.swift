import Foundation
import HoraeRules
import Synchronization
import Testing

@testable import HoraeDispatcher

/// The dispatcher against the real Pub/Sub emulator: ack rule, retries, dead-letter, dedup,
/// flow control, unmatched messages and graceful shutdown (docs/daemon.md, "Message path";
/// docs/rules.md, "Dedup, retries and timeouts"), each on both transports (REST pulls and gRPC
/// StreamingPull) where the transport plays a part.
@Suite(.serialized) struct DispatcherEmulatorTests {
    static let transports: [DaemonConfig.Transport] = [.rest, .grpc]

    static let uploadRule = """
        rules:
          - name: upload
            on:
              message:
                attributes:
                  bucketId: "ven-cust-{codename}"
                  objectId: "gocc/{codename2}_gocc_{date:[0-9]{8}}.tar.gz"
            retry: { maxAttempts: 3, initialBackoff: 200ms, maxBackoff: 2s, deadLetter: dead-letters }
            actions:
              - log: { message: "first {{ codename }} {{ date }}" }
              - log: { message: "second {{ attributes.objectId }}" }
        """

    @Test(arguments: Self.transports) func matchedMessagesRunTheirActionsInOrderAndAreAckedForGood(
        transport: DaemonConfig.Transport
    ) async throws {
        try await withDaemon(DaemonHarness(rules: Self.uploadRule, pubSubTransport: transport)) { h in
            h.start()
            try await h.publish(DaemonHarness.gcsEvent(object: "gocc/acme_gocc_20260101.tar.gz"))
            try await h.publish(DaemonHarness.gcsEvent(object: "gocc/acme_gocc_20260102.tar.gz"))
            try await h.publish(DaemonHarness.gcsEvent(object: "other/file.txt"))
            try await h.waitUntil("two tasks succeeded and three messages acked") {
                h.metrics["task.succeeded"] == 2 && h.metrics["acked"] == 3
            }
            let texts = h.plugin.calls.map(\.text).sorted()
            #expect(
                texts == [
                    "first acme 20260101", "first acme 20260102",
                    "second gocc/acme_gocc_20260101.tar.gz", "second gocc/acme_gocc_20260102.tar.gz",
                ])
            #expect(h.metrics["unmatched"] == 1)
            await h.stop()
            // Past the 10 s ack deadline, nothing comes back: the acks reached the emulator.
            try await Task.sleep(for: .seconds(11))
            #expect(try await h.pullDirectly().isEmpty)
        }
    }

    @Test(arguments: Self.transports) func aRetryResumesAtTheFailedActionWithGrowingBackoffCeilings(
        transport: DaemonConfig.Transport
    ) async throws {
        // The second action fails twice, then succeeds.
        try await withDaemon(
            DaemonHarness(
                rules: Self.uploadRule, pubSubTransport: transport,
                script: { invocation, _ in
                    let failures = RetryCounter.shared.next(invocation.actionIndex)
                    return invocation.actionIndex == 1 && failures <= 2 ? .retryable("flaky") : .success(output: "ok")
                })
        ) { h in
            RetryCounter.shared.reset()
            h.start()
            let id = try await h.publish(DaemonHarness.gcsEvent(object: "gocc/acme_gocc_20260101.tar.gz"))
            try await h.waitUntil("the task succeeded") { h.metrics["task.succeeded"] == 1 && h.metrics["acked"] == 1 }
            let calls = h.plugin.calls
            let first = calls.filter { $0.text.hasPrefix("first") }
            let second = calls.filter { $0.text.hasPrefix("second") }
            // The first action ran once; the second three times, on attempts 1, 2, 3.
            #expect(first.count == 1)
            #expect(second.map(\.attempt) == [1, 2, 3])
            let record = try #require(try await h.daemon.store.task(TaskKey(messageID: id, rule: "upload")))
            #expect(record.state == .succeeded)
            #expect(record.attempt == 3)
            let history = try await h.daemon.store.transitions(of: record.key)
            let transitions = history.filter { $0.from != $0.to }.map(\.to)
            #expect(transitions == [.running, .waiting, .running, .waiting, .running, .succeeded])
            // The first action's end is a step of attempt 1, with its duration.
            #expect(history[1].detail?.hasPrefix("action log#1 succeeded (") == true)
            // Full jitter: each delay lies under its ceiling (200 ms, then 400 ms), which grows.
            let backoff = Backoff(initial: .milliseconds(200), maximum: .seconds(2), multiplier: 2)
            #expect(backoff.ceiling(afterFailures: 2) > backoff.ceiling(afterFailures: 1))
            let at = second.map(\.at)
            #expect(at[1] - at[0] < backoff.ceiling(afterFailures: 1) + .milliseconds(500))
            #expect(at[2] - at[1] < backoff.ceiling(afterFailures: 2) + .milliseconds(500))
        }
    }

    @Test(arguments: Self.transports) func aTaskThatAlwaysFailsIsDeadLetteredWithHoraeAttributesAndItsMessageAcked(
        transport: DaemonConfig.Transport
    ) async throws {
        let harness = try await DaemonHarness(
            rules: Self.uploadRule, pubSubTransport: transport, script: { _, _ in .retryable("backend down") })
        try await withDaemon(harness) { h in
            let deadTopic = try h.client.topic("dead-letters")
            let deadSub = try h.client.subscription("dead-letters-sub")
            try await h.client.createTopic(deadTopic)
            try await h.client.createSubscription(deadSub, .init(topic: deadTopic))
            h.start()
            let id = try await h.publish(
                DaemonHarness.gcsEvent(object: "gocc/acme_gocc_20260101.tar.gz"),
                data: "payload")
            try await h.waitUntil("dead-lettered and acked") {
                h.metrics["task.dead_lettered"] == 1 && h.metrics["acked"] == 1
            }
            var dead: [ReceivedMessage] = []
            try await h.waitUntil("the dead-letter message arrives") {
                dead += try await h.client.pull(deadSub, maxMessages: 10)
                return !dead.isEmpty
            }
            let attributes = dead[0].message.attributes
            #expect(attributes["horae.rule"] == "upload")
            #expect(attributes["horae.attempts"] == "3")
            #expect(attributes["horae.error"]?.contains("backend down") == true)
            #expect(attributes["objectId"] == "gocc/acme_gocc_20260101.tar.gz")
            #expect(dead[0].message.data == Array("payload".utf8))
            #expect(h.plugin.calls.count == 3)
            let record = try await h.daemon.store.task(TaskKey(messageID: id, rule: "upload"))
            #expect(record?.state == .deadLettered)
        }
    }

    @Test func aPermanentFailureSkipsTheRemainingAttempts() async throws {
        let harness = try await DaemonHarness(rules: Self.uploadRule, script: { _, _ in .permanent("bad request") })
        try await withDaemon(harness) { h in
            try await h.client.createTopic(try h.client.topic("dead-letters"))
            h.start()
            try await h.publish(DaemonHarness.gcsEvent(object: "gocc/acme_gocc_20260101.tar.gz"))
            try await h.waitUntil("dead-lettered") { h.metrics["task.dead_lettered"] == 1 && h.metrics["acked"] == 1 }
            #expect(h.plugin.calls.count == 1)
        }
    }

    static let dedupRule = """
        rules:
          - name: load
            on:
              message:
                attributes: { bucketId: "ven-cust-{codename}", objectId: "gocc/*.tar.gz" }
            dedup:
              key: "{{ attributes.bucketId }}/{{ attributes.objectId }}#{{ attributes.objectGeneration }}/{{ attributes.eventType }}"
              window: 5s
            actions:
              - log: { message: "load {{ attributes.objectId }}" }
        """

    /// The second copy arrives while the first runs: it waits for the first's outcome (given back
    /// and decided when it returns, here every 0.25–0.5 s) and is a duplicate once the first succeeded.
    @Test(arguments: Self.transports) func oneEventPublishedThreeTimesRunsOnceWithinTheWindowAndAgainAfterIt(
        transport: DaemonConfig.Transport
    ) async throws {
        let release = Mutex(false)
        var runner = TaskRunner.Configuration()
        runner.dedupWait = Backoff(initial: .milliseconds(500), maximum: .milliseconds(500), multiplier: 2)
        try await withDaemon(
            DaemonHarness(
                rules: Self.dedupRule, pubSubTransport: transport,
                script: { _, _ in
                    // The first run holds until the test lets it go.
                    while !release.withLock({ $0 }) { try? await Task.sleep(for: .milliseconds(20)) }
                    return .success(output: nil)
                }, runner: runner)
        ) { h in
            h.start()
            let event = DaemonHarness.gcsEvent(object: "gocc/acme_gocc_20260101.tar.gz", generation: "42")
            try await h.publish(event)
            try await h.waitUntil("the first task runs") { h.plugin.calls.count == 1 }
            try await h.publish(event)  // while the first is still running
            try await h.waitUntil("the second waits for the first") { h.metrics["givenBack"] >= 1 }
            #expect(h.metrics["task.duplicate"] == 0)
            release.withLock { $0 = true }
            try await h.waitUntil("the first succeeded") { h.metrics["task.succeeded"] == 1 }
            try await h.waitUntil("the second is a duplicate") { h.metrics["task.duplicate"] == 1 }
            try await h.publish(event)  // after it finished, inside the window
            try await h.waitUntil("the third is a duplicate") {
                h.metrics["task.duplicate"] == 2 && h.metrics["acked"] == 3
            }
            #expect(h.plugin.calls.count == 1)
            try await Task.sleep(for: .seconds(5.2))
            try await h.publish(event)  // after the window
            try await h.waitUntil("it runs again") { h.metrics["task.succeeded"] == 2 }
            #expect(h.plugin.calls.count == 2)
            #expect(h.metrics["duplicate"] == 2)
        }
    }

    @Test(arguments: Self.transports) func flowControlNeverHasMoreThanTheBudgetOutstanding(
        transport: DaemonConfig.Transport
    ) async throws {
        try await withDaemon(
            DaemonHarness(
                rules: """
                    rules:
                      - name: all
                        on: { message: { attributes: { n: { exists: true } } } }
                        actions:
                          - log: { message: "{{ attributes.n }}" }
                    """,
                pubSubTransport: transport,
                script: { _, _ in
                    try? await Task.sleep(for: .milliseconds(2))
                    return .success(output: nil)
                }, configure: { $0.maxOutstandingMessages = 100 })
        ) { h in
            let total = 5000
            try await h.publish((0..<total).map { OutgoingMessage(attributes: ["n": String($0)]) })
            h.start()
            try await h.waitUntil("all processed", timeout: .seconds(240)) { h.metrics["acked"] == total }
            #expect(h.daemon.dispatcher.flow.highWaterMessages <= 100)
            #expect(h.daemon.dispatcher.flow.highWaterMessages >= 50)
            #expect(h.metrics.highestOutstanding <= 100)
            #expect(Set(h.plugin.calls.map(\.text)).count == total)
        }
    }

    @Test(arguments: Self.transports) func unmatchedMessagesAreNackedWhenConfiguredSo(transport: DaemonConfig.Transport)
        async throws
    {
        try await withDaemon(
            DaemonHarness(
                rules: Self.uploadRule, pubSubTransport: transport, configure: { $0.unmatched = .nack })
        ) { h in
            h.start()
            try await h.publish(["bucketId": "someone-else"])
            try await h.waitUntil("nacked") { h.metrics["nacked"] >= 1 }
            #expect(h.metrics["acked"] == 0)
        }
    }

    @Test(arguments: Self.transports) func gracefulShutdownLetsRunningTasksFinishAndGivesBackTheOthers(
        transport: DaemonConfig.Transport
    ) async throws {
        try await withDaemon(
            DaemonHarness(
                rules: """
                    rules:
                      - name: slow
                        concurrency: 1
                        on: { message: { attributes: { n: { exists: true } } } }
                        actions:
                          - log: { message: "{{ attributes.n }}" }
                    """,
                pubSubTransport: transport,
                script: { _, _ in
                    try? await Task.sleep(for: .milliseconds(700))
                    return .success(output: nil)
                })
        ) { h in
            h.start()
            try await h.publish((0..<5).map { OutgoingMessage(attributes: ["n": String($0)]) })
            try await h.waitUntil("one task runs and the rest wait for the slot") {
                h.plugin.calls.count == 1 && h.metrics["pulled"] == 5
            }
            await h.stop()
            let stopped = ContinuousClock.now
            // The running task finished inside the grace period and was acked; the four waiting were nacked.
            #expect(h.metrics["task.succeeded"] == 1)
            #expect(h.metrics["acked"] == 1)
            #expect(h.metrics["nacked"] == 4)
            // The nacked ones come back untouched: at once, or after one ack deadline when the emulator
            // handed them to the daemon's REST pull that the shutdown abandoned (the emulator keeps
            // serving a pull whose client went away). Pulls here return at once, so none of them is
            // abandoned in turn, and none waits past the end of such a lease without being woken.
            var back: [ReceivedMessage] = []
            try await h.waitUntil("the four come back", timeout: .seconds(60)) {
                back += try await h.client.pull(h.subscription, maxMessages: 100, returnImmediately: true)
                return back.count >= 4
            }
            #expect(back.count == 4)
            // Streams close before anything is given back: nothing waits out the 10 s ack deadline
            // leased to a closed stream.
            let waited = ContinuousClock.now - stopped
            if transport == .grpc { #expect(waited < .seconds(8), "came back after \(waited)") }
        }
    }

    @Test(arguments: Self.transports) func aTaskStillRunningAfterTheGracePeriodIsCancelledAndResumedAfterARestart(
        transport: DaemonConfig.Transport
    ) async throws {
        try await withDaemon(
            DaemonHarness(
                rules: Self.uploadRule, pubSubTransport: transport,
                script: { invocation, number in
                    // The second action of the first delivery hangs past the grace period.
                    if invocation.actionIndex == 1 && number == 2 {
                        try? await Task.sleep(for: .seconds(60))
                        return .retryable("interrupted")
                    }
                    return .success(output: nil)
                }, configure: { $0.shutdownGrace = .milliseconds(300) })
        ) { h in
            h.start()
            let id = try await h.publish(DaemonHarness.gcsEvent(object: "gocc/acme_gocc_20260101.tar.gz"))
            try await h.waitUntil("the second action hangs") { h.plugin.calls.count == 2 }
            try await h.restart()
            try await h.waitUntil("the redelivered task succeeds") { h.metrics["task.succeeded"] == 1 }
            // The first action did not run again; the second ran twice (interrupted, then done).
            let texts = h.plugin.calls.map(\.text)
            let firsts = texts.filter { $0.hasPrefix("first") }.count
            let seconds = texts.filter { $0.hasPrefix("second") }.count
            #expect(firsts == 1)
            #expect(seconds == 2)
            let record = try await h.daemon.store.task(TaskKey(messageID: id, rule: "upload"))
            #expect(record?.state == .succeeded)
        }
    }
}

/// Counts failures per action index for the retry test's script.
final class RetryCounter: Sendable {
    static let shared = RetryCounter()
    private let counts = Mutex<[Int: Int]>([:])
    func next(_ index: Int) -> Int {
        counts.withLock {
            $0[index, default: 0] += 1
            return $0[index]!
        }
    }
    func reset() { counts.withLock { $0 = [:] } }
}
