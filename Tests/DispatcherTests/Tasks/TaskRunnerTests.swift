import Foundation
import HoraeRules
import Logging
import Synchronization
import Testing

@testable import HoraeDispatcher

/// ``TaskRunner`` on a real store with a scripted `log` plugin, without Pub/Sub: what it logs at
/// which level, and what it records.
@Suite struct TaskRunnerTests {
    /// Records every line that reaches it, whatever its level.
    struct RecordingLogHandler: LogHandler {
        final class Lines: Sendable {
            let value = Mutex<[(level: Logger.Level, message: String)]>([])

            func levels(of message: String) -> [Logger.Level] {
                value.withLock { $0.filter { $0.message == message }.map(\.level) }
            }
        }

        let lines: Lines
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            lines.value.withLock { $0.append((event.level, event.message.description)) }
        }
    }

    /// `extra`: more keys of the rule (`concurrency: 1` takes the path that waits for a slot first).
    static func rule(_ extra: String = "", retry: String = "{ maxAttempts: 3, initialBackoff: 10ms, maxBackoff: 20ms }")
        -> String
    {
        """
        rules:
          - name: upload
            on: { message: { attributes: { objectId: "*" } } }
            retry: \(retry)
            \(extra)
            actions:
              - log: { message: "first" }
              - log: { message: "second" }
        """
    }

    /// A runner whose plugin answers with `script`, and its store, log lines and directory.
    struct Setup {
        let runner: TaskRunner
        let store: SQLiteStateStore
        let lines: RecordingLogHandler.Lines
        let plugin: ScriptedLogPlugin
        let directory: TemporaryStoreDirectory
        let rule: Rule

        init(
            rule extra: String = "", retry: String? = nil, configuration: TaskRunner.Configuration = .init(),
            script: @escaping ScriptedLogPlugin.Script = { _, _ in .success(output: nil) }
        ) throws {
            directory = TemporaryStoreDirectory()
            store = try directory.open()
            let lines = RecordingLogHandler.Lines()
            self.lines = lines
            let logger = Logger(label: "horae-test") { _ in RecordingLogHandler(lines: lines) }
            plugin = ScriptedLogPlugin(script: script)
            runner = TaskRunner(
                store: store, plugins: PluginRegistry([plugin]), publisher: nil,
                shutdown: ShutdownSignal(), logger: logger, configuration: configuration)
            let text = retry.map { TaskRunnerTests.rule(extra, retry: $0) } ?? TaskRunnerTests.rule(extra)
            let loaded = RuleLoader().load(sources: [(path: "rules.yaml", text: text)])
            rule = try #require(loaded.rules.first)
        }

        func work(_ id: String) -> TaskWork {
            TaskWork(
                rule: rule, message: PubSubMessage(id: id, attributes: ["objectId": "a.txt"]),
                captures: CaptureSet([]), subscription: "events")
        }

        func close() {
            store.close()
            directory.remove()
        }
    }

    /// A task logs its start and its end at info, and nothing else on the routine path.
    @Test func aFirstAttemptThatSucceedsLogsItsStartAndEndAtInfo() async throws {
        let setup = try Setup()
        defer { setup.close() }
        #expect(await setup.runner.run(setup.work("m1")) == .final(.succeeded))
        #expect(setup.lines.levels(of: "task started") == [.info])
        #expect(setup.lines.levels(of: "task finished") == [.info])
        #expect(setup.lines.levels(of: "task attempt started") == [])
        #expect(setup.lines.value.withLock { $0.filter { $0.level > .debug }.count } == 2)
    }

    /// Retries log each later attempt at info; the failure at warning; one start and one end.
    @Test func retriesLogTheirAttemptsAtInfo() async throws {
        let setup = try Setup(script: { invocation, _ in
            invocation.actionIndex == 1 && invocation.attempt == 1 ? .retryable("flaky") : .success(output: nil)
        })
        defer { setup.close() }
        #expect(await setup.runner.run(setup.work("m1")) == .final(.succeeded))
        #expect(setup.lines.levels(of: "task started") == [.info])
        #expect(setup.lines.levels(of: "task attempt started") == [.info])
        #expect(setup.lines.levels(of: "action failed; retrying") == [.warning])
        #expect(setup.lines.levels(of: "task finished") == [.info])
        // The retry resumed at the second action.
        #expect(setup.plugin.calls.map(\.text) == ["first", "second", "second"])
    }

    /// A task found in the store (its message came back after a crash) is resumed at info.
    @Test func aResumedTaskLogsAtInfo() async throws {
        let setup = try Setup()
        defer { setup.close() }
        let key = TaskKey(messageID: "m1", rule: "upload")
        try await setup.store.save(TaskRecord(key: key, state: .running, attempt: 1, nextAction: 1, createdAt: Date()))
        #expect(await setup.runner.run(setup.work("m1")) == .final(.succeeded))
        #expect(setup.lines.levels(of: "resuming task") == [.info])
        #expect(setup.lines.levels(of: "task started") == [.info])
        #expect(setup.lines.levels(of: "task finished") == [.info])
        #expect(setup.plugin.calls.map(\.text) == ["second"])
    }

    /// A message delivered twice at once: the second call waits for the first and shares its outcome.
    @Test func twoCallsForOneKeyAtOnceRunTheTaskOnce() async throws {
        let setup = try Setup(script: { _, _ in
            try? await Task.sleep(for: .milliseconds(200))
            return .success(output: nil)
        })
        defer { setup.close() }
        async let first = setup.runner.run(setup.work("m1"))
        async let second = setup.runner.run(setup.work("m1"))
        let outcomes = await [first, second]
        #expect(outcomes == [.final(.succeeded), .final(.succeeded)])
        #expect(setup.plugin.calls.map(\.text) == ["first", "second"])
        #expect(setup.runner.runningCount == 0)
    }

    /// Every transition is recorded, with the state it left, through the saves that skip reading
    /// it, and so is the end of each action, as a step — whether the first attempt is recorded as the task is found new, or after waiting for a
    /// concurrency slot.
    @Test(arguments: ["", "concurrency: 1"])
    func everyTransitionIsRecorded(rule: String) async throws {
        let setup = try Setup(
            rule: rule,
            script: { invocation, _ in
                invocation.actionIndex == 1 && invocation.attempt == 1 ? .retryable("flaky") : .success(output: nil)
            })
        defer { setup.close() }
        #expect(await setup.runner.run(setup.work("m1")) == .final(.succeeded))
        let key = TaskKey(messageID: "m1", rule: "upload")
        let transitions = try await setup.store.transitions(of: key)
        #expect(transitions.map(\.from) == [nil, .running, .running, .waiting, .running])
        #expect(transitions.map(\.to) == [.running, .running, .waiting, .running, .succeeded])
        // Each action's end is a step with its duration, which the comparison leaves out.
        let details = transitions.map { $0.detail?.replacing(#/ \(\d+ ms\)$/#, with: "") }
        #expect(
            details == [
                "attempt 1", "action log#1 succeeded", "action log#2: flaky", "attempt 2", "action log#2 succeeded",
            ])
        #expect(
            transitions.allSatisfy {
                $0.detail?.contains(/\(\d+ ms\)$/) ?? false || $0.detail?.hasPrefix("attempt") == true
            })
        let record = try #require(try await setup.store.task(key))
        #expect(record.state == .succeeded)
        #expect(record.attempt == 2)
        #expect(record.nextAction == 2)
        // Run again (the message delivered twice): already final, nothing runs.
        #expect(await setup.runner.run(setup.work("m1")) == .final(.succeeded))
        #expect(setup.plugin.calls.count == 3)
    }

    /// A retry wait over `retryHoldLimit` gives the message back; its redelivery gives it back
    /// again while the wait is long, then waits only what is left of it and resumes at the saved
    /// action and attempt.
    @Test func aLongRetryWaitIsGivenBackAndTheRedeliveryResumesWhereTheTaskWas() async throws {
        // Without jitter the wait is the whole day: a draw under the 5 s hold limit cannot happen.
        var exact = TaskRunner.Configuration()
        exact.retryJitter = false
        let setup = try Setup(
            retry: "{ maxAttempts: 3, initialBackoff: 1d, maxBackoff: 1d }", configuration: exact,
            script: { invocation, _ in
                invocation.actionIndex == 1 && invocation.attempt == 1 ? .retryable("down") : .success(output: nil)
            })
        defer { setup.close() }
        let first = await setup.runner.run(setup.work("m1"))
        guard case .givenBack(let after, _) = first else {
            Issue.record("expected the message to be given back, got \(first)")
            return
        }
        #expect(after <= TaskOutcome.maxGiveBack)
        let key = TaskKey(messageID: "m1", rule: "upload")
        var record = try #require(try await setup.store.task(key))
        #expect(record.state == .waiting)
        #expect(record.attempt == 1)
        #expect(record.nextAction == 1)
        // Redelivered while the wait is still long: given back again, nothing runs.
        let again = await setup.runner.run(setup.work("m1"))
        guard case .givenBack = again else {
            Issue.record("expected the message to be given back again, got \(again)")
            return
        }
        #expect(setup.plugin.calls.count == 2)
        // Redelivered when 300 ms are left: waits them, then attempt 2 from the second action.
        record.retryAt = Date() + 0.3
        try await setup.store.save(record)
        let started = ContinuousClock.now
        #expect(await setup.runner.run(setup.work("m1")) == .final(.succeeded))
        let waited = ContinuousClock.now - started
        #expect(waited >= .milliseconds(250) && waited < .seconds(3))
        #expect(setup.plugin.calls.map(\.text) == ["first", "second", "second"])
        #expect(setup.plugin.calls.map(\.attempt) == [1, 1, 2])
    }
}
