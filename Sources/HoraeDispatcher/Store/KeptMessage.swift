import HoraeRules

/// A task's message as the store keeps it beside the task (schema version 3), for `horae tasks
/// show` and `horae tasks retry`: its Pub/Sub REST JSON form (`messageId`, `publishTime`,
/// `orderingKey`, `attributes`, `data` in base64), so one text column holds it in every store.
///
/// The data is kept up to ``maxDataBytes``; a larger payload is kept without its data
/// (``droppedDataBytes`` says how much), and such a task cannot be retried from the store.
public struct KeptMessage: Sendable, Hashable {
    /// The message; its `data` is empty when it was not kept.
    public var message: PubSubMessage
    /// The size of data that was not kept; 0 when `message.data` is whole.
    public var droppedDataBytes: Int

    /// The largest payload kept with a task: 1 MiB (Pub/Sub allows 10 MB; GCS notifications are
    /// about 1 kB).
    public static let maxDataBytes = 1 << 20

    /// Keeps `message`, without its data when that is over `limit` (the inbox keeps it whole).
    public init(_ message: PubSubMessage, keepingDataUpTo limit: Int = maxDataBytes) {
        var kept = message
        kept.subscription = nil
        if message.data.count > limit {
            kept.data = []
            droppedDataBytes = message.data.count
        } else {
            droppedDataBytes = 0
        }
        self.message = kept
    }

    /// The stored form, written directly (every new task keeps its message, so this is on the
    /// message path): the members in this order, attributes sorted by key, no spaces.
    public var json: String {
        var out: [UInt8] = []
        out.reserveCapacity(
            96 + message.id.utf8.count + (message.data.count + 2) / 3 * 4
                + message.attributes.reduce(0) { $0 + $1.key.utf8.count + $1.value.utf8.count + 6 })
        func member(_ name: StaticString) {
            out.append(out.isEmpty ? UInt8(ascii: "{") : UInt8(ascii: ","))
            out.append(UInt8(ascii: "\""))
            out.append(contentsOf: UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
            out.append(contentsOf: "\":".utf8)
        }
        member("messageId")
        JSONStringEscaper.append(message.id, to: &out)
        if let time = message.publishTime {
            member("publishTime")
            JSONStringEscaper.append(time, to: &out)
        }
        if let key = message.orderingKey {
            member("orderingKey")
            JSONStringEscaper.append(key, to: &out)
        }
        member("attributes")
        out.append(UInt8(ascii: "{"))
        for (i, attribute) in message.attributes.sorted(by: { $0.key < $1.key }).enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            JSONStringEscaper.append(attribute.key, to: &out)
            out.append(UInt8(ascii: ":"))
            JSONStringEscaper.append(attribute.value, to: &out)
        }
        out.append(UInt8(ascii: "}"))
        if droppedDataBytes > 0 {
            member("droppedDataBytes")
            out.append(contentsOf: String(droppedDataBytes).utf8)
        } else {
            // Base64 holds nothing a JSON string escapes.
            member("data")
            out.append(UInt8(ascii: "\""))
            Base64.append(message.data, to: &out)
            out.append(UInt8(ascii: "\""))
        }
        out.append(UInt8(ascii: "}"))
        return String(decoding: out, as: UTF8.self)
    }

    /// Reads the stored form back.
    /// - Throws: ``StateStoreError/Code/invalidData`` when it is not what ``json`` writes.
    public init(json text: String) throws {
        do {
            let value = try JSONParser.parse(text)
            message = try MessageDecoder.message(from: value)
            droppedDataBytes = value["droppedDataBytes"]?.text.flatMap { Int($0) } ?? 0
        } catch {
            throw StateStoreError(
                code: .invalidData, message: "a kept message cannot be read: \(error)", operation: "read message")
        }
    }
}
