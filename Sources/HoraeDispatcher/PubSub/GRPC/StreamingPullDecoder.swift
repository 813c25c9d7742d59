import HoraeRules
import SwiftProtobuf

/// Turns the received messages of a StreamingPull response into the ``ReceivedMessage``s a REST
/// pull of the same messages gives (``PullResponseDecoder``), field for field: the REST API's
/// JSON leaves out empty values, so an empty ordering key and a delivery attempt of 0 (no
/// dead-letter policy) become nil here too, and the publish time is written as the JSON mapping
/// writes a Timestamp (RFC 3339 in UTC with 0, 3, 6 or 9 fractional digits).
enum StreamingPullDecoder {
    /// Every item with an ack id, in order; one without is skipped (nothing to settle).
    static func receivedMessages(_ items: [Google_Pubsub_V1_ReceivedMessage]) -> [ReceivedMessage] {
        var out: [ReceivedMessage] = []
        out.reserveCapacity(items.count)
        for item in items where !item.ackID.isEmpty {
            out.append(receivedMessage(item))
        }
        return out
    }

    static func receivedMessage(_ item: Google_Pubsub_V1_ReceivedMessage) -> ReceivedMessage {
        let attempt = item.deliveryAttempt == 0 ? nil : Int(item.deliveryAttempt)
        guard item.hasMessage else {
            return ReceivedMessage(
                ackID: item.ackID, message: PubSubMessage(), deliveryAttempt: attempt,
                problem: "the received message has no `message` object")
        }
        let m = item.message
        let message = PubSubMessage(
            id: m.messageID, attributes: m.attributes, data: [UInt8](m.data),
            publishTime: m.hasPublishTime ? publishTime(m.publishTime) : nil,
            orderingKey: m.orderingKey.isEmpty ? nil : m.orderingKey)
        return ReceivedMessage(ackID: item.ackID, message: message, deliveryAttempt: attempt)
    }

    /// The Timestamp's JSON form without its quotes; nil for one outside the JSON range.
    static func publishTime(_ timestamp: Google_Protobuf_Timestamp) -> String? {
        guard let json = try? timestamp.jsonString(), json.count >= 2 else { return nil }
        return String(json.dropFirst().dropLast())
    }
}
