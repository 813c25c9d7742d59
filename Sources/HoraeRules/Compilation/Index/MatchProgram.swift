/// The message clauses of a rule set as flat tables, for `CompiledRuleSet`'s verification step:
/// each clause is a run of conditions, each condition a field (attribute slot or `data:` path)
/// and a tree of matcher operations in preorder, each pattern an entry with its literal bytes or
/// its automaton. Everything the hot loop reads is plain data behind raw pointers (no reference
/// counting, no copies of enums with payloads); the objects it points to (`CompiledRegex`) are
/// kept alive by `regexes`.
final class MatchProgram: @unchecked Sendable {
    struct Clause: BitwiseCopyable {
        var rule: Int32
        var conditionStart: Int32
        var conditionCount: Int32
        /// Into `subscriptionIDs`; `subscriptionCount < 0` means any subscription.
        var subscriptionStart: Int32
        var subscriptionCount: Int32
    }

    struct Condition: BitwiseCopyable {
        /// Attribute slot (>= 0), or `-1 - i` for `dataPaths[i]`.
        var field: Int32
        /// Root of its matcher in `ops`.
        var op: Int32
        /// A pattern compared byte for byte without captures (tried first, before any automaton).
        var isEquality: Bool
    }

    struct Op: BitwiseCopyable {
        enum Kind: UInt8 { case pattern, exists, numeric, not, anyOf, allOf }
        var kind: Kind
        /// `exists`: 1 for `true`; `numeric`: the comparison (`FieldMatcher.NumericComparison`).
        var flag: UInt8
        /// Index just past this operation's subtree; the children follow the operation.
        var end: Int32
        /// `pattern`: index into `patterns`.
        var pattern: Int32
        var bound: Double
    }

    /// A `StringPattern`: its literal bytes (for `automaton`, the leading literal text, compared
    /// before the automaton runs on the rest of the value) and its automaton.
    struct Pattern: BitwiseCopyable {
        var strategy: StringPattern.Strategy
        var literalStart: Int32
        var literalCount: Int32
        /// Into `captureIDs`: the rule-set-wide id of each capture name of the pattern.
        var captureStart: Int32
        var captureCount: Int32
        var regex: Unmanaged<CompiledRegex>?
    }

    static let comparisons = FieldMatcher.NumericComparison.allCases

    let clauses: FlatBuffer<Clause>
    let conditions: FlatBuffer<Condition>
    let ops: FlatBuffer<Op>
    let patterns: FlatBuffer<Pattern>
    let literals: FlatBuffer<UInt8>
    let captureIDs: FlatBuffer<Int32>
    let subscriptionIDs: FlatBuffer<Int32>
    /// Capture id → name.
    let captureNames: [String]
    let dataPaths: [[String]]
    /// Subscription name → id (for `subscriptionIDs`).
    let subscriptionTable: [String: Int32]
    /// The same names by id: a few String comparisons beat hashing one String.
    private let subscriptionNames: [String]
    /// Most capture names one clause can bind, and most capture slots of one pattern.
    let maxCaptures: Int
    let maxSlots: Int
    /// Keeps the automata that `patterns` point to alive.
    private let regexes: [CompiledRegex]

    /// `clauses[i]` is clause `i` of the rule set (rule index, clause), in rule order.
    init(_ source: [(rule: Int, clause: MessageClause)], slots: AttributeSlots) {
        var clauses: [Clause] = []
        var conditions: [Condition] = []
        var ops: [Op] = []
        var patterns: [Pattern] = []
        var literals: [UInt8] = []
        var captureIDs: [Int32] = []
        var subscriptionIDs: [Int32] = []
        var captureNames: [String] = []
        var captureIDOfName: [String: Int32] = [:]
        var dataPaths: [[String]] = []
        var dataPathIndex: [[String]: Int32] = [:]
        var subscriptionTable: [String: Int32] = [:]
        var regexes: [CompiledRegex] = []
        var maxCaptures = 0, maxSlots = 0

        // An automaton pattern runs on what follows its leading literal text, which is compared
        // first: rules that differ only there (a customer's name in a path) then share one
        // automaton, which stays in the cache. Equal remainders share one `CompiledRegex`.
        var sharedRegex: [RegexNode: CompiledRegex] = [:]
        // Identical patterns (found by their text, which is cheaper than hashing trees).
        var sameText: [String: (literal: [UInt8], regex: CompiledRegex)] = [:]

        func addPattern(_ p: StringPattern) -> Int32 {
            let start = Int32(captureIDs.count)
            for name in p.captureNames {
                if let id = captureIDOfName[name] {
                    captureIDs.append(id)
                } else {
                    let id = Int32(captureNames.count)
                    captureNames.append(name)
                    captureIDOfName[name] = id
                    captureIDs.append(id)
                }
            }
            maxSlots = max(maxSlots, 2 * p.captureNames.count)
            var literal = p.literal
            var regex = p.regex
            let text = "\(p.kind.rawValue)\(p.ignoreCase ? "i" : "")\u{0}\(p.source)"
            if regex != nil, let known = sameText[text] {
                (literal, regex) = known
                regexes.append(known.regex)
            } else if let whole = regex {
                defer { sameText[text] = (literal, regex!) }
                let node = p.node
                if let (prefix, rest) = node.splittingLiteralPrefix(), rest.captureNames == p.captureNames {
                    if let shared = sharedRegex[rest] {
                        (literal, regex) = (Array(prefix.utf8), shared)
                    } else if let compiled = try? CompiledRegex(rest) {
                        sharedRegex[rest] = compiled
                        (literal, regex) = (Array(prefix.utf8), compiled)
                    }
                } else if let shared = sharedRegex[node] {
                    regex = shared
                } else {
                    sharedRegex[node] = whole
                }
                regexes.append(regex!)
            }
            patterns.append(Pattern(strategy: p.strategy, literalStart: Int32(literals.count), literalCount: Int32(literal.count),
                                    captureStart: start, captureCount: Int32(p.captureNames.count),
                                    regex: regex.map { Unmanaged.passUnretained($0) }))
            literals.append(contentsOf: literal)
            return Int32(patterns.count - 1)
        }

        func addOp(_ m: FieldMatcher) {
            let at = ops.count
            ops.append(Op(kind: .exists, flag: 0, end: 0, pattern: -1, bound: 0))
            switch m {
            case let .pattern(p):
                ops[at].kind = .pattern
                ops[at].pattern = addPattern(p)
            case let .exists(e):
                ops[at].flag = e ? 1 : 0
            case let .numeric(op, bound):
                ops[at].kind = .numeric
                ops[at].flag = UInt8(Self.comparisons.firstIndex(of: op)!)
                ops[at].bound = bound
            case let .not(inner):
                ops[at].kind = .not
                addOp(inner)
            case let .anyOf(ms):
                ops[at].kind = .anyOf
                for x in ms { addOp(x) }
            case let .allOf(ms):
                ops[at].kind = .allOf
                for x in ms { addOp(x) }
            }
            ops[at].end = Int32(ops.count)
        }

        for (rule, clause) in source {
            let conditionStart = Int32(conditions.count)
            var captures = 0
            for c in clause.conditions {
                let field: Int32
                switch c.field {
                case let .attribute(name): field = slots.slot(of: name)
                case let .data(path):
                    if let i = dataPathIndex[path] {
                        field = -1 - i
                    } else {
                        dataPathIndex[path] = Int32(dataPaths.count)
                        field = -1 - Int32(dataPaths.count)
                        dataPaths.append(path)
                    }
                }
                var isEquality = false
                if case let .pattern(p) = c.matcher, p.isEquality { isEquality = true }
                conditions.append(Condition(field: field, op: Int32(ops.count), isEquality: isEquality))
                addOp(c.matcher)
                captures += c.matcher.captureNames.count
            }
            maxCaptures = max(maxCaptures, captures)
            var subscriptionStart: Int32 = 0, subscriptionCount: Int32 = -1
            if let names = clause.subscriptions {
                subscriptionStart = Int32(subscriptionIDs.count)
                subscriptionCount = Int32(names.count)
                for n in names {
                    if let id = subscriptionTable[n] {
                        subscriptionIDs.append(id)
                    } else {
                        let id = Int32(subscriptionTable.count)
                        subscriptionTable[n] = id
                        subscriptionIDs.append(id)
                    }
                }
            }
            clauses.append(Clause(rule: Int32(rule), conditionStart: conditionStart, conditionCount: Int32(clause.conditions.count),
                                  subscriptionStart: subscriptionStart, subscriptionCount: subscriptionCount))
        }
        self.clauses = FlatBuffer(clauses)
        self.conditions = FlatBuffer(conditions)
        self.ops = FlatBuffer(ops)
        self.patterns = FlatBuffer(patterns)
        self.literals = FlatBuffer(literals)
        self.captureIDs = FlatBuffer(captureIDs)
        self.subscriptionIDs = FlatBuffer(subscriptionIDs)
        self.captureNames = captureNames
        self.dataPaths = dataPaths
        self.subscriptionTable = subscriptionTable
        var names = [String](repeating: "", count: subscriptionTable.count)
        for (name, id) in subscriptionTable { names[Int(id)] = name }
        subscriptionNames = names
        self.maxCaptures = maxCaptures
        self.maxSlots = maxSlots
        self.regexes = regexes
    }

    /// The id of a message's subscription for `subscriptionIDs` (-1 when absent or named by no
    /// clause).
    @inline(__always)
    func subscriptionID(_ name: String?) -> Int32 {
        guard let name, !subscriptionNames.isEmpty else { return -1 }
        if subscriptionNames.count > 8 { return subscriptionTable[name] ?? -1 }
        for (id, known) in subscriptionNames.enumerated() where known == name { return Int32(id) }
        return -1
    }

    var memoryFootprint: Int {
        clauses.memoryFootprint + conditions.memoryFootprint + ops.memoryFootprint + patterns.memoryFootprint
            + literals.memoryFootprint + captureIDs.memoryFootprint + subscriptionIDs.memoryFootprint
    }
}
