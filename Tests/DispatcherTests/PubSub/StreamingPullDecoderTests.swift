import Foundation
import HoraeTestSupport
import SwiftProtobuf
import Testing

@testable import HoraeDispatcher

/// What a StreamingPull response's messages become (docs/daemon.md, "Transports"): the REST
/// decoder's ``ReceivedMessage``s, publish time included.
struct StreamingPullDecoderTests {
    /// The publish time is written as SwiftProtobuf's JSON mapping writes a Timestamp, for the
    /// range's ends, every fraction width, leap days, and a spread of instants; out of range it
    /// is nil where the mapping refuses it.
    @Test func publishTimeMatchesTheJSONMapping() {
        let edges: [Int64] = [
            StreamingPullDecoder.minJSONSeconds, StreamingPullDecoder.minJSONSeconds - 1,
            StreamingPullDecoder.maxJSONSeconds, StreamingPullDecoder.maxJSONSeconds + 1,
            -1, 0, 1, 951_782_400, 1_709_164_800, 1_796_500_000, 4_107_542_399,
        ]
        let nanos: [Int32] = [0, 1, 999_999_999, 1_000_000, 120_000_000, 123_000, 123_456_789, 500, -1, 1_000_000_000]
        var random = SeededRandom(seed: 42)
        var seconds = edges
        for _ in 0..<2000 {
            seconds.append(
                StreamingPullDecoder.minJSONSeconds
                    + Int64(
                        random.next()
                            % UInt64(StreamingPullDecoder.maxJSONSeconds - StreamingPullDecoder.minJSONSeconds + 1)))
        }
        var compared = 0
        var mismatches: [String] = []
        for s in seconds {
            for n in nanos {
                var timestamp = Google_Protobuf_Timestamp()
                timestamp.seconds = s
                timestamp.nanos = n
                let reference = (try? timestamp.jsonString()).map { String($0.dropFirst().dropLast()) }
                let ours = StreamingPullDecoder.publishTime(timestamp)
                if ours != reference { mismatches.append("\(s).\(n): \(ours ?? "nil") vs \(reference ?? "nil")") }
                compared += 1
            }
        }
        #expect(compared == (edges.count + 2000) * nanos.count)
        #expect(mismatches.isEmpty, "\(mismatches.prefix(5))")
        var leap = Google_Protobuf_Timestamp()
        leap.seconds = 951_782_400  // 2000-02-29
        leap.nanos = 120_000_000
        #expect(StreamingPullDecoder.publishTime(leap) == "2000-02-29T00:00:00.120Z")
    }

    /// Empty values the REST API leaves out become nil, as the REST decoder gives them.
    @Test func emptyOrderingKeyAndNoDeliveryAttemptAreNil() {
        var item = Google_Pubsub_V1_ReceivedMessage()
        item.ackID = "a1"
        item.message.messageID = "7"
        item.message.attributes = [Self.entry("bucketId", "b")]
        item.message.data = Data([1, 2])
        let received = StreamingPullDecoder.receivedMessage(item)
        #expect(received.message.orderingKey == nil)
        #expect(received.deliveryAttempt == nil)
        #expect(received.message.publishTime == nil)
        #expect(received.message.attributes == ["bucketId": "b"])
        #expect(received.size == 2 + "bucketId".utf8.count + 1)
    }

    /// Attributes arrive as a map's wire form, entry messages; a key sent twice keeps its last
    /// value, as protobuf's map decoding does.
    @Test func aRepeatedAttributeKeepsItsLastValue() {
        var item = Google_Pubsub_V1_ReceivedMessage()
        item.ackID = "a1"
        item.message.attributes = [Self.entry("k", "1"), Self.entry("other", "x"), Self.entry("k", "2")]
        #expect(StreamingPullDecoder.receivedMessage(item).message.attributes == ["k": "2", "other": "x"])
    }

    /// An entry with no key or no value is an empty string, as for a map.
    @Test func anEntryWithoutKeyOrValueIsEmpty() throws {
        // Field 2 (attributes), length 3: an entry holding only field 2 (value) = "v".
        let bytes: [UInt8] = [0x12, 0x03, 0x12, 0x01, 0x76]
        let message = try Google_Pubsub_V1_PubsubMessage(serializedBytes: bytes)
        #expect(StreamingPullDecoder.attributes(message.attributes) == ["": "v"])
    }

    static func entry(_ key: String, _ value: String) -> Google_Pubsub_V1_PubsubMessage.AttributesEntry {
        var entry = Google_Pubsub_V1_PubsubMessage.AttributesEntry()
        entry.key = key
        entry.value = value
        return entry
    }
}
