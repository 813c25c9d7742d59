import HoraeRules

/// A message as pulled: the ack id that leases it, the message, and its size for flow control.
///
/// Every item of a pull response that has an ack id becomes one of these, even when its message
/// cannot be decoded: then ``problem`` says why and ``message`` holds what could be read (its id
/// and string attributes at least, when present), so the caller can still count it and ack or
/// dead-letter it instead of losing the lease of the whole batch.
public struct ReceivedMessage: Sendable, Hashable {
    public var ackID: String
    public var message: PubSubMessage
    /// Present when the subscription has a dead-letter policy (1 on the first delivery).
    public var deliveryAttempt: Int?
    /// The bytes Pub/Sub flow control counts against `maxOutstandingBytes`: data, attribute
    /// keys and values (UTF-8), and the ordering key.
    public var size: Int
    /// Why the message could not be decoded, or nil when ``message`` is complete.
    public var problem: String?

    /// `size` defaults to ``flowControlSize(of:)`` of `message`.
    public init(
        ackID: String, message: PubSubMessage, deliveryAttempt: Int? = nil, size: Int? = nil,
        problem: String? = nil
    ) {
        self.ackID = ackID
        self.message = message
        self.deliveryAttempt = deliveryAttempt
        self.size = size ?? Self.flowControlSize(of: message)
        self.problem = problem
    }

    /// Data + attribute keys and values + ordering key, in bytes.
    public static func flowControlSize(of message: PubSubMessage) -> Int {
        message.data.count
            + message.attributes.reduce(0) { $0 + $1.key.utf8.count + $1.value.utf8.count }
            + (message.orderingKey?.utf8.count ?? 0)
    }
}
