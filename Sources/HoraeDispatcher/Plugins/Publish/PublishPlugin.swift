import HoraeRules

/// The `publish` action: publishes one message to a Pub/Sub topic (docs/rules.md, "Actions").
///
/// Options (rendered):
/// - `topic` (required): a short name in the daemon's project or `projects/P/topics/T`,
///   validated by ``PubSubResourceName`` before it goes into a URL; an invalid name is a
///   permanent failure and nothing is sent. A template value may fill in names but not add a
///   `/` (``TemplatedName/checkTopic(_:template:option:)``): only the rule writes
///   `projects/P/topics/`.
/// - `data` (string): the payload, as UTF-8; or `json` (structured): the payload is the JSON text
///   built from the rendered tree (each string leaf one JSON string). Neither: an empty payload.
/// - `attributes` (map): the message's attributes, built from rendered leaves.
/// - `orderingKey` (string): sent when not empty.
///
/// Outcome: published → success, the output being the message id; no response (connection,
/// timeout), 408, 429 or 5xx, an unreadable answer, credentials that could not be fetched for a
/// passing reason → retryable; every other status (400 bad message, 403, 404 missing topic) →
/// permanent. Cancellation (shutdown) → retryable.
public struct PublishPlugin: ActionPlugin {
    public var plugin: Plugin { .publish }

    private let publisher: any MessagePublisher

    public init(publisher: any MessagePublisher) {
        self.publisher = publisher
    }

    public func run(_ invocation: ActionInvocation) async -> ActionOutcome {
        let options = invocation.options
        guard let topicName = options["topic"]?.string else { return .permanent("publish: `topic` must be a string") }
        guard case .template(let template)? = invocation.action?["topic"] else {
            return .permanent("publish: cannot check `topic`: the invocation does not carry the rule's action")
        }
        do { try TemplatedName.checkTopic(topicName, template: template, option: "topic") } catch {
            return .permanent("publish: \(error.message)")
        }
        let topic: PubSubResourceName
        do {
            topic = try publisher.topic(topicName)
        } catch {
            return .permanent("publish: \(error.message)")
        }

        var message = OutgoingMessage()
        if let json = options["json"] {
            do { message.data = Array(try json.jsonValue().compactJSON.utf8) } catch {
                return .permanent("publish to \(topic): `json` holds a number JSON cannot represent (.inf or .nan)")
            }
        } else if let data = options["data"] {
            guard let text = data.string else { return .permanent("publish to \(topic): `data` must be a string") }
            message.data = Array(text.utf8)
        }
        if let attributes = options["attributes"] {
            guard let pairs = attributes.stringPairs else {
                return .permanent("publish to \(topic): `attributes` must map names to strings")
            }
            for pair in pairs { message.attributes[pair.key] = pair.value }
        }
        if let key = options["orderingKey"] {
            guard let text = key.string else {
                return .permanent("publish to \(topic): `orderingKey` must be a string")
            }
            if !text.isEmpty { message.orderingKey = text }
        }

        let ids: [String]
        do {
            ids = try await publisher.publish(topic, messages: [message])
        } catch {
            return Self.classify(error, topic: topic)
        }
        guard let id = ids.first else {
            return .retryable("publish to \(topic): the server returned no message id")
        }
        return .success(output: id)
    }

    static func classify(_ error: PubSubError, topic: PubSubResourceName) -> ActionOutcome {
        let text = "publish to \(topic): \(error)"
        switch error.code {
        case .invalidName, .invalidArgument:
            return .permanent(text)
        case .http:
            let status = error.status ?? 0
            let retryable = status == 408 || status == 429 || (500...599).contains(status)
            return retryable ? .retryable(text) : .permanent(text)
        case .transport, .credentials:
            // A cancelled call (shutdown) is not retryable for the client, but this action is.
            if Task.isCancelled { return .retryable("publish to \(topic): cancelled") }
            return error.isRetryable ? .retryable(text) : .permanent(text)
        case .invalidResponse:
            return .retryable(text)
        case .responseTooLarge:
            return .permanent(text)
        }
    }
}
