import HoraeRules

/// Publishes one message to a topic named as rules write it (a short name in the daemon's
/// project, or `projects/P/topics/T`). The dead-letter step and the `publish` plugin use it.
public protocol MessagePublisher: Sendable {
    /// - Returns: the new message's id.
    func publish(topic: String, message: OutgoingMessage) async throws(PubSubError) -> String
}

extension PubSubClient: MessagePublisher {
    public func publish(topic: String, message: OutgoingMessage) async throws(PubSubError) -> String {
        let name = try self.topic(topic)
        let ids = try await publish(name, messages: [message])
        guard let id = ids.first else { throw PubSubError(.invalidResponse, "publish to \(name) returned no message id", isRetryable: true) }
        return id
    }
}
