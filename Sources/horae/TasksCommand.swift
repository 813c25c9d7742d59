import ArgumentParser

/// `horae tasks`: the tasks a daemon's store holds, for the people on call (docs/operations.md).
struct TasksCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tasks",
        abstract: "List, show and re-run the tasks in a daemon's state store.",
        discussion: """
            Reads the store of --config horae.yaml (its `state`: a data directory or a postgres:// URL), the same \
            one the daemon uses; safe while the daemon runs. A task's id is RULE/MESSAGEID, as `tasks list` prints it.
            """,
        subcommands: [TasksListCommand.self, TasksShowCommand.self, TasksRetryCommand.self]
    )
}
