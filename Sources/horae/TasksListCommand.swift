import ArgumentParser
import HoraeDispatcher
import HoraeRules

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `horae tasks list`: the newest tasks first, as a table for people or JSON for scripts.
struct TasksListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List tasks, most recently updated first.",
        discussion: """
            JSON output is an array of objects with id, rule, messageId, subscription, state, attempt, nextAction \
            (0-based index of the action the task resumes at), createdAt, updatedAt, retryAt, error and dedupKey.
            Exit status: 0 listed (even none), 2 an unreadable config or store.
            """
    )

    @OptionGroup var daemon: DaemonConfigOptions

    @OptionGroup var selection: TaskSelectionOptions

    @Option(help: "At most this many tasks.")
    var limit: Int = 50

    @Option(help: "Output format: table or json.")
    var format: Format = .table

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case table, json
    }

    func validate() throws {
        if limit < 1 { throw ValidationError("--limit must be at least 1") }
    }

    func run() async throws {
        let config = try daemon.load()
        let store = try daemon.openStore(config)
        defer { store.close() }
        let query = selection.query(limit: limit)
        let records: [TaskRecord]
        do {
            records = try await store.tasks(matching: query)
        } catch {
            Console.error("horae: cannot read the tasks: \(error)\n")
            throw ExitCode(2)
        }
        switch format {
        case .table: Console.out(TaskPrinter.table(records))
        case .json: Console.out(JSONValue.array(records.map(TaskPrinter.json)).prettyJSON + "\n")
        }
    }
}
