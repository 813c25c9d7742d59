import ArgumentParser
import HoraeDispatcher
import HoraeRules

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `horae tasks retry`: asks the running daemons to run failed tasks again, through the store's
/// inbox (no republishing, no restart).
struct TasksRetryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retry",
        abstract: "Run failed or dead-lettered tasks again, from the action that failed, with fresh attempts.",
        discussion: """
            Give task ids (RULE/MESSAGEID), or select tasks with --state (default: failed and dead-lettered), \
            --rule and --since. A daemon of the task's subscription picks each retry up from the store within \
            seconds and runs it past the rule's dedup window, once; `horae tasks show` shows it. Running, waiting \
            and pending tasks are refused, and so are succeeded ones unless --force (which runs every action again).
            Exit status: 0 every task queued (or already queued), 1 some refused, 2 an id that is not RULE/MESSAGEID, \
            an unknown task, or an unreadable config or store.
            """
    )

    @OptionGroup var daemon: DaemonConfigOptions

    @Argument(help: "Task ids, RULE/MESSAGEID, as `horae tasks list` prints them.")
    var ids: [String] = []

    /// Without `--state`: failed and dead-lettered tasks.
    @OptionGroup var selection: TaskSelectionOptions

    @Option(help: "With a selection: at most this many tasks.")
    var limit: Int = 1000

    @Flag(help: "Also run succeeded (or duplicate) tasks again, from their first action.")
    var force = false

    @Flag(help: "Print what would be queued without queueing anything.")
    var dryRun = false

    func validate() throws {
        if ids.isEmpty && !selection.selects {
            throw ValidationError("give task ids, or select tasks with --state, --rule or --since")
        }
        if !ids.isEmpty && selection.selects { throw ValidationError("give task ids or a selection, not both") }
        if limit < 1 { throw ValidationError("--limit must be at least 1") }
    }

    func run() async throws {
        let keys = try ids.map(TaskIDArgument.key)
        let config = try daemon.load()
        let store = try daemon.openStore(config)
        defer { store.close() }
        var unknown = false
        var refused = false
        do {
            let selected: [TaskKey]
            if keys.isEmpty {
                selected = try await store.tasks(
                    matching: selection.query(limit: limit, defaultStates: [.failed, .deadLettered])
                ).map(\.key)
                if selected.isEmpty { Console.out("no task matches\n") }
            } else {
                selected = keys
            }
            for key in selected {
                let result: RetryRequest
                if dryRun {
                    result = try await preview(key, store)
                } else {
                    result = try await store.requestRetry(key, force: force, now: Date())
                }
                let (line, outcome) = Self.describe(result, key, dryRun: dryRun)
                switch outcome {
                case .done: Console.out(line + "\n")
                case .refused:
                    refused = true
                    Console.error(line + "\n")
                case .unknown:
                    unknown = true
                    Console.error(line + "\n")
                }
            }
        } catch let error as StateStoreError {
            Console.error("horae: cannot queue the retries: \(error)\n")
            throw ExitCode(2)
        }
        if unknown { throw ExitCode(2) }
        if refused { throw ExitCode(1) }
    }

    /// What ``StateStore/requestRetry(_:force:now:)`` would answer, without writing.
    private func preview(_ key: TaskKey, _ store: any StateStore) async throws -> RetryRequest {
        guard let record = try await store.task(key) else { return .unknownTask }
        guard let retried = RetryRequest.retried(record, force: force, now: Date()) else {
            return .refused(record.state)
        }
        guard try await store.keptMessage(of: key).map({ $0.droppedDataBytes == 0 }) == true else {
            return .messageNotKept
        }
        return .queued(retried)
    }

    enum Outcome { case done, refused, unknown }

    static func describe(_ result: RetryRequest, _ key: TaskKey, dryRun: Bool) -> (String, Outcome) {
        switch result {
        case .queued(let record):
            return (
                "\(dryRun ? "would queue" : "queued") \(key): fresh attempts from action \(record.nextAction + 1)",
                .done
            )
        case .alreadyQueued: return ("already queued \(key)", .done)
        case .unknownTask: return ("horae: no task \(key) in the store", .unknown)
        case .refused(let state):
            switch state {
            case .succeeded, .duplicate:
                return (
                    "refused \(key): it is \(state.rawValue); --force runs it again from its first action", .refused
                )
            default:
                return ("refused \(key): it is \(state.rawValue), not finished", .refused)
            }
        case .messageNotKept:
            return ("refused \(key): the store does not hold its message whole, so it cannot be run again", .refused)
        }
    }
}
