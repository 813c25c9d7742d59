import ArgumentParser
import HoraeDispatcher
import HoraeRules

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `horae tasks show ID`: one task whole — its record, its message, its plan as the rules render
/// it now with each action's outcome, and its history.
struct TasksShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show a task: its message, its rendered plan with each action's outcome, and its history.",
        discussion: """
            The plan is rendered from the rules the config names as they are now (after a fix, what a retry would run).
            Exit status: 0 shown, 2 an id that is not RULE/MESSAGEID, an unknown task, or an unreadable config or store.
            """
    )

    @OptionGroup var daemon: DaemonConfigOptions

    @Argument(help: "The task's id, RULE/MESSAGEID, as `horae tasks list` prints it.")
    var id: String

    func run() async throws {
        let key = try TaskIDArgument.key(id)
        let config = try daemon.load()
        let store = try daemon.openStore(config)
        defer { store.close() }
        let report: TaskReport
        do {
            guard let record = try await store.task(key) else {
                Console.error("horae: no task \(key) in the store \(store.location)\n")
                throw ExitCode(2)
            }
            report = TaskReport(
                record: record, message: try await store.keptMessage(of: key),
                transitions: try await store.transitions(of: key))
        } catch let error as StateStoreError {
            Console.error("horae: cannot read task \(key): \(error)\n")
            throw ExitCode(2)
        }
        let rules = RuleLoader().load(paths: config.rules)
        let plan: Result<CompiledRuleSet, RulesUnavailable> =
            rules.hasErrors || rules.hasIOErrors
            ? .failure(RulesUnavailable(paths: config.rules)) : .success(CompiledRuleSet(rules: rules.rules))
        Console.out(report.text(rules: plan))
    }
}

/// The rules a plan would be rendered from have errors (`horae validate` shows them).
struct RulesUnavailable: Error {
    let paths: [String]
}

/// Reads a task id argument.
enum TaskIDArgument {
    /// The key `id` names; exits with status 2, saying how to write one, when it is not RULE/MESSAGEID.
    static func key(_ id: String) throws -> TaskKey {
        guard let key = TaskKey(id: id) else {
            Console.error(
                "horae: `\(TaskPrinter.singleLine(id, width: 200))` is not a task id: write RULE/MESSAGEID, as `horae tasks list` prints it\n"
            )
            throw ExitCode(2)
        }
        return key
    }
}
