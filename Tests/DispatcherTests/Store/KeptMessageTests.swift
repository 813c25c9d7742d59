import HoraeRules
import Testing

@testable import HoraeDispatcher

/// A kept message's stored form is written directly, not through a JSON tree: it must stay the
/// JSON a tree gives (same members, order and escapes), and read back to the message.
@Suite struct KeptMessageTests {
    /// The form the store has always written: a JSON object built as a tree, then serialized.
    private static func treeJSON(_ kept: KeptMessage) -> String {
        let message = kept.message
        var members: [(key: String, value: JSONValue)] = [("messageId", .string(message.id))]
        if let time = message.publishTime { members.append(("publishTime", .string(time))) }
        if let key = message.orderingKey { members.append(("orderingKey", .string(key))) }
        members.append(
            ("attributes", .object(message.attributes.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })))
        if kept.droppedDataBytes > 0 {
            members.append(("droppedDataBytes", .number(String(kept.droppedDataBytes))))
        } else {
            members.append(("data", .string(Base64.encode(message.data))))
        }
        return JSONValue.object(members).compactJSON
    }

    static let messages: [PubSubMessage] = [
        PubSubMessage(id: "1", data: []),
        PubSubMessage(
            id: "2", attributes: ["objectId": "a/b c.csv", "bucketId": "b", "eventType": "OBJECT_FINALIZE"],
            data: Array(#"{"name":"a/b c.csv"}"#.utf8), publishTime: "2026-12-07T01:02:03.456Z"),
        PubSubMessage(
            id: "q\"uote\\", attributes: ["ключ": "значение", "\u{1}ctl": "line\nbreak\u{2028}", "é": "\u{7F}"],
            data: [0, 255, 1, 254], publishTime: nil, orderingKey: "order\tkey"),
    ]

    @Test(arguments: messages)
    func theDirectFormIsTheTreeForm(_ message: PubSubMessage) throws {
        let kept = KeptMessage(message)
        #expect(kept.json == Self.treeJSON(kept))
        #expect(try KeptMessage(json: kept.json) == kept)
    }

    @Test func aMessageOverTheLimitIsKeptWithoutItsData() throws {
        let kept = KeptMessage(PubSubMessage(id: "big", data: Array(repeating: 7, count: 10)), keepingDataUpTo: 4)
        #expect(kept.droppedDataBytes == 10)
        #expect(kept.json == Self.treeJSON(kept))
        #expect(kept.json.hasSuffix(#""droppedDataBytes":10}"#))
        #expect(try KeptMessage(json: kept.json).droppedDataBytes == 10)
    }
}
