/// The whole rule set compiled for matching: immutable, `Sendable`, built once per load.
///
/// It never tests rules one by one. Each message clause is filed under one *index key*, the most
/// selective of its attribute conditions, in the spirit of ripgrep's globset strategy split:
///
/// - exact values (and globs without metacharacters) go into a hash table per attribute;
/// - patterns with a literal prefix go into a radix tree per attribute, walked once along the value;
/// - patterns with only a literal suffix go into a reversed radix tree;
/// - the remaining patterns go into one combined automaton (`RegexSet`) per attribute, which
///   walks the value once and reports every pattern that matches.
///
/// A message looks up each indexed attribute once, gathers the clauses whose key fired, and only
/// those candidates are checked in full (with captures). Clauses without any indexable condition
/// (only `exists`, `not`, numeric or `data:` conditions) are always candidates.
public struct CompiledRuleSet: Sendable {
    public let rules: [Rule]

    /// One entry per message clause, ordered by (rule, clause), so the first matching clause of a
    /// rule is met first.
    private let clauses: [CompiledClause]
    private let fieldIndexes: [FieldIndex]
    private let alwaysCandidates: [Int32]

    struct CompiledClause: Sendable {
        var ruleIndex: Int
        var clause: MessageClause
    }

    /// The index of one attribute.
    struct FieldIndex: Sendable {
        var attribute: String
        var exact: [String: [Int32]] = [:]
        var prefixes: RadixIndex
        var suffixes: RadixIndex
        var automaton: RegexSet?
        /// Clause ids for each pattern of `automaton`.
        var automatonClauses: [[Int32]] = []
    }

    /// How a clause can be found: one key (or several, for a list of patterns) on one attribute.
    private enum IndexKey: Hashable {
        case exact(String)
        case prefix([UInt8])
        case suffix([UInt8])
        case automaton(RegexNode)
    }

    /// Whether some rule has a `data:` condition (else payloads need not even be decoded).
    public let needsData: Bool

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

        // For each clause, the indexable conditions and their keys.
        var options: [[(attribute: String, keys: [IndexKey])]] = []
        var popularity: [String: [IndexKey: Int]] = [:]
        for c in clauses {
            var mine: [(attribute: String, keys: [IndexKey])] = []
            for condition in c.clause.conditions {
                guard case let .attribute(name) = condition.field, let keys = Self.indexKeys(condition.matcher) else { continue }
                mine.append((name, keys))
                for k in Set(keys) { popularity[name, default: [:]][k, default: 0] += 1 }
            }
            options.append(mine)
        }

        // Pick the cheapest condition per clause: fewest other clauses behind the same keys,
        // automaton keys last (they cost a walk of their own).
        func cost(_ attribute: String, _ keys: [IndexKey]) -> Int {
            keys.reduce(0) { total, key in
                let shared = popularity[attribute]?[key] ?? 1
                switch key {
                case .exact: return total + shared
                case .prefix, .suffix: return total + shared + 1
                case .automaton: return total + shared * 4 + 16
                }
            }
        }
        var exact: [String: [String: [Int32]]] = [:]
        var prefixes: [String: [(key: [UInt8], id: Int32)]] = [:]
        var suffixes: [String: [(key: [UInt8], id: Int32)]] = [:]
        var automata: [String: [RegexNode: [Int32]]] = [:]
        var automatonOrder: [String: [RegexNode]] = [:]
        var always: [Int32] = []
        for (id, mine) in options.enumerated() {
            guard let best = mine.min(by: { cost($0.attribute, $0.keys) < cost($1.attribute, $1.keys) }) else {
                always.append(Int32(id))
                continue
            }
            for key in Set(best.keys) {
                switch key {
                case let .exact(s): exact[best.attribute, default: [:]][s, default: []].append(Int32(id))
                case let .prefix(p): prefixes[best.attribute, default: []].append((p, Int32(id)))
                case let .suffix(s): suffixes[best.attribute, default: []].append((s, Int32(id)))
                case let .automaton(node):
                    if automata[best.attribute]?[node] == nil { automatonOrder[best.attribute, default: []].append(node) }
                    automata[best.attribute, default: [:]][node, default: []].append(Int32(id))
                }
            }
        }
        let attributes = Set(exact.keys).union(prefixes.keys).union(suffixes.keys).union(automata.keys).sorted()
        fieldIndexes = attributes.map { name in
            var index = FieldIndex(attribute: name, exact: exact[name] ?? [:],
                                   prefixes: RadixIndex(prefixes[name] ?? [], reversed: false),
                                   suffixes: RadixIndex(suffixes[name] ?? [], reversed: true))
            if let order = automatonOrder[name] {
                // Patterns were already compiled one by one at load time, so this cannot fail.
                index.automaton = try? RegexSet(order)
                index.automatonClauses = order.map { automata[name]![$0]! }
            }
            return index
        }
        alwaysCandidates = always
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
        var candidates: [Int32] = alwaysCandidates
        var setHits: [Int] = []
        for index in fieldIndexes {
            guard var value = fields.message.attributes[index.attribute] else { continue }
            if let ids = index.exact[value] { candidates += ids }
            if !index.prefixes.isEmpty || !index.suffixes.isEmpty || index.automaton != nil {
                value.withUTF8 { bytes in
                    index.prefixes.forEachMatch(in: bytes) { candidates.append($0) }
                    index.suffixes.forEachMatch(in: bytes) { candidates.append($0) }
                    if let automaton = index.automaton {
                        setHits.removeAll(keepingCapacity: true)
                        automaton.matchingIndices(bytes, into: &setHits)
                        for h in setHits { candidates += index.automatonClauses[h] }
                    }
                }
            }
        }
        if candidates.isEmpty { return [] }
        if candidates.count > 1 { candidates.sort() }
        var out: [RuleMatch] = []
        var last: Int32 = -1
        var lastMatchedRule = -1
        for id in candidates where id != last {
            last = id
            let entry = clauses[Int(id)]
            if entry.ruleIndex == lastMatchedRule { continue }
            var captures = CaptureSet()
            if entry.clause.matches(fields, captures: &captures) {
                out.append(RuleMatch(ruleIndex: entry.ruleIndex, captures: captures))
                lastMatchedRule = entry.ruleIndex
            }
        }
        return out
    }

    /// Bytes held by the indexes, excluding the rules themselves (for the benchmark).
    public var indexMemoryFootprint: Int {
        fieldIndexes.reduce(0) { total, index in
            total + index.prefixes.memoryFootprint + index.suffixes.memoryFootprint
                + index.exact.reduce(0) { $0 + $1.key.utf8.count + 32 + $1.value.count * 4 }
        }
    }

    /// How the clauses were indexed: counts per strategy (shown by the benchmark).
    public var indexStatistics: [String: Int] {
        var stats: [String: Int] = ["always": alwaysCandidates.count]
        for i in fieldIndexes {
            stats["exact", default: 0] += i.exact.values.reduce(0) { $0 + $1.count }
            stats["prefix", default: 0] += i.prefixes.entryCount
            stats["suffix", default: 0] += i.suffixes.entryCount
            stats["automaton", default: 0] += i.automatonClauses.reduce(0) { $0 + $1.count }
        }
        return stats
    }
}
