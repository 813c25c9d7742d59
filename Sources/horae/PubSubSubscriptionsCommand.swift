import ArgumentParser
import HoraeDispatcher

/// `horae pubsub subscriptions list|create|delete`.
struct PubSubSubscriptionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "subscriptions",
        abstract: "List, create or delete pull subscriptions.",
        subcommands: [List.self, Create.self, Delete.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the project's subscriptions: name, topic, ack deadline, dead-letter and retry policies.")

        @OptionGroup var pubsub: PubSubOptions

        @Option(help: "Output format: text (one line each) or json (the API's subscription resources).")
        var format: RulesOptions.Format = .text

        func validate() throws { _ = try pubsub.resolvedProject() }

        func run() async throws {
            let format = format
            try await pubsub.run { admin throws(PubSubError) in
                PubSubOutput.subscriptions(try await admin.listSubscriptions(), format: format)
            }
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a pull subscription on a topic.")

        @OptionGroup var pubsub: PubSubOptions

        @Argument(help: "The subscription: a short name in the project, or projects/P/subscriptions/NAME.")
        var name: String

        @Option(help: "The topic to subscribe to (short or full name).")
        var topic: String

        @Option(help: "How long a pulled message stays leased: 10s to 600s.", transform: parseDurationOption)
        var ackDeadline: Duration = .seconds(60)

        @Option(help: "Send messages here after --max-delivery-attempts deliveries.")
        var deadLetterTopic: String?

        @Option(help: "With --dead-letter-topic: deliveries before dead-lettering, 5 to 100 (default 5).")
        var maxDeliveryAttempts: Int?

        @Option(
            help: "Retry policy: the shortest wait before redelivering a nacked message, 0s to 600s (default 10s).",
            transform: parseDurationOption)
        var minBackoff: Duration?

        @Option(help: "Retry policy: the longest wait, 0s to 600s (default 600s).", transform: parseDurationOption)
        var maxBackoff: Duration?

        var request: PubSubAdmin.SubscriptionRequest {
            PubSubAdmin.SubscriptionRequest(
                topic: topic, ackDeadline: ackDeadline, deadLetterTopic: deadLetterTopic,
                maxDeliveryAttempts: maxDeliveryAttempts, minimumBackoff: minBackoff, maximumBackoff: maxBackoff)
        }

        func validate() throws {
            try pubsub.validate(name, .subscriptions)
            do {
                _ = try request.settings(project: try pubsub.resolvedProject(for: name))
            } catch let error as PubSubError {
                throw ValidationError(error.message)
            }
        }

        func run() async throws {
            let (name, request) = (name, request)
            try await pubsub.run(name: name) { admin throws(PubSubError) in
                PubSubOutput.createdSubscription(try await admin.createSubscription(name, request))
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete a subscription (its unacknowledged messages are lost).")

        @OptionGroup var pubsub: PubSubOptions

        @Argument(help: "The subscription: a short name in the project, or projects/P/subscriptions/NAME.")
        var name: String

        func validate() throws { try pubsub.validate(name, .subscriptions) }

        func run() async throws {
            let name = name
            try await pubsub.run(name: name) { admin throws(PubSubError) in
                PubSubOutput.deletedSubscription(try await admin.deleteSubscription(name))
            }
        }
    }
}
