import HoraeRules
import Synchronization

/// The compiled rule set the daemon matches with, swapped atomically on reload: a message is
/// matched against one whole rule set, old or new, never a mix.
public final class ActiveRules: Sendable {
    private let current: Mutex<CompiledRuleSet>

    public init(_ rules: CompiledRuleSet) {
        current = Mutex(rules)
    }

    public var ruleSet: CompiledRuleSet { current.withLock { $0 } }

    public func replace(with rules: CompiledRuleSet) {
        current.withLock { $0 = rules }
    }
}
