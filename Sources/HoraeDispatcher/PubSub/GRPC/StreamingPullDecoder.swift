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
            id: m.messageID, attributes: attributes(m.attributes), data: [UInt8](m.data),
            publishTime: m.hasPublishTime ? publishTime(m.publishTime) : nil,
            orderingKey: m.orderingKey.isEmpty ? nil : m.orderingKey)
        return ReceivedMessage(ackID: item.ackID, message: message, deliveryAttempt: attempt)
    }

    /// The attribute entries (the wire form of the API's map) as a dictionary; a key given twice
    /// keeps its last value, as a map field does.
    static func attributes(_ entries: [Google_Pubsub_V1_PubsubMessage.AttributesEntry]) -> [String: String] {
        var attributes: [String: String] = [:]
        attributes.reserveCapacity(entries.count)
        for entry in entries { attributes[entry.key] = entry.value }
        return attributes
    }

    /// The Timestamp's JSON form without its quotes (`2026-12-07T19:45:00.123Z`); nil for one
    /// outside the JSON mapping's range (years 1 to 9999, nanos 0 to 999 999 999). Written here,
    /// not through SwiftProtobuf's JSON encoder, which costs several thousand instructions a
    /// message; `publishTimeMatchesTheJSONMapping` checks the two agree.
    static func publishTime(_ timestamp: Google_Protobuf_Timestamp) -> String? {
        let seconds = timestamp.seconds
        let nanos = Int(timestamp.nanos)
        guard (minJSONSeconds...maxJSONSeconds).contains(seconds), (0..<1_000_000_000).contains(nanos) else {
            return nil
        }
        let days = CivilCalendar.floorDiv(seconds, 86_400)
        let secondOfDay = Int(seconds - days * 86_400)
        let (year, month, day) = CivilCalendar.civil(fromDays: days)
        // The JSON mapping writes 0, 3, 6 or 9 fractional digits: as few as keep every nonzero one.
        let fractionDigits = nanos == 0 ? 0 : nanos % 1_000_000 == 0 ? 3 : nanos % 1000 == 0 ? 6 : 9
        return String(unsafeUninitializedCapacity: 30) { out in
            var at = 0
            func digits(_ value: Int, _ width: Int) {
                var rest = value
                for i in stride(from: at + width - 1, through: at, by: -1) {
                    out[i] = UInt8(ascii: "0") + UInt8(rest % 10)
                    rest /= 10
                }
                at += width
            }
            func byte(_ ascii: Unicode.Scalar) {
                out[at] = UInt8(ascii: ascii)
                at += 1
            }
            digits(Int(year), 4)
            byte("-")
            digits(month, 2)
            byte("-")
            digits(day, 2)
            byte("T")
            digits(secondOfDay / 3600, 2)
            byte(":")
            digits(secondOfDay / 60 % 60, 2)
            byte(":")
            digits(secondOfDay % 60, 2)
            if fractionDigits > 0 {
                byte(".")
                var scaled = nanos
                for _ in fractionDigits..<9 { scaled /= 10 }
                digits(scaled, fractionDigits)
            }
            byte("Z")
            return at
        }
    }

    /// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z in seconds since the epoch.
    static let minJSONSeconds: Int64 = -62_135_596_800
    static let maxJSONSeconds: Int64 = 253_402_300_799
}
