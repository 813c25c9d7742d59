import ArgumentParser
import HoraeDispatcher

/// `--state`, `--rule` and `--since`: which tasks `horae tasks list` lists and `horae tasks
/// retry` re-runs.
struct TaskSelectionOptions: ParsableArguments {
    @Option(
        name: .customLong("state"),
        help: ArgumentHelp(
            "Only tasks in this state (repeatable): \(TaskStateArgument.allValueStrings.joined(separator: ", ")).",
            valueName: "state"))
    var states: [TaskStateArgument] = []

    @Option(help: "Only tasks of this rule.")
    var rule: String?

    @Option(help: "Only tasks updated since: a duration back from now (2h, 1d) or an RFC 3339 time.")
    var since: SinceTime?

    /// Whether any of them is given.
    var selects: Bool { !states.isEmpty || rule != nil || since != nil }

    /// The query, with `defaultStates` when no `--state` is given.
    func query(limit: Int, defaultStates: Set<TaskState> = []) -> TaskQuery {
        TaskQuery(
            states: states.isEmpty ? defaultStates : Set(states.map(\.state)), rule: rule, updatedSince: since?.date(),
            limit: limit)
    }
}
