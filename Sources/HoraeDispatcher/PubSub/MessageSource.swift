/// How the dispatcher receives a subscription's messages and settles them: the transport seam
/// between the message path (pull loops, ``AckQueue``, ``LeaseManager``) and the wire.
///
/// ``PubSubClient`` is the REST/JSON implementation: one unary pull per ``receive(_:maxMessages:)``.
/// A streaming implementation keeps its streams open between calls and hands out what they
/// delivered; its background work runs in ``run()``.
public protocol MessageSource: Sendable {
    /// Up to `maxMessages` leased messages of `subscription`. May wait for messages to arrive; an
    /// empty answer is allowed (the pull loop pauses briefly and asks again). Cancellation ends
    /// the wait.
    func receive(_ subscription: PubSubResourceName, maxMessages: Int) async throws(PubSubError) -> [ReceivedMessage]

    /// Acknowledges messages (at most ``AckRequestBatcher/maxAckIDsPerRequest`` ids per call).
    func acknowledge(_ subscription: PubSubResourceName, ackIDs: [String]) async throws(PubSubError)

    /// Sets the ack deadline of messages to `seconds` (0 gives them back at once).
    func modifyAckDeadline(_ subscription: PubSubResourceName, ackIDs: [String], seconds: Int)
        async throws(PubSubError)

    /// The transport's background work (open streams, their reconnects), until the calling task is
    /// cancelled. The dispatcher runs it for as long as it pulls or flushes acks.
    func run() async

    /// Stops taking messages from the server (acks and modAcks still go out) and returns what was
    /// delivered and not handed out yet, for the caller to give back. The dispatcher calls it,
    /// while ``run()`` runs, when its shutdown begins: messages it then gives back must not be
    /// redelivered to this process on a stream that is about to close (they would stay leased to
    /// it until their ack deadline).
    func stopReceiving() async -> [PubSubResourceName: [ReceivedMessage]]
}

extension PubSubClient: MessageSource {
    /// One unary pull (``pull(_:maxMessages:timeout:returnImmediately:)``).
    public func receive(_ subscription: PubSubResourceName, maxMessages: Int) async throws(PubSubError)
        -> [ReceivedMessage]
    {
        try await pull(subscription, maxMessages: maxMessages)
    }

    /// Nothing runs in the background: every pull is a request of its own.
    public func run() async {}

    /// Nothing is held between pulls (a pull in flight is abandoned by the pull loop).
    public func stopReceiving() async -> [PubSubResourceName: [ReceivedMessage]] { [:] }
}
