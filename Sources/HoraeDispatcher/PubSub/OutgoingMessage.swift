/// A message to publish. Pub/Sub rejects a message with neither data nor attributes.
public struct OutgoingMessage: Sendable, Hashable {
    public var data: [UInt8]
    public var attributes: [String: String]
    /// Sent when non-empty; messages with one key are delivered in order on subscriptions with
    /// message ordering enabled.
    public var orderingKey: String?

    public init(data: [UInt8] = [], attributes: [String: String] = [:], orderingKey: String? = nil) {
        self.data = data
        self.attributes = attributes
        self.orderingKey = orderingKey
    }
}
