/// A Pub/Sub message as the matcher sees it.
public struct PubSubMessage: Sendable, Hashable {
    public var id: String
    public var attributes: [String: String]
    /// The payload, already base64-decoded.
    public var data: [UInt8]
    public var publishTime: String?
    public var orderingKey: String?
    /// The logical subscription name (daemon config) it came from, when known.
    public var subscription: String?

    public init(
        id: String = "", attributes: [String: String] = [:], data: [UInt8] = [], publishTime: String? = nil,
        orderingKey: String? = nil, subscription: String? = nil
    ) {
        self.id = id
        self.attributes = attributes
        self.data = data
        self.publishTime = publishTime
        self.orderingKey = orderingKey
        self.subscription = subscription
    }
}
