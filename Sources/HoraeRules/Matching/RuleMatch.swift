/// A rule that matched a message, with the captures its patterns bound.
public struct RuleMatch: Sendable, Hashable {
    /// Index into the rule set's `rules`.
    public var ruleIndex: Int
    public var captures: CaptureSet

    public init(ruleIndex: Int, captures: CaptureSet) {
        self.ruleIndex = ruleIndex
        self.captures = captures
    }
}
