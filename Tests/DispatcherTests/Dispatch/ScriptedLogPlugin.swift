import Foundation
import HoraeRules
import Synchronization

@testable import HoraeDispatcher

/// A test stand-in registered under the `log` plugin name: it records every invocation and answers
/// with whatever the test's script says, so the dispatcher's retry, dedup and shutdown paths can be
/// driven exactly. (The real plugins are tested on their own against real peers.)
final class ScriptedLogPlugin: ActionPlugin, Sendable {
    struct Call: Sendable {
        var rule: String
        var messageID: String
        var attempt: Int
        var text: String
        var at: ContinuousClock.Instant
    }

    typealias Script = @Sendable (ActionInvocation, _ callNumber: Int) async -> ActionOutcome

    let plugin: Plugin
    private let script: Script
    private let log = Mutex<[Call]>([])

    /// `plugin`: the name it answers to (`log` unless a test needs another plugin's place, such
    /// as `http` for a step with outputs).
    init(plugin: Plugin = .log, script: @escaping Script = { _, _ in .success(output: nil) }) {
        self.plugin = plugin
        self.script = script
    }

    var calls: [Call] { log.withLock { $0 } }

    func run(_ invocation: ActionInvocation) async -> ActionOutcome {
        let number = log.withLock { calls -> Int in
            calls.append(
                Call(
                    rule: invocation.ruleName, messageID: invocation.message?.id ?? "",
                    attempt: invocation.attempt,
                    text: invocation.string("message") ?? invocation.string("url") ?? "", at: .now))
            return calls.count
        }
        return await script(invocation, number)
    }
}

/// Counts what the dispatcher reports.
final class RecordingMetrics: DispatcherMetrics, Sendable {
    private let counts = Mutex<[String: Int]>([:])
    private let maxOutstanding = Mutex(0)

    subscript(name: String) -> Int { counts.withLock { $0[name, default: 0] } }
    var highestOutstanding: Int { maxOutstanding.withLock { $0 } }

    private func add(_ name: String, _ n: Int = 1) { counts.withLock { $0[name, default: 0] += n } }

    func messagesPulled(subscription: String, count: Int, bytes: Int) { add("pulled", count) }
    func messageAcked(subscription: String) { add("acked") }
    func messageNacked(subscription: String) { add("nacked") }
    func messageGivenBack(subscription: String) { add("givenBack") }
    func messageUnmatched(subscription: String) { add("unmatched") }
    func messageDuplicate(subscription: String) { add("duplicate") }
    func messageInvalid(subscription: String, reason: String) { add("invalid") }
    func taskFinished(rule: String, outcome: String) { add("task.\(outcome)") }
    func taskAttempt(rule: String) { add("attempts") }
    func pullFailed(subscription: String, status: String) { add("pullFailed") }
    func deadLetterRefused(rule: String) { add("deadLetterRefused") }
    func pullTooLarge(subscription: String, maxMessages: Int) {
        add(maxMessages == 1 ? "unreceivable" : "pullTooLarge")
    }
    func rulesReloaded(ok: Bool, rules: Int) { add(ok ? "reload.ok" : "reload.failed") }
    func outstandingChanged(messages: Int, bytes: Int) {
        maxOutstanding.withLock { $0 = max($0, messages) }
    }
}
