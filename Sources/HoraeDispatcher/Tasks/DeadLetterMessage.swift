/// The message a failed task publishes to its rule's dead-letter topic, kept within Pub/Sub's
/// limits so that the publish is not refused: at most 100 attributes (`horae.*` first), keys of at
/// most 256 bytes (longer ones are dropped), values of at most 1024 bytes (cut at a UTF-8
/// boundary), and attributes plus data within 10 MB (original attributes dropped, last first).
/// What was dropped is noted at the end of `horae.error`. `horae.rule` and `horae.subscription`
/// (the logical subscription the message came from) tell `horae redrive` where to send it back.
struct DeadLetterMessage {
    static let maxAttributes = 100
    static let maxKeyBytes = 256
    static let maxValueBytes = 1024
    static let maxMessageBytes = 10_000_000

    let message: OutgoingMessage
    /// What had to be dropped, or nil when nothing was.
    let note: String?

    init(
        data: [UInt8], attributes original: [String: String], rule: String, subscription: String? = nil, error: String,
        attempts: Int
    ) {
        var longKeys = 0
        var kept: [(key: String, value: String)] = []
        // The original `horae.*` attributes (from an earlier dead letter) first, then the others, each by key.
        let ordered = original.filter { !Self.isOwn($0.key) }.sorted { a, b in
            let (ha, hb) = (a.key.hasPrefix("horae."), b.key.hasPrefix("horae."))
            return ha != hb ? ha : a.key < b.key
        }
        for (key, value) in ordered {
            guard key.utf8.count <= Self.maxKeyBytes else {
                longKeys += 1
                continue
            }
            kept.append((key, Self.prefix(value, bytes: Self.maxValueBytes)))
        }
        var own: [(key: String, value: String)] = [
            ("horae.rule", Self.prefix(rule, bytes: Self.maxValueBytes)), ("horae.attempts", String(attempts)),
        ]
        if let subscription { own.append(("horae.subscription", Self.prefix(subscription, bytes: Self.maxValueBytes))) }
        // Room for the `horae.*` attributes this adds (`horae.error` is added last).
        let room = Self.maxAttributes - own.count - 1
        var dropped = max(0, kept.count - room)
        kept.removeLast(dropped)
        func size() -> Int {
            // horae.error at its longest.
            data.count
                + (own + kept).reduce("horae.error".utf8.count + Self.maxValueBytes) {
                    $0 + $1.key.utf8.count + $1.value.utf8.count
                }
        }
        var total = size()
        while total > Self.maxMessageBytes, let last = kept.popLast() {
            total -= last.key.utf8.count + last.value.utf8.count
            dropped += 1
        }
        var notes: [String] = []
        if longKeys > 0 { notes.append("\(longKeys) attribute(s) with a key over \(Self.maxKeyBytes) bytes dropped") }
        if dropped > 0 { notes.append("\(dropped) attribute(s) dropped to fit Pub/Sub's limits") }
        note = notes.isEmpty ? nil : notes.joined(separator: "; ")
        let suffix = note.map { " [dead letter: \($0)]" } ?? ""
        let errorText = Self.prefix(error, bytes: Self.maxValueBytes - suffix.utf8.count) + suffix
        var attributes: [String: String] = [:]
        for (key, value) in own + kept { attributes[key] = value }
        attributes["horae.error"] = errorText
        message = OutgoingMessage(data: data, attributes: attributes, orderingKey: nil)
    }

    /// The attributes a dead letter adds; `horae redrive` removes every `horae.*` attribute.
    static let ownAttributes: Set<String> = ["horae.rule", "horae.error", "horae.attempts", "horae.subscription"]

    /// The attributes this type sets itself; the original message's values for them are replaced.
    private static func isOwn(_ key: String) -> Bool {
        ownAttributes.contains(key)
    }

    /// The longest prefix of `text` within `bytes` UTF-8 bytes, cut between Unicode scalars.
    static func prefix(_ text: String, bytes: Int) -> String {
        guard text.utf8.count > bytes else { return text }
        var used = 0
        var scalars = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            let width = UTF8.width(scalar)
            guard used + width <= bytes else { break }
            used += width
            scalars.append(scalar)
        }
        return String(scalars)
    }
}
