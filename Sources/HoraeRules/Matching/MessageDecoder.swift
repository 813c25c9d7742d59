/// Reads Pub/Sub messages from their REST JSON forms: a message object
/// (`{"attributes":…, "data": base64, "messageId":…, "publishTime":…}`), a received message
/// (`{"ackId":…, "message":{…}, "deliveryAttempt":…}`) or a whole `pull` response.
public enum MessageDecoder {
    public struct DecodingError: Error, Sendable, Hashable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    /// Every message in `json` (one, or all of a pull response).
    public static func messages(from json: JSONValue) throws(DecodingError) -> [PubSubMessage] {
        if let received = json["receivedMessages"] {
            guard case .array(let items) = received else {
                throw DecodingError(message: "`receivedMessages` is not an array")
            }
            var out: [PubSubMessage] = []
            for item in items { out.append(try message(from: item)) }
            return out
        }
        if case .object(let pairs) = json, pairs.isEmpty { return [] }  // an empty pull response
        return [try message(from: json)]
    }

    /// One message object (or received message wrapping one).
    public static func message(from json: JSONValue, decodeData: Bool = true) throws(DecodingError) -> PubSubMessage {
        guard case .object(let pairs) = json else { throw DecodingError(message: "a message is a JSON object") }
        if let inner = json["message"] { return try message(from: inner, decodeData: decodeData) }
        var m = PubSubMessage()
        for (key, value) in pairs {
            switch key {
            case "attributes":
                guard case .object(let attrs) = value else {
                    if case .null = value { continue }
                    throw DecodingError(message: "`attributes` is not an object")
                }
                m.attributes.reserveCapacity(attrs.count)
                for (k, v) in attrs {
                    guard let s = v.string else { throw DecodingError(message: "attribute `\(k)` is not a string") }
                    m.attributes[k] = s
                }
            case "data":
                guard let s = value.string else {
                    if case .null = value { continue }
                    throw DecodingError(message: "`data` is not a base64 string")
                }
                if decodeData {
                    guard let bytes = Base64.decode(s) else {
                        throw DecodingError(message: "`data` is not valid base64")
                    }
                    m.data = bytes
                }
            case "messageId", "message_id": m.id = value.string ?? value.text ?? ""
            case "publishTime", "publish_time": m.publishTime = value.string
            case "orderingKey", "ordering_key": m.orderingKey = value.string
            default: continue
            }
        }
        return m
    }
}
