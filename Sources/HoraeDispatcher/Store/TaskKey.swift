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

    /// `rule/messageID`, for logs.
    public var description: String { "\(rule)/\(messageID)" }
}
