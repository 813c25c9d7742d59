/// Identifies a task: there is exactly one task per (Pub/Sub message, rule).
///
/// For schedule rules, which have no message, the dispatcher chooses a stable synthetic id per
/// tick (for example `schedule:<tick in ms>`).
public struct TaskKey: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The Pub/Sub `messageId` (attacker-controlled text: the store only ever binds it).
    public var messageID: String
    /// The rule name.
    public var rule: String

    public init(messageID: String, rule: String) {
        self.messageID = messageID
        self.rule = rule
    }

    /// `rule/messageID`: the task's id in logs and in `horae tasks`.
    public var description: String { "\(rule)/\(messageID)" }

    /// Reads a task id written as ``description`` prints it. Rule names cannot contain `/`, so
    /// the first one ends the rule; a message id may contain more. Nil when either part is empty.
    public init?(id: String) {
        guard let slash = id.firstIndex(of: "/") else { return nil }
        let rule = String(id[..<slash])
        let messageID = String(id[id.index(after: slash)...])
        guard !rule.isEmpty, !messageID.isEmpty else { return nil }
        self.init(messageID: messageID, rule: rule)
    }
}
