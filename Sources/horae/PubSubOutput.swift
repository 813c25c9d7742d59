import HoraeDispatcher
import HoraeRules

/// What `horae pubsub` prints for what ``PubSubAdmin`` returns: a line per resource or per change
/// (`--format text`), or the API's resources as one JSON array (`--format json`).
enum PubSubOutput {
    /// One full name per line, or the topic resources.
    static func topics(_ topics: [PubSubTopic], format: RulesOptions.Format) -> String {
        switch format {
        case .json: JSONValue.array(topics.map(\.resource)).compactJSON + "\n"
        case .text: topics.map { "\($0.name)\n" }.joined()
        }
    }

    /// One ``line(_:)`` per subscription, or the subscription resources.
    static func subscriptions(_ subscriptions: [PubSubSubscription], format: RulesOptions.Format) -> String {
        switch format {
        case .json: JSONValue.array(subscriptions.map(\.resource)).compactJSON + "\n"
        case .text: subscriptions.map { line($0) + "\n" }.joined()
        }
    }

    /// `NAME  topic=T  ackDeadline=60s  [deadLetterTopic=D  maxDeliveryAttempts=N]  [minBackoff=… maxBackoff=…]`
    static func line(_ s: PubSubSubscription) -> String {
        var fields = ["\(s.name)", "topic=\(s.topic)", "ackDeadline=\(s.ackDeadlineSeconds)s"]
        if let topic = s.deadLetterTopic {
            fields.append("deadLetterTopic=\(topic)")
            if let attempts = s.maxDeliveryAttempts { fields.append("maxDeliveryAttempts=\(attempts)") }
        }
        if let min = s.minimumBackoff { fields.append("minBackoff=\(DurationParser.format(min))") }
        if let max = s.maximumBackoff { fields.append("maxBackoff=\(DurationParser.format(max))") }
        return fields.joined(separator: "  ")
    }

    static func createdTopic(_ topic: PubSubResourceName) -> String { "created topic \(topic)\n" }

    static func deletedTopic(_ topic: PubSubResourceName) -> String { "deleted topic \(topic)\n" }

    static func createdSubscription(_ created: PubSubAdmin.CreatedSubscription) -> String {
        "created subscription \(created.name) on \(created.settings.topic)\n"
    }

    static func deletedSubscription(_ subscription: PubSubResourceName) -> String {
        "deleted subscription \(subscription)\n"
    }
}
