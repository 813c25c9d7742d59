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

    /// The stored form.
    public var json: String {
        var members: [(key: String, value: JSONValue)] = [("messageId", .string(message.id))]
        if let time = message.publishTime { members.append(("publishTime", .string(time))) }
        if let key = message.orderingKey { members.append(("orderingKey", .string(key))) }
        members.append(
            ("attributes", .object(message.attributes.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })))
        if droppedDataBytes > 0 {
            members.append(("droppedDataBytes", .number(String(droppedDataBytes))))
        } else {
            members.append(("data", .string(Base64.encode(message.data))))
        }
        return JSONValue.object(members).compactJSON
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
