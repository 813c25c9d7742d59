import GRPCCore
import HoraeRules

/// Reads a `google.pubsub.v1.StreamingPullResponse` straight from its protobuf bytes into the
/// ``ReceivedMessage``s that ``StreamingPullDecoder`` makes of the generated types: the same
/// messages, field for field (a test decodes seeded random responses, and their mutations, both
/// ways and compares).
///
/// The stream's deserializer (``Deserializer``): every pulled message passes here, and the
/// generated types cost about 30 000 instructions a message through SwiftProtobuf's generic
/// decoding, then a copy of every field into a ``PubSubMessage``.
///
/// What it reads, by field number (Google's published `pubsub.proto`):
/// - `StreamingPullResponse`: 1 `received_messages` (repeated); others skipped.
/// - `ReceivedMessage`: 1 `ack_id`, 2 `message`, 3 `delivery_attempt` (int32).
/// - `PubsubMessage`: 1 `data`, 2 `attributes` (map entries: 1 key, 2 value), 3 `message_id`,
///   4 `publish_time` (`Timestamp`: 1 seconds, 2 nanos), 5 `ordering_key`.
///
/// As protobuf decoding does: a field given twice keeps its last value, a message field given
/// twice is merged, an unknown field — or a known one of another wire type — is skipped by its
/// wire type. Malformed bytes — a truncated field, a group, text that is not UTF-8 — throw
/// ``RPCError`` `INTERNAL`, which ends the stream as SwiftProtobuf's error did.
enum StreamingPullWireDecoder {
    /// The deserializer the StreamingPull call uses.
    struct Deserializer: MessageDeserializer {
        func deserialize<Bytes: GRPCContiguousBytes>(_ serializedMessageBytes: Bytes) throws -> [ReceivedMessage] {
            try serializedMessageBytes.withUnsafeBytes { try StreamingPullWireDecoder.receivedMessages(in: $0) }
        }
    }

    /// Every received message with an ack id, in order; one without is skipped (nothing to settle).
    static func receivedMessages(in bytes: UnsafeRawBufferPointer) throws -> [ReceivedMessage] {
        var reader = Reader(bytes)
        var out: [ReceivedMessage] = []
        while let (field, wireType) = try reader.tag() {
            guard field == 1, wireType == Reader.length else {
                try reader.skip(wireType)
                continue
            }
            var item = Item()
            try item.merge(try reader.lengthDelimited(wireType))
            if let received = item.received { out.append(received) }
        }
        return out
    }

    /// A `ReceivedMessage` as read so far.
    private struct Item {
        var ackID = ""
        var deliveryAttempt: Int32 = 0
        var message: Message?

        mutating func merge(_ bytes: UnsafeRawBufferPointer) throws {
            var reader = Reader(bytes)
            while let (field, wireType) = try reader.tag() {
                switch (field, wireType) {
                case (1, Reader.length): ackID = try reader.string(wireType)
                case (2, Reader.length):
                    var merged = message ?? Message()
                    try merged.merge(try reader.lengthDelimited(wireType))
                    message = merged
                case (3, Reader.varint): deliveryAttempt = Int32(truncatingIfNeeded: try reader.varint(wireType))
                default: try reader.skip(wireType)
                }
            }
        }

        /// As ``StreamingPullDecoder/receivedMessage(_:)`` makes it.
        var received: ReceivedMessage? {
            guard !ackID.isEmpty else { return nil }
            let attempt = deliveryAttempt == 0 ? nil : Int(deliveryAttempt)
            guard let message else {
                return ReceivedMessage(
                    ackID: ackID, message: PubSubMessage(), deliveryAttempt: attempt,
                    problem: "the received message has no `message` object")
            }
            return ReceivedMessage(
                ackID: ackID,
                message: PubSubMessage(
                    id: message.id, attributes: message.attributes, data: message.data,
                    publishTime: message.publishTime.flatMap {
                        StreamingPullDecoder.publishTime(seconds: $0.seconds, nanos: $0.nanos)
                    },
                    orderingKey: message.orderingKey.isEmpty ? nil : message.orderingKey),
                deliveryAttempt: attempt)
        }
    }

    /// A `PubsubMessage` as read so far.
    private struct Message {
        var data: [UInt8] = []
        var attributes: [String: String] = [:]
        var id = ""
        var publishTime: (seconds: Int64, nanos: Int32)?
        var orderingKey = ""

        mutating func merge(_ bytes: UnsafeRawBufferPointer) throws {
            var reader = Reader(bytes)
            while let (field, wireType) = try reader.tag() {
                switch (field, wireType) {
                case (1, Reader.length): data = Array(try reader.lengthDelimited(wireType))
                case (2, Reader.length):
                    // A map entry; a key given twice keeps its last value.
                    var entry = Reader(try reader.lengthDelimited(wireType))
                    var key = ""
                    var value = ""
                    while let (entryField, entryWireType) = try entry.tag() {
                        switch (entryField, entryWireType) {
                        case (1, Reader.length): key = try entry.string(entryWireType)
                        case (2, Reader.length): value = try entry.string(entryWireType)
                        default: try entry.skip(entryWireType)
                        }
                    }
                    // A Cloud Storage notification has 7 to 9: room for them at once.
                    if attributes.isEmpty { attributes.reserveCapacity(10) }
                    attributes[key] = value
                case (3, Reader.length): id = try reader.string(wireType)
                case (4, Reader.length):
                    var time = publishTime ?? (0, 0)
                    var timestamp = Reader(try reader.lengthDelimited(wireType))
                    while let (timeField, timeWireType) = try timestamp.tag() {
                        switch (timeField, timeWireType) {
                        case (1, Reader.varint): time.seconds = Int64(bitPattern: try timestamp.varint(timeWireType))
                        case (2, Reader.varint):
                            time.nanos = Int32(truncatingIfNeeded: try timestamp.varint(timeWireType))
                        default: try timestamp.skip(timeWireType)
                        }
                    }
                    publishTime = time
                case (5, Reader.length): orderingKey = try reader.string(wireType)
                default: try reader.skip(wireType)
                }
            }
        }
    }

    /// Protobuf's wire format over a buffer: tags, varints, length-delimited fields.
    struct Reader {
        /// The wire types of the fields read here.
        static let varint: UInt8 = 0
        static let length: UInt8 = 2

        private let bytes: UnsafeRawBufferPointer
        private var at = 0

        init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

        /// The next field's number and wire type; nil at the end of the buffer.
        mutating func tag() throws -> (field: UInt64, wireType: UInt8)? {
            guard at < bytes.count else { return nil }
            let key = try readVarint()
            let field = key >> 3
            guard field > 0, field <= 536_870_911 else { throw malformed("field number \(field)") }
            return (field, UInt8(key & 7))
        }

        mutating func varint(_ wireType: UInt8) throws -> UInt64 {
            guard wireType == 0 else { throw malformed("wire type \(wireType) where a varint was expected") }
            return try readVarint()
        }

        mutating func lengthDelimited(_ wireType: UInt8) throws -> UnsafeRawBufferPointer {
            guard wireType == 2 else { throw malformed("wire type \(wireType) where a length was expected") }
            let length = try readVarint()
            guard length <= UInt64(bytes.count - at) else { throw malformed("a field longer than its message") }
            let start = at
            at += Int(length)
            return UnsafeRawBufferPointer(rebasing: bytes[start..<at])
        }

        /// A `string` field: valid UTF-8, as protobuf requires.
        mutating func string(_ wireType: UInt8) throws -> String {
            let field = try lengthDelimited(wireType)
            // ASCII is valid UTF-8 as it is. (`String(validating:as:)` looks up generic metadata
            // at every call, several hundred instructions for each of a message's dozen strings.)
            if field.allSatisfy({ $0 < 0x80 }) { return String(decoding: field, as: UTF8.self) }
            guard let text = String(validating: field, as: UTF8.self) else {
                throw malformed("a string field that is not UTF-8")
            }
            return text
        }

        /// Skips a field of an unknown number.
        mutating func skip(_ wireType: UInt8) throws {
            switch wireType {
            case 0: _ = try readVarint()
            case 1: try advance(8)
            case 2: _ = try lengthDelimited(wireType)
            case 5: try advance(4)
            default: throw malformed("wire type \(wireType)")
            }
        }

        private mutating func advance(_ count: Int) throws {
            guard count <= bytes.count - at else { throw malformed("a field longer than its message") }
            at += count
        }

        private mutating func readVarint() throws -> UInt64 {
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while at < bytes.count, shift < 64 {
                let byte = bytes[at]
                at += 1
                value |= UInt64(byte & 0x7F) << shift
                if byte < 0x80 { return value }
                shift += 7
            }
            throw malformed(at >= bytes.count ? "a truncated varint" : "a varint longer than 10 bytes")
        }

        private func malformed(_ what: String) -> RPCError {
            RPCError(code: .internalError, message: "malformed StreamingPull response: \(what) at byte \(at)")
        }
    }
}
