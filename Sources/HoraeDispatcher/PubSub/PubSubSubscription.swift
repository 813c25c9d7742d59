import HoraeRules

/// A subscription as the API reports it (`GET` or `list`): the settings Horae cares about, and
/// the whole resource for anything else.
public struct PubSubSubscription: Sendable, Hashable {
    public var name: PubSubResourceName
    /// The topic's full name, or `_deleted-topic_` once the topic was deleted.
    public var topic: String
    public var ackDeadlineSeconds: Int
    /// The dead-letter policy's topic (full name), if the subscription has one.
    public var deadLetterTopic: String?
    /// With a dead-letter policy: deliveries before a message goes to ``deadLetterTopic``.
    public var maxDeliveryAttempts: Int?
    /// The retry policy's backoffs, if the subscription has one.
    public var minimumBackoff: Duration?
    public var maximumBackoff: Duration?
    /// The resource as received.
    public var resource: JSONValue

    /// What ``topic`` reads once the topic was deleted.
    public static let deletedTopic = "_deleted-topic_"

    /// Reads a subscription resource.
    /// - Throws: `.invalidResponse` when `name` is missing or not a subscription name.
    public init(resource: JSONValue) throws(PubSubError) {
        guard let nameText = resource["name"]?.string else {
            throw PubSubError(.invalidResponse, "a subscription resource has no `name`")
        }
        do {
            name = try PubSubResourceName(nameText, kind: .subscriptions, defaultProject: "")
        } catch {
            throw PubSubError(.invalidResponse, "the API returned a subscription named `\(nameText)`: \(error.message)")
        }
        topic = resource["topic"]?.string ?? ""
        ackDeadlineSeconds = resource["ackDeadlineSeconds"]?.text.flatMap { Int($0) } ?? 0
        let deadLetter = resource["deadLetterPolicy"]
        deadLetterTopic = deadLetter?["deadLetterTopic"]?.string
        maxDeliveryAttempts = deadLetter?["maxDeliveryAttempts"]?.text.flatMap { Int($0) }
        let retry = resource["retryPolicy"]
        minimumBackoff = retry?["minimumBackoff"]?.string.flatMap(ProtobufDuration.parse)
        maximumBackoff = retry?["maximumBackoff"]?.string.flatMap(ProtobufDuration.parse)
        self.resource = resource
    }
}
