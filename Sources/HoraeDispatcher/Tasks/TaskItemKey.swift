import HoraeRules

/// How a `forEach` item tells its task apart (docs/rules.md, "Fan-out"): the task's message id is
/// the message's, then `#POSITION:LABEL`, where LABEL is the item's text when it is short and
/// plain, else `sha256:` and 16 hex digits of it — so dedup, retries, `/status`, metrics and
/// `horae tasks` see one task per item, and the same item gets the same key on every delivery.
public enum TaskItemKey {
    /// Labels longer than this are hashed.
    static let maxLabelBytes = 64

    /// `#POSITION:LABEL` for `item`.
    public static func suffix(_ item: ForEach.Item) -> String {
        let text = item.value.text ?? "null"
        let plain = text.utf8.allSatisfy { $0 >= 0x20 && $0 != 0x7F && $0 != UInt8(ascii: "#") }
        let label =
            plain && !text.isEmpty && text.utf8.count <= maxLabelBytes
            ? text : "sha256:" + String(SHA256.hex(Array(item.value.compactJSON.utf8)).prefix(16))
        return "#\(item.index):\(label)"
    }

    /// The message id and the item position of a task's message id, nil when it has no item part.
    public static func split(_ messageID: String) -> (messageID: String, index: Int)? {
        guard let hash = messageID.lastIndex(of: "#") else { return nil }
        let rest = messageID[messageID.index(after: hash)...]
        guard let colon = rest.firstIndex(of: ":"), let index = Int(rest[..<colon]), index >= 0 else { return nil }
        return (String(messageID[..<hash]), index)
    }
}
