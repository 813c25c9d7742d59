/// Where the `publish` action sends messages: ``PubSubClient`` in the daemon, a fake in tests.
public protocol MessagePublisher: Sendable {
    /// Validates a topic name — a short name in the publisher's project, or
    /// `projects/P/topics/T` — before anything is sent.
    func topic(_ name: String) throws(PubSubError) -> PubSubResourceName
    /// Publishes `messages` to `topic` and returns their ids, in order.
    func publish(_ topic: PubSubResourceName, messages: [OutgoingMessage]) async throws(PubSubError) -> [String]
}

extension PubSubClient: MessagePublisher {}
