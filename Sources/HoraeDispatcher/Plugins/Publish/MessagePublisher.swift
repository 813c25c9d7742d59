/// Where the `publish` action sends messages: ``PubSubClient`` in the daemon, a fake in tests.
public protocol MessagePublisher: Sendable {
    /// Validates a topic name — a short name in the publisher's project, or
    /// `projects/P/topics/T` — before anything is sent.
    func topic(_ name: String) throws(PubSubError) -> PubSubResourceName
    /// Publishes `messages` to `topic` and returns their ids, in order.
    func publish(_ topic: PubSubResourceName, messages: [OutgoingMessage]) async throws(PubSubError) -> [String]
}

extension PubSubClient: MessagePublisher {}

extension MessagePublisher {
    /// Publishes one message to a topic named as rules write it; returns its id.
    public func publish(topic: String, message: OutgoingMessage) async throws(PubSubError) -> String {
        let name = try self.topic(topic)
        let ids = try await publish(name, messages: [message])
        guard let id = ids.first else {
            throw PubSubError(.invalidResponse, "publish to \(name) returned no message id", isRetryable: true)
        }
        return id
    }
}
