/// Reads a Pub/Sub `pull` response of the usual shape straight from its bytes into messages,
/// without building a ``JSONValue`` tree first (building and then freeing that tree was about a
/// fifth of the daemon's instructions per message: docs/benchmarks.md).
///
/// Only the shape Pub/Sub sends is taken: an object with at most `receivedMessages`, each item
/// with a non-empty string `ackId`, a `message` object and an optional integer `deliveryAttempt`,
/// each message with string `messageId`, `publishTime`, `orderingKey`, valid base64 `data` and an
/// `attributes` object of strings, every key at most once. For anything else — another key or
/// type, a duplicate, bad base64, a syntax error — ``scan(_:)`` returns nil and the caller parses
/// the body into a tree and decodes that, whose rules (and per-message problems) then apply. So
/// for every body this gives what the tree would, or nothing.
public enum PullResponseScanner {
    public struct Item: Sendable, Hashable {
        public var ackID: String
        public var message: PubSubMessage
        public var deliveryAttempt: Int?
    }

    /// The received messages of `body`, in order; nil when it is not of the usual shape.
    public static func scan(_ body: UnsafeBufferPointer<UInt8>) -> [Item]? {
        var scanner = JSONParser(bytes: body)
        do {
            return try scanner.pullResponse()
        } catch {
            return nil
        }
    }

    public static func scan(_ body: [UInt8]) -> [Item]? {
        body.withUnsafeBufferPointer { scan($0) }
    }
}

extension JSONParser {
    /// Anything the scanner leaves to the tree.
    private func unusual() -> SyntaxError { fail("not the usual pull response shape") }

    private mutating func expect(_ byte: UInt8) throws(SyntaxError) {
        skipSpace()
        guard pos < bytes.count, bytes[pos] == byte else { throw unusual() }
        pos += 1
    }

    /// Skips space; consumes `byte` if it is next.
    private mutating func take(_ byte: UInt8) -> Bool {
        skipSpace()
        guard pos < bytes.count, bytes[pos] == byte else { return false }
        pos += 1
        return true
    }

    /// The next value, which must be a string.
    private mutating func stringValue() throws(SyntaxError) -> String {
        skipSpace()
        guard pos < bytes.count, bytes[pos] == UInt8(ascii: "\"") else { throw unusual() }
        return try string()
    }

    /// The members of an object, `{` already read: calls `member` with each key, at the value.
    private mutating func members(_ member: (inout JSONParser, String) throws(SyntaxError) -> Void)
        throws(SyntaxError)
    {
        if take(UInt8(ascii: "}")) { return }
        repeat {
            let key = try stringValue()
            try expect(UInt8(ascii: ":"))
            try member(&self, key)
        } while take(UInt8(ascii: ","))
        try expect(UInt8(ascii: "}"))
    }

    mutating func pullResponse() throws(SyntaxError) -> [PullResponseScanner.Item] {
        var items: [PullResponseScanner.Item] = []
        var seen = false
        try expect(UInt8(ascii: "{"))
        try members { (p: inout JSONParser, key: String) throws(SyntaxError) in
            guard key == "receivedMessages", !seen else { throw p.unusual() }
            seen = true
            try p.expect(UInt8(ascii: "["))
            if p.take(UInt8(ascii: "]")) { return }
            repeat {
                items.append(try p.receivedItem())
            } while p.take(UInt8(ascii: ","))
            try p.expect(UInt8(ascii: "]"))
        }
        skipSpace()
        guard pos == bytes.count else { throw unusual() }
        return items
    }

    private mutating func receivedItem() throws(SyntaxError) -> PullResponseScanner.Item {
        var ackID: String?
        var message: PubSubMessage?
        var attempt: Int??
        try expect(UInt8(ascii: "{"))
        try members { (p: inout JSONParser, key: String) throws(SyntaxError) in
            switch key {
            case "ackId" where ackID == nil:
                ackID = try p.stringValue()
            case "message" where message == nil:
                message = try p.messageObject()
            case "deliveryAttempt" where attempt == nil:
                p.skipSpace()
                guard let value = Int(try p.number()) else { throw p.unusual() }
                attempt = .some(value)
            default:
                throw p.unusual()
            }
        }
        guard let ackID, !ackID.isEmpty, let message else { throw unusual() }
        return PullResponseScanner.Item(ackID: ackID, message: message, deliveryAttempt: attempt ?? nil)
    }

    private mutating func messageObject() throws(SyntaxError) -> PubSubMessage {
        var message = PubSubMessage()
        /// The members read so far, one bit each (a duplicate is left to the tree).
        var seen: UInt8 = 0
        try expect(UInt8(ascii: "{"))
        try members { (p: inout JSONParser, key: String) throws(SyntaxError) in
            let bit: UInt8 =
                switch key {
                case "messageId": 1
                case "publishTime": 2
                case "orderingKey": 4
                case "data": 8
                case "attributes": 16
                default: 0
                }
            guard bit != 0, seen & bit == 0 else { throw p.unusual() }
            seen |= bit
            switch bit {
            case 1: message.id = try p.stringValue()
            case 2: message.publishTime = try p.stringValue()
            case 4: message.orderingKey = try p.stringValue()
            case 8:
                guard let bytes = Base64.decode(try p.stringValue()) else { throw p.unusual() }
                message.data = bytes
            default:
                message.attributes.reserveCapacity(8)
                try p.expect(UInt8(ascii: "{"))
                try p.members { (p: inout JSONParser, name: String) throws(SyntaxError) in
                    let value = try p.stringValue()
                    guard message.attributes.updateValue(value, forKey: name) == nil else { throw p.unusual() }
                }
            }
        }
        return message
    }
}
