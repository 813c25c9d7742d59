/// The whole rule set compiled for matching: immutable, `Sendable`, built once per load.
///
/// It never tests rules one by one. Every message clause is filed in a `DiscriminationTree` under
/// the keys of its attribute conditions (exact values, literal prefixes and suffixes, and a
/// combined automaton for the other patterns); a message walks the tree, and only the few
/// clauses at the leaves it reaches are verified (`MatchProgram`), skipping the conditions the
/// path through the tree already proved. Clauses without any indexable condition (only `exists`,
/// `not`, numeric or `data:` conditions) sit in wildcard branches and are always candidates.
///
/// Attribute names are numbered (`AttributeSlots`): a message's values are read once, as bytes,
/// into one slot each, and everything after works on those bytes; captures become Strings only
/// for the clauses that match.
public struct CompiledRuleSet: Sendable {
    public let rules: [Rule]
    /// Whether some rule has a `data:` condition (else payloads need not even be decoded).
    public let needsData: Bool

    /// The index and verification tables (one reference: copying a `CompiledRuleSet` costs one
    /// retain, not one per table).
    let engine: MatchEngine
    /// Clauses with no indexable condition at all.
    private let unindexedCount: Int

    private typealias Key = DiscriminationTree.Key

    public init(rules: [Rule]) {
        self.rules = rules
        var clauses: [(rule: Int, clause: MessageClause)] = []
        var names: [String] = []
        var known = Set<String>()
        for (i, rule) in rules.enumerated() {
            guard case .message(let cs) = rule.trigger else { continue }
            for c in cs {
                clauses.append((i, c))
                for condition in c.conditions {
                    if case .attribute(let name) = condition.field, known.insert(name).inserted { names.append(name) }
                }
            }
        }
        needsData = clauses.contains { c in
            c.clause.conditions.contains { if case .data = $0.field { return true } else { return false } }
        }
        let slots = AttributeSlots(names)
        var keys: [[DiscriminationTree.ClauseKeys]] = []
        keys.reserveCapacity(clauses.count)
        for c in clauses {
            var mine: [DiscriminationTree.ClauseKeys] = []
            for (index, condition) in c.clause.conditions.enumerated() {
                guard case .attribute(let name) = condition.field else { continue }
                let slot = slots.slot(of: name)
                guard !mine.contains(where: { $0.slot == slot }), let (k, decides) = Self.indexKeys(condition.matcher)
                else { continue }
                mine.append(.init(slot: slot, keys: k, condition: index, decides: decides))
            }
            keys.append(mine)
        }
        unindexedCount = keys.count { $0.isEmpty }
        // Conditions the index can decide are usually skipped: their tables go last.
        let decided = keys.map { Set($0.filter(\.decides).map(\.condition)) }
        var records = MatchProgram.Writer(clauses, slots: slots, decided: decided)
        let tree = DiscriminationTree(clauseCount: clauses.count, keys: keys, names: names, program: &records)
        let program = MatchProgram(records, code: tree.code)
        engine = MatchEngine(slots: slots, program: program, tree: tree, needsData: needsData)
    }

    /// The index keys of a condition and whether they decide it, or nil when it cannot be indexed.
    private static func indexKeys(_ matcher: FieldMatcher) -> (keys: [Key], decides: Bool)? {
        switch matcher {
        case .pattern(let p):
            let (key, exact) = indexKey(p)
            return ([key], exact && p.captureNames.isEmpty)
        case .anyOf(let alternatives):
            var keys: [Key] = []
            var decides = true
            for a in alternatives {
                guard let (k, d) = indexKeys(a) else { return nil }
                keys += k
                decides = decides && d
            }
            return (keys, decides)
        case .allOf(let parts):
            // Any one part that is indexable will do; take the first.
            for p in parts {
                if let (k, d) = indexKeys(p) { return (k, d && parts.count == 1) }
            }
            return nil
        case .exists, .numeric, .not:
            return nil
        }
    }

    /// The key of a pattern, and whether matching the key is matching the pattern.
    private static func indexKey(_ p: StringPattern) -> (Key, exact: Bool) {
        switch p.strategy {
        case .equals: return (.exact(p.literal), true)
        case .hasPrefix: return (.prefix(p.literal), true)
        case .hasSuffix: return (.suffix(p.literal), true)
        case .automaton: break
        }
        if !p.ignoreCase {
            let prefix = p.node.literalPrefix
            if !prefix.isEmpty { return (.prefix(Array(prefix.utf8)), false) }
            let suffix = p.node.literalSuffix
            if !suffix.isEmpty { return (.suffix(Array(suffix.utf8)), false) }
        }
        return (.automaton(p.node), true)
    }

    /// The rules that match `message`, in rule order, each with its captures.
    public func match(_ message: PubSubMessage) -> [RuleMatch] {
        engine.match(message)
    }

    public func match(_ fields: MessageFields) -> [RuleMatch] {
        engine.match(fields)
    }

    /// Calls `body` with `match(m)` for each message `m` of `messages`, in order. For the
    /// benchmark: a caller in another module that matches messages stored in an array copies
    /// each one before the call (retaining and releasing its fields), which a caller holding its
    /// own message, such as the daemon, does not; here the message is read in place.
    @_spi(Benchmarks) public func matchEach(_ messages: [PubSubMessage], _ body: ([RuleMatch]) -> Void) {
        messages.withUnsafeBufferPointer { all in
            guard let first = all.baseAddress else { return }
            for i in all.indices { body(engine.match(first + i)) }
        }
    }

    /// Bytes held by the index and the verification tables, excluding the rules themselves (for
    /// the benchmark).
    public var indexMemoryFootprint: Int { engine.tree.memoryFootprint + engine.program.memoryFootprint }

    /// How the clauses were indexed: keys per strategy and clauses with no key (`always`).
    public var indexStatistics: [String: Int] {
        var stats = engine.tree.statistics
        stats["always"] = unindexedCount
        return stats
    }
}
