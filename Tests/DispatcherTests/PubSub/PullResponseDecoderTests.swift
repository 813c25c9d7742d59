import HoraeRules
import Testing

@testable import HoraeDispatcher

/// A pull response with bad messages in it: each item with an ack id comes back, good or not.
@Suite struct PullResponseDecoderTests {
    private func decode(_ json: String) throws -> [ReceivedMessage] {
        try PullResponseDecoder.receivedMessages(from: try JSONParser.parse(json))
    }

    @Test func undecodableMessagesKeepTheirAckIDsAndSayWhy() throws {
        let received = try decode(
            """
            {"receivedMessages": [
              {"ackId": "a1", "message": {"data": "aGVsbG8=", "attributes": {"k": "v"}, "messageId": "1",
                                          "publishTime": "2026-01-01T00:00:00Z", "orderingKey": "ok"}, "deliveryAttempt": 3},
              {"ackId": "a2", "message": {"data": "not base64!", "attributes": {"k": "v"}, "messageId": "2"}},
              {"ackId": "a3", "message": {"data": "aGk=", "attributes": {"n": 5, "s": "t"}, "messageId": "3"}, "deliveryAttempt": 1},
              {"ackId": "a4"},
              {"ackId": "a5", "message": "a string"},
              {"message": {"data": "aGk=", "messageId": "6"}},
              {"ackId": "", "message": {"data": "aGk=", "messageId": "7"}},
              {"ackId": "a8", "message": {"attributes": ["not", "an", "object"], "messageId": 8}}
            ]}
            """)
        #expect(received.map(\.ackID) == ["a1", "a2", "a3", "a4", "a5", "a8"])

        let good = received[0]
        #expect(good.problem == nil)
        #expect(
            good.message
                == PubSubMessage(
                    id: "1", attributes: ["k": "v"], data: Array("hello".utf8),
                    publishTime: "2026-01-01T00:00:00Z", orderingKey: "ok"))
        #expect(good.deliveryAttempt == 3)
        #expect(good.size == 5 + 2 + 2)

        let badData = received[1]
        #expect(badData.problem == "`data` is not valid base64")
        #expect(badData.message.id == "2")
        #expect(badData.message.attributes == ["k": "v"])
        #expect(badData.message.data.isEmpty)
        #expect(badData.size == "not base64!".utf8.count * 3 / 4 + 2)

        let badAttribute = received[2]
        #expect(badAttribute.problem == "attribute `n` is not a string")
        #expect(badAttribute.message.attributes == ["s": "t"], "the string attributes are kept")
        #expect(badAttribute.deliveryAttempt == 1)

        #expect(received[3].problem == "the received message has no `message` object")
        #expect(received[4].problem == "the received message has no `message` object")
        #expect(received[5].problem == "`attributes` is not an object")
        #expect(received[5].message.id == "8", "a numeric id is still read")
        #expect(received.dropFirst().allSatisfy { $0.problem != nil })
    }

    @Test func emptyResponsesHoldNoMessages() throws {
        #expect(try decode("{}").isEmpty)
        #expect(try decode(#"{"receivedMessages": []}"#).isEmpty)
    }

    @Test func aMalformedResponseIsARetryableInvalidResponse() throws {
        for body in [#"{"receivedMessages": {"ackId": "a"}}"#, "[]", #""text""#] {
            let error = #expect(throws: PubSubError.self) { _ = try decode(body) }
            #expect(error?.code == .invalidResponse)
            #expect(error?.isRetryable == true)
        }
    }

    @Test func flowControlSizeCountsDataAttributesAndOrderingKey() {
        let message = PubSubMessage(
            id: "ignored", attributes: ["ü": "ab", "k": ""], data: [1, 2, 3],
            publishTime: "ignored", orderingKey: "key")
        #expect(ReceivedMessage.flowControlSize(of: message) == 3 + (2 + 2) + 1 + 3)
        #expect(ReceivedMessage(ackID: "a", message: message).size == 11)
    }
}
