import HoraeRules

/// Splits ack ids into `acknowledge` / `modifyAckDeadline` requests the API accepts: at most
/// ``maxAckIDsPerRequest`` ids, and a JSON body smaller than ``bodySizeLimit`` bytes.
///
/// Sizes are those of the bodies ``PubSubClient`` sends (``body(_:for:)`` builds both), so a batch
/// from ``batches(_:for:bodySizeLimit:maxAckIDs:)`` always fits.
public enum AckRequestBatcher {
    /// The request the ids go into.
    public enum Request: Sendable, Hashable {
        case acknowledge
        case modifyAckDeadline(seconds: Int)
    }

    /// Request bodies stay under 512 KiB (the API's request size limit).
    public static let bodySizeLimit = 512 * 1024
    /// The most ack ids the API takes in one request.
    public static let maxAckIDsPerRequest = 2_500

    /// `ackIDs` in order, cut into the fewest consecutive batches whose bodies are each smaller
    /// than `bodySizeLimit` bytes and hold at most `maxAckIDs` ids. An id too large to fit even
    /// alone gets a batch of its own (real ack ids are a few hundred bytes). No empty batches.
    public static func batches(
        _ ackIDs: [String], for request: Request,
        bodySizeLimit: Int = AckRequestBatcher.bodySizeLimit,
        maxAckIDs: Int = AckRequestBatcher.maxAckIDsPerRequest
    ) -> [[String]] {
        let emptySize = bodySize(ofEmpty: request)
        var out: [[String]] = []
        var batch: [String] = []
        var size = emptySize
        for id in ackIDs {
            let literal = encodedSize(id)
            // A comma goes before every id but the first.
            if !batch.isEmpty && (batch.count >= maxAckIDs || size + 1 + literal >= bodySizeLimit) {
                out.append(batch)
                batch = []
                size = emptySize
            }
            size += literal + (batch.isEmpty ? 0 : 1)
            batch.append(id)
        }
        if !batch.isEmpty { out.append(batch) }
        return out
    }

    /// The request body for `ackIDs`: `{"ackIds":[…]}`, plus `"ackDeadlineSeconds":N` for a modAck.
    static func body(_ ackIDs: [String], for request: Request) -> JSONValue {
        var pairs: [(key: String, value: JSONValue)] = [(key: "ackIds", value: .array(ackIDs.map { .string($0) }))]
        if case .modifyAckDeadline(let seconds) = request {
            pairs.append((key: "ackDeadlineSeconds", value: .number(String(seconds))))
        }
        return .object(pairs)
    }

    /// The bytes of ``body(_:for:)`` as compact JSON, written directly: ack ids are plain ASCII,
    /// which the JSON string escaper copies between quotes as they are.
    /// The daemon sends two of these per message, so it skips building a JSON value of every id.
    static func bodyBytes(_ ackIDs: [String], for request: Request) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(ackIDs.reduce(40) { $0 + $1.utf8.count + 3 })
        out.append(contentsOf: #"{"ackIds":["#.utf8)
        for (index, id) in ackIDs.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            JSONStringEscaper.append(id, to: &out)
        }
        out.append(UInt8(ascii: "]"))
        if case .modifyAckDeadline(let seconds) = request {
            out.append(contentsOf: #","ackDeadlineSeconds":\#(seconds)"#.utf8)
        }
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// The size of the body with no ids (each id then adds its literal, and a comma after the first).
    static func bodySize(ofEmpty request: Request) -> Int {
        body([], for: request).compactJSON.utf8.count
    }

    /// The bytes of `id` as a JSON string literal, quotes included.
    static func encodedSize(_ id: String) -> Int {
        // Ack ids are printable ASCII: count them directly; anything else goes through the encoder.
        if isPlain(id) { return id.utf8.count + 2 }
        return JSONStringEscaper.literal(id).utf8.count
    }

    /// Printable ASCII without `"` or `\`: its JSON string literal is the id between quotes.
    private static func isPlain(_ id: String) -> Bool {
        // Over the contiguous bytes where it can: every message's ack id passes here, and
        // `allSatisfy` over the UTF-8 view cost ~20 instructions a byte.
        id.utf8.withContiguousStorageIfAvailable { $0.allSatisfy(isPlain) } ?? id.utf8.allSatisfy(isPlain)
    }

    private static func isPlain(_ byte: UInt8) -> Bool {
        byte >= 0x20 && byte < 0x7F && byte != UInt8(ascii: "\"") && byte != UInt8(ascii: "\\")
    }
}
