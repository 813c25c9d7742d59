import HoraeRules
import Synchronization

/// The compiled rule set the daemon matches with, swapped atomically on reload: a message is
/// matched against one whole rule set, old or new, never a mix.
public final class ActiveRules: Sendable {
    /// One loaded rule set with what the daemon derives from it once per load rather than per
    /// message.
    public struct Snapshot: Sendable {
        public let ruleSet: CompiledRuleSet
        /// The ``ActionsFingerprint`` of each rule's actions, by rule index.
        let actionsFingerprints: [String]

        init(_ ruleSet: CompiledRuleSet) {
            self.ruleSet = ruleSet
            actionsFingerprints = ruleSet.rules.map { ActionsFingerprint.of($0.actions) }
        }
    }

    private let current: Mutex<Snapshot>

    public init(_ rules: CompiledRuleSet) {
        current = Mutex(Snapshot(rules))
    }

    /// The rule set and its fingerprints, taken together (a reload swaps both at once).
    public var snapshot: Snapshot { current.withLock { $0 } }

    public var ruleSet: CompiledRuleSet { snapshot.ruleSet }

    public func replace(with rules: CompiledRuleSet) {
        let snapshot = Snapshot(rules)
        current.withLock { $0 = snapshot }
    }
}
