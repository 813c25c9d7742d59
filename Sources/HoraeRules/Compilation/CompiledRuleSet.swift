/// The whole rule set compiled for matching: immutable, `Sendable`, built once per load.
///
/// It never tests rules one by one. Every message clause is filed in a `DiscriminationTree` under
/// the keys of its attribute conditions (exact values, literal prefixes and suffixes, and a
/// combined automaton for the other patterns); a message walks the tree, reading each tested
/// attribute once, and only the few clauses at the leaves it reaches are checked in full (with
/// captures). Clauses without any indexable condition (only `exists`, `not`, numeric or `data:`
/// conditions) sit in wildcard branches and are always candidates.
public struct CompiledRuleSet: Sendable {
    public let rules: [Rule]

    /// One entry per message clause, ordered by (rule, clause), so the first matching clause of a
    /// rule is met first.
    private let clauses: [CompiledClause]
    private let tree: DiscriminationTree
    /// Clauses with no indexable condition at all.
    private let unindexedCount: Int
    /// Whether some rule has a `data:` condition (else payloads need not even be decoded).
    public let needsData: Bool

    struct CompiledClause: Sendable {
        var ruleIndex: Int
        var clause: MessageClause
    }

    private typealias IndexKey = DiscriminationTree.Key

    public init(rules: [Rule]) {
        self.rules = rules
        var clauses: [CompiledClause] = []
        for (i, rule) in rules.enumerated() {
            guard case let .message(cs) = rule.trigger else { continue }
            for c in cs { clauses.append(CompiledClause(ruleIndex: i, clause: c)) }
        }
        self.clauses = clauses
        needsData = clauses.contains { c in
            c.clause.conditions.contains { if case .data = $0.field { return true } else { return false } }
        }
        var keys: [[String: [IndexKey]]] = []
        keys.reserveCapacity(clauses.count)
        for c in clauses {
            var mine: [String: [IndexKey]] = [:]
            for condition in c.clause.conditions {
                guard case let .attribute(name) = condition.field, mine[name] == nil,
                      let k = Self.indexKeys(condition.matcher) else { continue }
                mine[name] = k
            }
            keys.append(mine)
        }
        unindexedCount = keys.count { $0.isEmpty }
        tree = DiscriminationTree(clauseCount: clauses.count, keys: keys)
    }

    /// The index keys of a condition, or nil when it cannot be indexed.
    private static func indexKeys(_ matcher: FieldMatcher) -> [IndexKey]? {
        switch matcher {
        case let .pattern(p):
            return [indexKey(p)]
        case let .anyOf(alternatives):
            var keys: [IndexKey] = []
            for a in alternatives {
                guard let k = indexKeys(a) else { return nil }
                keys += k
            }
            return keys
        case let .allOf(parts):
            // Any one part that is indexable will do; take the first.
            for p in parts { if let k = indexKeys(p) { return k } }
            return nil
        case .exists, .numeric, .not:
            return nil
        }
    }

    private static func indexKey(_ p: StringPattern) -> IndexKey {
        if let exact = p.exactValue { return .exact(exact) }
        if !p.ignoreCase {
            switch p.kind {
            case .prefix: return .prefix(Array(p.source.utf8))
            case .suffix: return .suffix(Array(p.source.utf8))
            default: break
            }
            let prefix = p.node.literalPrefix
            if !prefix.isEmpty { return .prefix(Array(prefix.utf8)) }
            let suffix = p.node.literalSuffix
            if !suffix.isEmpty { return .suffix(Array(suffix.utf8)) }
        }
        return .automaton(p.node)
    }

    /// The rules that match `message`, in rule order, each with its captures.
    public func match(_ message: PubSubMessage) -> [RuleMatch] {
        match(MessageFields(message))
    }

    public func match(_ fields: MessageFields) -> [RuleMatch] {
        var candidates: [Int32] = []
        var scratch: [Int] = []
        tree.candidates(for: fields.message.attributes, into: &candidates, scratch: &scratch)
        if candidates.isEmpty { return [] }
        if candidates.count > 1 { candidates.sort() }
        var out: [RuleMatch] = []
        var last: Int32 = -1
        // One capture set serves every candidate; only a match keeps (copies) it.
        var captures = CaptureSet()
        var lastMatchedRule = -1
        for id in candidates where id != last {
            last = id
            let entry = clauses[Int(id)]
            if entry.ruleIndex == lastMatchedRule { continue }
            captures.removeAll()
            if entry.clause.matches(fields, captures: &captures) {
                out.append(RuleMatch(ruleIndex: entry.ruleIndex, captures: captures))
                lastMatchedRule = entry.ruleIndex
            }
        }
        return out
    }

    /// Bytes held by the index, excluding the rules themselves (for the benchmark).
    public var indexMemoryFootprint: Int { tree.memoryFootprint }

    /// How the clauses were indexed: keys per strategy and clauses with no key (`always`).
    public var indexStatistics: [String: Int] {
        var stats = tree.statistics
        stats["always"] = unindexedCount
        return stats
    }
}
