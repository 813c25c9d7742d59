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

    let slots: AttributeSlots
    let program: MatchProgram
    private let tree: DiscriminationTree
    /// Clauses with no indexable condition at all.
    private let unindexedCount: Int

    private typealias Key = DiscriminationTree.Key

    public init(rules: [Rule]) {
        self.rules = rules
        var clauses: [(rule: Int, clause: MessageClause)] = []
        var names: [String] = []
        var known = Set<String>()
        for (i, rule) in rules.enumerated() {
            guard case let .message(cs) = rule.trigger else { continue }
            for c in cs {
                clauses.append((i, c))
                for condition in c.conditions {
                    if case let .attribute(name) = condition.field, known.insert(name).inserted { names.append(name) }
                }
            }
        }
        needsData = clauses.contains { c in
            c.clause.conditions.contains { if case .data = $0.field { return true } else { return false } }
        }
        slots = AttributeSlots(names)
        program = MatchProgram(clauses, slots: slots)
        var keys: [[DiscriminationTree.ClauseKeys]] = []
        keys.reserveCapacity(clauses.count)
        for c in clauses {
            var mine: [DiscriminationTree.ClauseKeys] = []
            for (index, condition) in c.clause.conditions.enumerated() {
                guard case let .attribute(name) = condition.field else { continue }
                let slot = slots.slot(of: name)
                guard !mine.contains(where: { $0.slot == slot }), let (k, decides) = Self.indexKeys(condition.matcher) else { continue }
                mine.append(.init(slot: slot, keys: k, condition: index, decides: decides))
            }
            keys.append(mine)
        }
        unindexedCount = keys.count { $0.isEmpty }
        tree = DiscriminationTree(clauseCount: clauses.count, keys: keys, names: names)
    }

    /// The index keys of a condition and whether they decide it, or nil when it cannot be indexed.
    private static func indexKeys(_ matcher: FieldMatcher) -> (keys: [Key], decides: Bool)? {
        switch matcher {
        case let .pattern(p):
            let (key, exact) = indexKey(p)
            return ([key], exact && p.captureNames.isEmpty)
        case let .anyOf(alternatives):
            var keys: [Key] = []
            var decides = true
            for a in alternatives {
                guard let (k, d) = indexKeys(a) else { return nil }
                keys += k
                decides = decides && d
            }
            return (keys, decides)
        case let .allOf(parts):
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
        if needsData { return match(MessageFields(message)) }
        return withView(message, fields: nil) { matches(in: $0) }
    }

    public func match(_ fields: MessageFields) -> [RuleMatch] {
        withView(fields.message, fields: needsData ? fields : nil) { matches(in: $0) }
    }

    /// Reads the message's value of every slot into one temporary byte arena.
    private func withView<R>(_ message: PubSubMessage, fields: MessageFields?, _ body: (MessageView) -> R) -> R {
        let n = slots.count
        let subscription = program.subscriptionID(message.subscription)
        return withUnsafeTemporaryAllocation(of: ByteSlice.self, capacity: max(1, n)) { v in
            let values = v.baseAddress.unsafelyUnwrapped
            values.initialize(repeating: .absent, count: n)
            let attributes = message.attributes
            if attributes.isEmpty || n == 0 {
                return body(MessageView(values: values, subscription: subscription, fields: fields))
            }
            return withUnsafeTemporaryAllocation(of: String?.self, capacity: n) { s in
                let strings = s.baseAddress.unsafelyUnwrapped
                strings.initialize(repeating: nil, count: n)
                defer { strings.deinitialize(count: n) }
                var total = 0
                // One dictionary look-up per slot or per attribute, whichever is fewer.
                if attributes.count < n {
                    for (name, value) in attributes {
                        let slot = slots.slot(of: name)
                        if slot >= 0 {
                            strings[Int(slot)] = value
                            total += value.utf8.count
                        }
                    }
                } else {
                    for i in 0..<n {
                        if let value = attributes[slots.names[i]] {
                            strings[i] = value
                            total += value.utf8.count
                        }
                    }
                }
                return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: max(1, total)) { a in
                    let arena = a.baseAddress.unsafelyUnwrapped
                    var used = 0
                    for i in 0..<n {
                        guard let value = strings[i] else { continue }
                        let start = arena + used
                        let count = value.utf8.count
                        if value.utf8.withContiguousStorageIfAvailable({ start.initialize(from: $0.baseAddress.unsafelyUnwrapped, count: $0.count) }) == nil {
                            _ = UnsafeMutableBufferPointer(start: start, count: count).initialize(from: value.utf8)
                        }
                        values[i] = ByteSlice(base: UnsafePointer(start), count: count)
                        used += count
                    }
                    return body(MessageView(values: values, subscription: subscription, fields: fields))
                }
            }
        }
    }

    /// The matches of one message view (captures as Strings).
    func matches(in message: MessageView) -> [RuleMatch] {
        var out: [RuleMatch] = []
        let names = program.captureNames
        forEachMatch(message) { rule, captures in
            out.append(RuleMatch(ruleIndex: rule, captures: captures.captureSet(names: names)))
        }
        return out
    }

    /// How many rules match one message view (for summaries: no capture becomes a String).
    func matchCount(in message: MessageView) -> Int {
        var n = 0
        forEachMatch(message) { _, _ in n += 1 }
        return n
    }

    /// Calls `found` with each matching rule, in rule order, and the captures of its first
    /// matching clause.
    @inline(__always)
    func forEachMatch(_ message: MessageView, _ found: (Int, CaptureBinder) -> Void) {
        let small = 32
        withUnsafeTemporaryAllocation(of: DiscriminationTree.Leaf.self, capacity: small) { buffer in
            let base = buffer.baseAddress.unsafelyUnwrapped
            let n = tree.candidates(message.values, into: base, capacity: small)
            if n == 0 { return }
            if n <= small {
                verify(base, n, message, found)
            } else {
                let big = UnsafeMutablePointer<DiscriminationTree.Leaf>.allocate(capacity: n)
                defer { big.deallocate() }
                _ = tree.candidates(message.values, into: big, capacity: n)
                verify(big, n, message, found)
            }
        }
    }

    /// Sorts the candidates by clause (so rules come in order and the first matching clause of
    /// a rule wins) and verifies each clause once.
    @inline(__always)
    private func verify(_ candidates: UnsafeMutablePointer<DiscriminationTree.Leaf>, _ n: Int, _ message: MessageView,
                        _ found: (Int, CaptureBinder) -> Void) {
        if n > 1 {
            if n <= 16 {
                for i in 1..<n {
                    let x = candidates[i]
                    var j = i
                    while j > 0 && candidates[j - 1].clause > x.clause {
                        candidates[j] = candidates[j - 1]
                        j -= 1
                    }
                    candidates[j] = x
                }
            } else {
                var all = UnsafeMutableBufferPointer(start: candidates, count: n)
                all.sort { $0.clause < $1.clause }
            }
        }
        let program = self.program
        let maxCaptures = max(1, program.maxCaptures)
        withUnsafeTemporaryAllocation(of: Int32.self, capacity: maxCaptures) { ids in
            withUnsafeTemporaryAllocation(of: ByteSlice.self, capacity: maxCaptures) { values in
                withUnsafeTemporaryAllocation(of: Int.self, capacity: max(1, program.maxSlots)) { slots in
                    var binder = CaptureBinder(ids: ids.baseAddress.unsafelyUnwrapped, values: values.baseAddress.unsafelyUnwrapped,
                                               slots: slots.baseAddress.unsafelyUnwrapped)
                    var matchedRule: Int32 = -1
                    var i = 0
                    while i < n {
                        let clause = candidates[i].clause
                        var proven = candidates[i].proven
                        i += 1
                        // Repeats of a clause (reached through several keys): each path proved its
                        // own conditions, so all of them hold.
                        while i < n && candidates[i].clause == clause {
                            proven |= candidates[i].proven
                            i += 1
                        }
                        let rule = program.clauses.base[Int(clause)].rule
                        if rule == matchedRule { continue }
                        binder.truncate(to: 0)
                        if program.verify(Int(clause), proven: proven, message, &binder) {
                            matchedRule = rule
                            found(Int(rule), binder)
                        }
                    }
                }
            }
        }
    }

    /// Bytes held by the index and the verification tables, excluding the rules themselves (for
    /// the benchmark).
    public var indexMemoryFootprint: Int { tree.memoryFootprint + program.memoryFootprint }

    /// How the clauses were indexed: keys per strategy and clauses with no key (`always`).
    public var indexStatistics: [String: Int] {
        var stats = tree.statistics
        stats["always"] = unindexedCount
        return stats
    }
}
