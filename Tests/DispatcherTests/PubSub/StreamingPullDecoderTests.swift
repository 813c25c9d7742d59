import Foundation
import HoraeRules
import HoraeTestSupport
import SwiftProtobuf
import Testing

@testable import HoraeDispatcher

/// What a StreamingPull response's bytes become (docs/daemon.md, "Transports"): the REST
/// decoder's ``ReceivedMessage``s, publish time included, read by ``StreamingPullWireDecoder``.
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
                let ours = StreamingPullDecoder.publishTime(seconds: s, nanos: n)
                if ours != reference { mismatches.append("\(s).\(n): \(ours ?? "nil") vs \(reference ?? "nil")") }
                compared += 1
            }
        }
        #expect(compared == (edges.count + 2000) * nanos.count)
        #expect(mismatches.isEmpty, "\(mismatches.prefix(5))")
        var leap = Google_Protobuf_Timestamp()
        leap.seconds = 951_782_400  // 2000-02-29
        leap.nanos = 120_000_000
        #expect(
            StreamingPullDecoder.publishTime(seconds: leap.seconds, nanos: leap.nanos) == "2000-02-29T00:00:00.120Z")
    }

    /// Empty values the REST API leaves out become nil, as the REST decoder gives them.
    @Test func emptyOrderingKeyAndNoDeliveryAttemptAreNil() throws {
        var item = Google_Pubsub_V1_ReceivedMessage()
        item.ackID = "a1"
        item.message.messageID = "7"
        item.message.attributes = [Self.entry("bucketId", "b")]
        item.message.data = Data([1, 2])
        let received = try #require(try Self.decode([item]).first)
        #expect(received.message.orderingKey == nil)
        #expect(received.deliveryAttempt == nil)
        #expect(received.message.publishTime == nil)
        #expect(received.message.attributes == ["bucketId": "b"])
        #expect(received.size == 2 + "bucketId".utf8.count + 1)
    }

    /// Attributes arrive as a map's wire form, entry messages; a key sent twice keeps its last
    /// value, as protobuf's map decoding does.
    @Test func aRepeatedAttributeKeepsItsLastValue() throws {
        var item = Google_Pubsub_V1_ReceivedMessage()
        item.ackID = "a1"
        item.message.attributes = [Self.entry("k", "1"), Self.entry("other", "x"), Self.entry("k", "2")]
        #expect(try Self.decode([item]).first?.message.attributes == ["k": "2", "other": "x"])
    }

    /// An entry with no key or no value is an empty string, as for a map.
    @Test func anEntryWithoutKeyOrValueIsEmpty() throws {
        // Response field 1, length 9: ack id "a"; message (field 2, length 5): an attributes entry
        // (field 2, length 3) holding only field 2 (value) = "v".
        let bytes: [UInt8] = [0x0A, 0x0A, 0x0A, 0x01, 0x61, 0x12, 0x05, 0x12, 0x03, 0x12, 0x01, 0x76]
        let received = try bytes.withUnsafeBytes { try StreamingPullWireDecoder.receivedMessages(in: $0) }
        #expect(received.first?.message.attributes == ["": "v"])
    }

    /// The wire decoder against SwiftProtobuf's decoding of the generated types, converted as
    /// ``reference(_:)`` converts them: the same ``ReceivedMessage``s for 3 000 seeded random
    /// responses (Unicode, empty values, repeated keys, messages absent, publish times in and
    /// out of the JSON range, unknown fields), and for 20 000 mutations of them (bytes flipped,
    /// cut short, inserted): both refuse the bytes, or both give the same messages — or the
    /// generated types refuse a malformed field the daemon does not read (the response's fields
    /// 2 to 4), and without those fields they give what the wire decoder gave.
    @Test func theWireDecoderAgreesWithTheGeneratedTypes() throws {
        var random = SeededRandom(seed: 7)
        var corpus: [[UInt8]] = []
        for _ in 0..<3000 {
            var response = Google_Pubsub_V1_StreamingPullResponse()
            response.receivedMessages = (0..<random.int(0...4)).map { _ in Self.randomItem(&random) }
            var bytes: [UInt8] = try response.serializedBytes()
            if random.chance(0.3) {
                // An unknown field (number 9) of each wire type the decoder skips.
                bytes += random.pick([
                    [0x48, 0x96, 0x01], [0x49] + [UInt8](repeating: 7, count: 8), [0x4A, 0x02, 0x68, 0x69],
                    [0x4D, 1, 2, 3, 4],
                ])
            }
            corpus.append(bytes)
        }
        var agreed = 0
        for bytes in corpus {
            let expected = try Self.reference(Google_Pubsub_V1_StreamingPullResponse(serializedBytes: bytes))
            #expect(try Self.wire(bytes) == expected)
            agreed += 1
        }
        #expect(agreed == corpus.count)

        var refusedByBoth = 0
        var readPastUnreadFields = 0
        var disagreements: [String] = []
        for round in 0..<20_000 {
            var bytes = random.pick(corpus)
            guard !bytes.isEmpty else { continue }
            switch round % 3 {
            case 0: bytes[random.int(0...(bytes.count - 1))] ^= UInt8(truncatingIfNeeded: random.int(1...255))
            case 1: bytes.removeLast(random.int(1...bytes.count))
            default: bytes.insert(UInt8(truncatingIfNeeded: random.int(0...255)), at: random.int(0...bytes.count))
            }
            let generated = try? Self.reference(Google_Pubsub_V1_StreamingPullResponse(serializedBytes: bytes))
            let ours = try? Self.wire(bytes)
            switch (generated, ours) {
            case (nil, nil):
                refusedByBoth += 1
            case (nil, let ours?):
                // The generated types also decode the response's fields 2 to 4, which the daemon
                // does not read: without them, the two must agree.
                let read = try? Self.reference(
                    Google_Pubsub_V1_StreamingPullResponse(serializedBytes: Self.receivedMessagesOnly(bytes)))
                if read == ours { readPastUnreadFields += 1 } else { disagreements.append("\(bytes)") }
            case (let generated?, let ours):
                if generated != ours { disagreements.append("\(bytes)") }
            }
        }
        #expect(disagreements.isEmpty, "\(disagreements.prefix(3))")
        #expect(refusedByBoth > 1000)
        #expect(readPastUnreadFields < 1000)
    }

    /// The top-level `received_messages` fields (1, length-delimited) of a response, written
    /// again without the rest, up to the first malformed field.
    static func receivedMessagesOnly(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        bytes.withUnsafeBytes { buffer in
            var reader = StreamingPullWireDecoder.Reader(buffer)
            while let (field, wireType) = try? reader.tag() {
                guard field == 1, wireType == StreamingPullWireDecoder.Reader.length else {
                    guard (try? reader.skip(wireType)) != nil else { return }
                    continue
                }
                guard let item = try? reader.lengthDelimited(wireType) else { return }
                out.append(0x0A)
                var length = item.count
                while length >= 0x80 {
                    out.append(UInt8(length & 0x7F) | 0x80)
                    length >>= 7
                }
                out.append(UInt8(length))
                out += item
            }
        }
        return out
    }

    static func wire(_ bytes: [UInt8]) throws -> [ReceivedMessage] {
        try bytes.withUnsafeBytes { try StreamingPullWireDecoder.receivedMessages(in: $0) }
    }

    static func decode(_ items: [Google_Pubsub_V1_ReceivedMessage]) throws -> [ReceivedMessage] {
        var response = Google_Pubsub_V1_StreamingPullResponse()
        response.receivedMessages = items
        return try wire(try response.serializedBytes())
    }

    /// What the generated types' fields make, by the REST decoder's rules: an item without ack id
    /// is skipped; an empty ordering key and a delivery attempt of 0 are nil; a missing message
    /// is a problem.
    static func reference(_ response: Google_Pubsub_V1_StreamingPullResponse) -> [ReceivedMessage] {
        response.receivedMessages.filter { !$0.ackID.isEmpty }.map { item in
            let attempt = item.deliveryAttempt == 0 ? nil : Int(item.deliveryAttempt)
            guard item.hasMessage else {
                return ReceivedMessage(
                    ackID: item.ackID, message: PubSubMessage(), deliveryAttempt: attempt,
                    problem: "the received message has no `message` object")
            }
            let m = item.message
            var attributes: [String: String] = [:]
            for entry in m.attributes { attributes[entry.key] = entry.value }
            return ReceivedMessage(
                ackID: item.ackID,
                message: PubSubMessage(
                    id: m.messageID, attributes: attributes, data: [UInt8](m.data),
                    publishTime: m.hasPublishTime
                        ? StreamingPullDecoder.publishTime(seconds: m.publishTime.seconds, nanos: m.publishTime.nanos)
                        : nil,
                    orderingKey: m.orderingKey.isEmpty ? nil : m.orderingKey),
                deliveryAttempt: attempt)
        }
    }

    static func randomItem(_ random: inout SeededRandom) -> Google_Pubsub_V1_ReceivedMessage {
        let texts = ["", "a", "bucketId", "objects/ü/日本.csv", "e\u{301}", "\u{E9}", "x y\n\"z\"", "🙂", "k"]
        var item = Google_Pubsub_V1_ReceivedMessage()
        if random.chance(0.9) { item.ackID = random.pick(["ack-1", "projects/p/subscriptions/s:42", "é"]) }
        if random.chance(0.3) { item.deliveryAttempt = Int32(random.int(-2...5)) }
        guard random.chance(0.9) else { return item }
        item.message = Google_Pubsub_V1_PubsubMessage()
        item.message.messageID = random.pick(texts)
        item.message.data = Data((0..<random.int(0...40)).map { _ in UInt8(truncatingIfNeeded: random.int(0...255)) })
        item.message.attributes = (0..<random.int(0...4)).map { _ in entry(random.pick(texts), random.pick(texts)) }
        if random.chance(0.7) {
            item.message.publishTime.seconds = random.pick([
                0, -1, 1_796_500_000, StreamingPullDecoder.maxJSONSeconds + 1,
            ])
            item.message.publishTime.nanos = random.pick([0, 1, 120_000_000, 999_999_999, -1])
        }
        if random.chance(0.3) { item.message.orderingKey = random.pick(texts) }
        return item
    }

    static func entry(_ key: String, _ value: String) -> Google_Pubsub_V1_PubsubMessage.AttributesEntry {
        var entry = Google_Pubsub_V1_PubsubMessage.AttributesEntry()
        entry.key = key
        entry.value = value
        return entry
    }
}
