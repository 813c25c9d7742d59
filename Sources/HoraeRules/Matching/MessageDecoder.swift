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
            guard case let .array(items) = received else { throw DecodingError(message: "`receivedMessages` is not an array") }
            var out: [PubSubMessage] = []
            for item in items { out.append(try message(from: item)) }
            return out
        }
        if case .object(let pairs) = json, pairs.isEmpty { return [] }  // an empty pull response
        return [try message(from: json)]
    }

    /// One message object (or received message wrapping one).
    public static func message(from json: JSONValue, decodeData: Bool = true) throws(DecodingError) -> PubSubMessage {
        guard case let .object(pairs) = json else { throw DecodingError(message: "a message is a JSON object") }
        if let inner = json["message"] { return try message(from: inner, decodeData: decodeData) }
        var m = PubSubMessage()
        for (key, value) in pairs {
            switch key {
            case "attributes":
                guard case let .object(attrs) = value else {
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
                    guard let bytes = Base64.decode(s) else { throw DecodingError(message: "`data` is not valid base64") }
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

/// Standard base64 (RFC 4648), with or without padding; strict about the alphabet.
public enum Base64 {
    private static let table: [UInt8] = {
        var t = [UInt8](repeating: 0xFF, count: 256)
        for (i, c) in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8.enumerated() { t[Int(c)] = UInt8(i) }
        t[Int(UInt8(ascii: "-"))] = 62  // URL-safe alphabet too
        t[Int(UInt8(ascii: "_"))] = 63
        return t
    }()

    public static func decode(_ text: String) -> [UInt8]? {
        var text = text
        return text.withUTF8 { decode($0) }
    }

    public static func decode(_ input: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        var end = input.count
        while end > 0, input[end - 1] == UInt8(ascii: "=") { end -= 1 }
        guard input.count - end <= 2, end % 4 != 1 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(end * 3 / 4)
        var acc: UInt32 = 0
        var bits = 0
        for i in 0..<end {
            let v = table[Int(input[i])]
            if v == 0xFF { return nil }
            acc = (acc << 6) | UInt32(v)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: acc >> UInt32(bits)))
            }
        }
        return out
    }

    public static func encode(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var out = [UInt8]()
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i + 3 <= bytes.count {
            let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
            out += [alphabet[Int(n >> 18 & 63)], alphabet[Int(n >> 12 & 63)], alphabet[Int(n >> 6 & 63)], alphabet[Int(n & 63)]]
            i += 3
        }
        let rest = bytes.count - i
        if rest > 0 {
            let n = UInt32(bytes[i]) << 16 | (rest == 2 ? UInt32(bytes[i + 1]) << 8 : 0)
            out += [alphabet[Int(n >> 18 & 63)], alphabet[Int(n >> 12 & 63)]]
            out += rest == 2 ? [alphabet[Int(n >> 6 & 63)], UInt8(ascii: "=")] : [UInt8(ascii: "="), UInt8(ascii: "=")]
        }
        return String(decoding: out, as: UTF8.self)
    }
}
