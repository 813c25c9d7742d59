import HoraeRules

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// How `horae redrive` sends a dead letter back through the rule that failed it
/// (docs/operations.md): the original message — the dead letter's data and attributes without
/// the `horae.*` ones — as an inbox entry for that rule alone, on the logical subscription the
/// message first came from.
public struct DeadLetterRedrive: Sendable {
    /// Why a dead letter is not redriven; it stays on its subscription.
    public enum Refusal: Error, Sendable, Hashable, CustomStringConvertible {
        /// No `horae.rule` attribute: not published by Horae's dead-lettering.
        case notADeadLetter
        /// `--rule` selects another rule.
        case otherRule(String)
        /// The rule is not in the rules the config names.
        case unknownRule(String)
        /// A schedule rule's dead letter: `horae tasks retry` runs its tick again.
        case scheduleRule(String)
        /// The rule does not match the message on any subscription of the config (the rule or
        /// the config changed since).
        case noMatch(rule: String)

        public var description: String {
            switch self {
            case .notADeadLetter: "no `horae.rule` attribute: not a Horae dead letter"
            case .otherRule(let rule): "for rule `\(rule)`, not the one selected"
            case .unknownRule(let rule): "rule `\(rule)` is not in the rules the config names"
            case .scheduleRule(let rule):
                "rule `\(rule)` is a schedule: run its tick again with `horae tasks retry`"
            case .noMatch(let rule):
                "rule `\(rule)` does not match the message on any subscription of the config any more"
            }
        }
    }

    private let rules: CompiledRuleSet
    /// The config's logical subscriptions, by name.
    private let subscriptions: [String]

    public init(rules: CompiledRuleSet, subscriptions: some Sequence<String>) {
        self.rules = rules
        self.subscriptions = subscriptions.sorted()
    }

    /// The inbox entry that runs `dead`'s original message through its rule, or why there is none.
    ///
    /// The subscription is the one the dead letter names (`horae.subscription`) when the config
    /// still has it and the rule matches there; otherwise the first of the config's subscriptions
    /// on which the rule matches the message. The entry's message id is `redrive:` and the dead
    /// letter's id, so a redrive is a task of its own (the failed one stays in the history), and
    /// redriving the same dead letter twice queues it once.
    public func entry(for dead: PubSubMessage, onlyRule: String?, now: Date) -> Result<InboxEntry, Refusal> {
        guard let ruleName = dead.attributes["horae.rule"], !ruleName.isEmpty else { return .failure(.notADeadLetter) }
        if let onlyRule, onlyRule != ruleName { return .failure(.otherRule(ruleName)) }
        guard let rule = rules.rules.first(where: { $0.name == ruleName }) else {
            return .failure(.unknownRule(ruleName))
        }
        if rule.isSchedule { return .failure(.scheduleRule(ruleName)) }
        var message = PubSubMessage(id: "redrive:\(dead.id)")
        message.attributes = dead.attributes.filter { !$0.key.hasPrefix("horae.") }
        message.data = dead.data
        message.publishTime = dead.publishTime
        message.orderingKey = dead.orderingKey
        var candidates = subscriptions
        if let named = dead.attributes["horae.subscription"], let index = candidates.firstIndex(of: named) {
            candidates.swapAt(0, index)
            candidates[1...].sort()
        }
        for subscription in candidates {
            message.subscription = subscription
            let matches = rules.match(MessageFields(message))
            guard matches.contains(where: { rules.rules[$0.ruleIndex].name == ruleName }) else { continue }
            message.subscription = nil
            return .success(
                InboxEntry(kind: .redrive, subscription: subscription, rule: ruleName, message: message, createdAt: now)
            )
        }
        return .failure(.noMatch(rule: ruleName))
    }
}
