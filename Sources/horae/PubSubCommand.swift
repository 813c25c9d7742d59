import ArgumentParser

/// `horae pubsub …`: the topics and subscriptions Horae pulls from, set up from the command line.
struct PubSubCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pubsub",
        abstract: "List, create and delete Pub/Sub topics and subscriptions.",
        discussion: """
            Talks to the emulator when PUBSUB_EMULATOR_HOST is set, else to Google with the daemon's \
            credentials (GOOGLE_APPLICATION_CREDENTIALS, then the metadata server). Names are short \
            (in --project) or full (projects/P/topics/T).
            Exit status: 0 done, 1 the operation failed (the error says why), 64 invalid arguments.
            """,
        subcommands: [PubSubTopicsCommand.self, PubSubSubscriptionsCommand.self]
    )
}
