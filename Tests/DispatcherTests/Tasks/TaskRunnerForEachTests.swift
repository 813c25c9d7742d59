import Foundation
import HoraeRules
import Logging
import Testing

@testable import HoraeDispatcher

/// Fan-out and step outputs as the task runner runs them, on a real store (docs/rules.md,
/// "Fan-out" and "Step outputs"): an action's `forEach` over an earlier step's JSON, one unit of
/// progress per item; a step's output kept with the task so that a retry or a redelivery after a
/// crash renders from it without running the step again; a rule's `forEach`, one task per item.
@Suite struct TaskRunnerForEachTests {
    static let companies = #"""
        {"hits":[{"companies":[{"code":"a","on":true},{"code":"b","on":true},{"code":"c","on":false},{"code":"d","on":true}]}]}
        """#

    static let fanOutRule = """
        rules:
          - name: fan-out
            on: { message: { attributes: { objectId: "*" } } }
            retry: RETRY
            actions:
              - name: list
                http: { url: "http://es.internal:9200/venraas/_search", method: GET }
              - forEach: { in: steps.list.json.hits.0.companies, where: { on: true } }
                log: { message: "{{ item.code }} {{ steps.list.status }}" }
        """

    /// A runner with a scripted `http` (answering the companies, counting its calls) and a
    /// scripted `log`, on a store in `directory`.
    struct Setup {
        let directory: TemporaryStoreDirectory
        let store: SQLiteStateStore
        let http: ScriptedLogPlugin
        let log: ScriptedLogPlugin
        let runner: TaskRunner
        let rule: Rule

        init(
            _ text: String, directory: TemporaryStoreDirectory = TemporaryStoreDirectory(),
            retry: String = "{ maxAttempts: 3, initialBackoff: 10ms, maxBackoff: 20ms }",
            configuration: TaskRunner.Configuration = .init(),
            log script: @escaping ScriptedLogPlugin.Script = { _, _ in .success(output: nil) }
        ) throws {
            self.directory = directory
            store = try directory.open()
            http = ScriptedLogPlugin(plugin: .http) { _, _ in
                .success(
                    output: "HTTP 200",
                    step: StepOutput(bytes: Array(TaskRunnerForEachTests.companies.utf8), status: 200))
            }
            log = ScriptedLogPlugin(script: script)
            runner = TaskRunner(
                store: store, plugins: PluginRegistry([http, log]), publisher: nil, shutdown: ShutdownSignal(),
                logger: Logger(label: "horae-test") { _ in SwiftLogNoOpLogHandler() }, configuration: configuration)
            let loaded = RuleLoader().load(sources: [(path: "r.yaml", text: text.replacing("RETRY", with: retry))])
            try #require(loaded.diagnostics.isEmpty, "\(loaded.diagnostics.map(\.message))")
            rule = try #require(loaded.rules.first)
        }

        func works(_ id: String) -> [TaskWork] {
            TaskWork.expanded(
                rule: rule, message: PubSubMessage(id: id, attributes: ["objectId": "a.txt"]), captures: CaptureSet(),
                subscription: "events")
        }
    }

    @Test func anActionRunsPerItemOfAStepsListAndARetryResumesAtTheItemThatFailed() async throws {
        let setup = try Setup(Self.fanOutRule) { invocation, _ in
            invocation.string("message") == "b 200" && invocation.attempt == 1
                ? .retryable("b is down") : .success(output: nil)
        }
        defer { setup.directory.remove() }
        let work = try #require(setup.works("m1").first)
        #expect(await setup.runner.run(work) == .final(.succeeded))
        // The step ran once; the fan-out ran a, then b failed, and attempt 2 resumed at b.
        #expect(setup.http.calls.count == 1)
        #expect(setup.log.calls.map(\.text) == ["a 200", "b 200", "b 200", "d 200"])
        #expect(setup.log.calls.map(\.attempt) == [1, 1, 2, 2])
        let record = try #require(try await setup.store.task(work.key))
        #expect(record.state == .succeeded && record.nextAction == 2 && record.nextItem == 0)
        #expect(record.steps["list"]?.status == 200)
        #expect(record.steps["list"]?.json?.value(at: ["hits", "0", "companies", "3", "code"])?.string == "d")
        let details = try await setup.store.transitions(of: work.key).compactMap(\.detail)
        #expect(details.contains { $0.hasPrefix("action log#2 item 1 (") && $0.contains("succeeded (") })
        #expect(details.contains { $0.hasPrefix("action log#2 item 2 (") && $0.contains(": b is down") })
        setup.store.close()
    }

    /// A daemon that stops in the middle of a fan-out (here: a retry given back for a day, then
    /// the process gone) leaves the step's output and the item reached in the store; the next
    /// daemon renders from them and runs neither the step nor the items done again.
    @Test func aResumedTaskRendersFromTheKeptOutputWithoutRunningTheStepAgain() async throws {
        var exact = TaskRunner.Configuration()
        exact.retryJitter = false
        let directory = TemporaryStoreDirectory()
        defer { directory.remove() }
        let first = try Setup(
            Self.fanOutRule, directory: directory, retry: "{ maxAttempts: 3, initialBackoff: 1d, maxBackoff: 1d }",
            configuration: exact
        ) { invocation, _ in
            invocation.string("message") == "d 200" ? .retryable("d is down") : .success(output: nil)
        }
        let work = try #require(first.works("m1").first)
        guard case .givenBack = await first.runner.run(work) else {
            Issue.record("expected the long retry wait to be given back")
            return
        }
        var stored = try #require(try await first.store.task(work.key))
        #expect(stored.nextAction == 1 && stored.nextItem == 2)
        stored.retryAt = Date()
        try await first.store.save(stored)
        first.store.close()

        let second = try Setup(
            Self.fanOutRule, directory: directory, retry: "{ maxAttempts: 3, initialBackoff: 1d, maxBackoff: 1d }",
            configuration: exact)
        #expect(await second.runner.run(try #require(second.works("m1").first)) == .final(.succeeded))
        #expect(second.http.calls.isEmpty)
        #expect(second.log.calls.map(\.text) == ["d 200"])
        second.store.close()
    }

    /// A rule's `forEach`: one task per item, each with its own key, dedup key and record.
    @Test func aRulesForEachRunsOneTaskPerItem() async throws {
        let setup = try Setup(
            """
            rules:
              - name: per-customer
                on: { message: { attributes: { objectId: "*" } } }
                forEach: [{ codename: sohappy }, { codename: "hoo#hoo" }]
                dedup: { key: "{{ item.codename }}-{{ attributes.objectId }}", window: 1h }
                actions:
                  - log: { message: "{{ item.codename }}" }
            """)
        defer { setup.directory.remove() }
        let works = setup.works("m1")
        #expect(
            works.map(\.key.messageID) == [
                "m1#0:{\"codename\":\"sohappy\"}", "m1#1:sha256:" + works[1].key.messageID.suffix(16),
            ])
        for work in works { #expect(await setup.runner.run(work) == .final(.succeeded)) }
        #expect(Set(setup.log.calls.map(\.text)) == ["sohappy", "hoo#hoo"])
        for work in works {
            let record = try #require(try await setup.store.task(work.key))
            #expect(record.state == .succeeded)
            #expect(record.dedupKey == "\(work.item?.value["codename"]?.string ?? "")-a.txt")
        }
        // Delivered again: each item's task is found done.
        for work in setup.works("m1") { #expect(await setup.runner.run(work) == .final(.succeeded)) }
        #expect(setup.log.calls.count == 2)
        #expect(TaskItemKey.split(works[1].key.messageID)?.messageID == "m1")
        #expect(TaskItemKey.split(works[1].key.messageID)?.index == 1)
        setup.store.close()
    }
}
