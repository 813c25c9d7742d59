import HoraeRules

/// Reads a `pull` response body into ``ReceivedMessage``s without letting one bad message cost
/// the batch: an ack id is a lease, and dropping it would leave the message invisible until its
/// deadline passes, then redeliver it forever.
enum PullResponseDecoder {
    /// Every item of `receivedMessages` that has an `ackId`, in order. An item whose message
    /// cannot be decoded comes back with ``ReceivedMessage/problem`` set; an item without an ack id
    /// is skipped (there is nothing to acknowledge: the server redelivers it after its deadline).
    /// - Throws: `.invalidResponse` when the body is not an object or `receivedMessages` is not a list.
    static func receivedMessages(from response: JSONValue) throws(PubSubError) -> [ReceivedMessage] {
        guard case .object = response else {
            throw PubSubError(.invalidResponse, "the pull response is not a JSON object", isRetryable: true)
        }
        guard let received = response["receivedMessages"] else { return [] }
        guard case .array(let items) = received else {
            throw PubSubError(.invalidResponse, "`receivedMessages` is not a list", isRetryable: true)
        }
        var out: [ReceivedMessage] = []
        out.reserveCapacity(items.count)
        for item in items {
            guard let ackID = item["ackId"]?.string, !ackID.isEmpty else { continue }
            out.append(receivedMessage(ackID: ackID, item: item))
        }
        return out
    }

    private static func receivedMessage(ackID: String, item: JSONValue) -> ReceivedMessage {
        let attempt = item["deliveryAttempt"]?.text.flatMap { Int($0) }
        guard let json = item["message"], case .object = json else {
            return ReceivedMessage(
                ackID: ackID, message: PubSubMessage(), deliveryAttempt: attempt,
                problem: "the received message has no `message` object")
        }
        do {
            let message = try MessageDecoder.message(from: json)
            return ReceivedMessage(ackID: ackID, message: message, deliveryAttempt: attempt)
        } catch {
            let partial = bestEffort(json)
            // Flow control still needs a size: undecodable base64 counts at its decoded length.
            let dataSize = (json["data"]?.string?.utf8.count ?? 0) * 3 / 4
            return ReceivedMessage(
                ackID: ackID, message: partial, deliveryAttempt: attempt,
                size: ReceivedMessage.flowControlSize(of: partial) + dataSize,
                problem: error.message)
        }
    }

    /// What can be read from a message that does not decode: id, publish time, ordering key and
    /// the attributes whose values are strings. The data is left empty.
    private static func bestEffort(_ json: JSONValue) -> PubSubMessage {
        var message = PubSubMessage(
            id: json["messageId"]?.text ?? "", publishTime: json["publishTime"]?.string,
            orderingKey: json["orderingKey"]?.string)
        if case .object(let pairs)? = json["attributes"] {
            for (key, value) in pairs { if let text = value.string { message.attributes[key] = text } }
        }
        return message
    }
}
