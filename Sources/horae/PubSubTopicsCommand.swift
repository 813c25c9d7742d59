import ArgumentParser
import HoraeDispatcher

/// `horae pubsub topics list|create|delete`.
struct PubSubTopicsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "topics",
        abstract: "List, create or delete topics.",
        subcommands: [List.self, Create.self, Delete.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the project's topics, one full name per line.")

        @OptionGroup var pubsub: PubSubOptions

        @Option(help: "Output format: text (full names) or json (the API's topic resources).")
        var format: RulesOptions.Format = .text

        func validate() throws { _ = try pubsub.resolvedProject() }

        func run() async throws {
            let format = format
            try await pubsub.run { admin throws(PubSubError) in
                PubSubOutput.topics(try await admin.listTopics(), format: format)
            }
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a topic.")

        @OptionGroup var pubsub: PubSubOptions

        @Argument(help: "The topic: a short name in the project, or projects/P/topics/NAME.")
        var name: String

        func validate() throws { try pubsub.validate(name, .topics) }

        func run() async throws {
            let name = name
            try await pubsub.run(name: name) { admin throws(PubSubError) in
                PubSubOutput.createdTopic(try await admin.createTopic(name))
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete a topic (its subscriptions stay, detached: their topic reads _deleted-topic_).")

        @OptionGroup var pubsub: PubSubOptions

        @Argument(help: "The topic: a short name in the project, or projects/P/topics/NAME.")
        var name: String

        func validate() throws { try pubsub.validate(name, .topics) }

        func run() async throws {
            let name = name
            try await pubsub.run(name: name) { admin throws(PubSubError) in
                PubSubOutput.deletedTopic(try await admin.deleteTopic(name))
            }
        }
    }
}
