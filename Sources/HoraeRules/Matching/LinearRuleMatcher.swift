/// The plain one-rule-at-a-time matcher: the semantics the compiled matcher must reproduce, and
/// the baseline the benchmark measures it against.
public struct LinearRuleMatcher: Sendable {
    public let rules: [Rule]

    public init(rules: [Rule]) { self.rules = rules }

    public func match(_ message: PubSubMessage) -> [RuleMatch] {
        match(MessageFields(message))
    }

    public func match(_ fields: MessageFields) -> [RuleMatch] {
        var out: [RuleMatch] = []
        for (i, rule) in rules.enumerated() {
            guard case .message(let clauses) = rule.trigger else { continue }
            for clause in clauses {
                var captures = CaptureSet()
                if clause.matches(fields, captures: &captures) {
                    out.append(RuleMatch(ruleIndex: i, captures: captures))
                    break
                }
            }
        }
        return out
    }
}
