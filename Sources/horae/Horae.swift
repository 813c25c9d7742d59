import ArgumentParser

@main
struct Horae: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "horae",
        abstract:
            "Turn Cloud Storage events into work: match Pub/Sub messages against YAML rules and run their actions.",
        version: "horae \(HoraeVersion.description)",
        subcommands: [
            ValidateCommand.self, MatchCommand.self, TestCommand.self, SchemaCommand.self, GraphCommand.self,
            RunCommand.self, TasksCommand.self, RedriveCommand.self, BackfillCommand.self, PubSubCommand.self,
        ]
    )
}
