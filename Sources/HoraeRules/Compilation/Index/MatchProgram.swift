/// The message clauses of a rule set as one flat table, for `CompiledRuleSet`'s verification
/// step: each clause is one contiguous record in `code` (its header, conditions, matcher
/// operations and patterns with their literal bytes), so verifying a candidate reads a few
/// adjacent cache lines rather than one line in each of several tables; at 10 000 rules they are
/// rarely in the cache. Everything the hot loop reads is plain data behind a raw pointer (no
/// reference counting, no copies of enums with payloads); the objects it points to
/// (`CompiledRegex`) are kept alive by `regexes`.
///
/// Records, at byte offsets into `code` (little-endian; records that hold a pointer or a
/// `Double` are 8-aligned, the others 4-aligned):
///
///     clause:    rule Int32, conditionCount UInt16, subscriptionCount Int16 (-1: any),
///                subscription ids Int32 × count, then per condition: field Int32 (attribute
///                slot, or -1 - i for `dataPaths[i]`), kind and argument UInt32, payload
///                UInt32: a pattern compared byte for byte (its length; its bytes, which
///                follow the conditions), `exists` (true or false), or anything else (its
///                operation)
///     operation: kind UInt8, flag UInt8 (`exists`: 1 for true; `numeric`: the comparison),
///                UInt16 0, end UInt32 (offset just past its subtree), payload UInt32 (the
///                pattern's or the bound's offset); its children follow, then its pattern
///     pattern:   strategy UInt8, 3 × UInt8 0, literal count UInt32, capture count UInt32,
///                UInt32 0, regex UInt64 (an unretained `CompiledRegex`, 0: none), UInt64: the
///                offset of a `SingleGapMatcher` for the same language, used instead of the
///                regex (0: none; written once, after the first pattern that uses it), the
///                literal bytes (for an automaton: its leading literal text, compared before it
///                runs on the rest of the value), then the rule-set-wide capture ids, Int32 each
///     bound:     Double
///
/// Conditions' operations are laid out in the order verification reads them: the byte-for-byte
/// comparisons first, then the others as written, and last those the index usually proves
/// (which verification then skips), so that what is read is in the first cache lines.
final class MatchProgram: @unchecked Sendable {
    enum OpKind: UInt8 { case pattern, exists, numeric, not, anyOf, allOf }

    static let comparisons = FieldMatcher.NumericComparison.allCases
    /// A condition: field, kind (top byte) and argument, payload.
    static let conditionSize = 12
    /// `pattern` that is a byte-for-byte comparison: the argument is its length, the payload
    /// the offset of its bytes.
    static let equalityKind: UInt32 = 0x0100_0000
    /// `exists`: the argument is 1 for `exists: true`.
    static let existsKind: UInt32 = 0x0200_0000
    /// Anything else: the payload is the offset of its operation.
    static let operationKind: UInt32 = 0x0300_0000

    /// The records, in the buffer they share with the `DiscriminationTree` (each is written
    /// right after the first leaf that lists its clause, so the two are read together).
    let code: FlatBuffer<UInt8>
    /// Capture id → name.
    let captureNames: [String]
    let dataPaths: [[String]]
    /// Subscription name → id (for the clauses' subscription ids).
    let subscriptionTable: [String: Int32]
    /// The same names by id: a few String comparisons beat hashing one String.
    private let subscriptionNames: [String]
    /// Most capture names one clause can bind, and most capture slots of one pattern.
    let maxCaptures: Int
    let maxSlots: Int
    /// Keeps the automata that `code` points to alive.
    private let regexes: [CompiledRegex]

    /// The program whose records `writer` wrote into `code`.
    init(_ writer: Writer, code: FlatBuffer<UInt8>) {
        self.code = code
        captureNames = writer.captureNames
        dataPaths = writer.dataPaths
        subscriptionTable = writer.subscriptionTable
        var names = [String](repeating: "", count: writer.subscriptionTable.count)
        for (name, id) in writer.subscriptionTable { names[Int(id)] = name }
        subscriptionNames = names
        maxCaptures = writer.maxCaptures
        maxSlots = writer.maxSlots
        regexes = writer.regexes
    }

    /// Writes clause records into `code`, which the tree writes its nodes into too.
    struct Writer {
        let source: [(rule: Int, clause: MessageClause)]
        let slots: AttributeSlots
        let decided: [Set<Int>]
        /// Offset of each clause's record, once written.
        private var written: [UInt32?]
        var code: [UInt8] = []
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
        var sameText: [String: (literal: [UInt8], regex: CompiledRegex, node: RegexNode)] = [:]
        // Gap matchers by the node they match: their offset once written (nil: that node has
        // another shape).
        var gapOffsets: [RegexNode: UInt32?] = [:]

        /// `source[i]` is clause `i` of the rule set (rule index, clause), in rule order;
        /// `decided[i]` the conditions of clause `i` that reaching it through the index can
        /// prove.
        init(_ source: [(rule: Int, clause: MessageClause)], slots: AttributeSlots, decided: [Set<Int>]) {
            self.source = source
            self.slots = slots
            self.decided = decided
            written = Array(repeating: nil, count: source.count)
        }

        /// The offset of clause `i`'s record, written now at the end of `code` if it was not yet.
        mutating func record(_ i: Int) -> UInt32 {
            if let at = written[i] { return at }
            let at = UInt32(
                clause(
                    rule: source[i].rule, source[i].clause, slots: slots, decided: i < decided.count ? decided[i] : []))
            // What follows (tree nodes, radix records) is laid out from 4-aligned offsets.
            align(4)
            written[i] = at
            return at
        }

        mutating func append<T: FixedWidthInteger>(_ x: T) {
            withUnsafeBytes(of: x.littleEndian) { code += $0 }
        }

        mutating func store(_ x: UInt32, at offset: Int) {
            withUnsafeBytes(of: x.littleEndian) { for i in 0..<4 { code[offset + i] = $0[i] } }
        }

        mutating func align(_ n: Int) {
            while code.count % n != 0 { code.append(0) }
        }

        private mutating func clause(rule: Int, _ clause: MessageClause, slots: AttributeSlots, decided: Set<Int>)
            -> Int32
        {
            align(8)
            let at = code.count
            append(Int32(rule))
            append(UInt16(clause.conditions.count))
            if let names = clause.subscriptions {
                append(Int16(names.count))
                for n in names {
                    if let id = subscriptionTable[n] {
                        append(id)
                    } else {
                        let id = Int32(subscriptionTable.count)
                        subscriptionTable[n] = id
                        append(id)
                    }
                }
            } else {
                append(Int16(-1))
            }
            let conditionTable = code.count
            var captures = 0
            for c in clause.conditions {
                let field: Int32
                switch c.field {
                case .attribute(let name): field = slots.slot(of: name)
                case .data(let path):
                    if let i = dataPathIndex[path] {
                        field = -1 - i
                    } else {
                        dataPathIndex[path] = Int32(dataPaths.count)
                        field = -1 - Int32(dataPaths.count)
                        dataPaths.append(path)
                    }
                }
                append(field)
                append(UInt32(0))
                append(UInt32(0))
                captures += c.matcher.captureNames.count
            }
            maxCaptures = max(maxCaptures, captures)
            // Byte-for-byte comparisons first (the order verification reads them), then the
            // others; those the index usually proves last.
            let all = clause.conditions.indices
            let order =
                all.filter { !decided.contains($0) && Self.isEquality(clause.conditions[$0]) }
                + all.filter { !decided.contains($0) && !Self.isEquality(clause.conditions[$0]) }
                + all.filter { decided.contains($0) }
            for i in order {
                let entry = conditionTable + MatchProgram.conditionSize * i
                switch clause.conditions[i].matcher {
                case .pattern(let p) where p.isEquality && p.literal.count < 0x0100_0000:
                    store(MatchProgram.equalityKind | UInt32(p.literal.count), at: entry + 4)
                    store(UInt32(code.count), at: entry + 8)
                    code += p.literal
                case .exists(let e):
                    store(MatchProgram.existsKind | (e ? 1 : 0), at: entry + 4)
                default:
                    store(MatchProgram.operationKind, at: entry + 4)
                    let op = operation(clause.conditions[i].matcher)
                    store(op, at: entry + 8)
                }
            }
            return Int32(at)
        }

        static func isEquality(_ c: FieldCondition) -> Bool {
            if case .pattern(let p) = c.matcher { return p.isEquality }
            return false
        }

        /// Writes the operation for `m` and its subtree; returns its offset.
        mutating func operation(_ m: FieldMatcher) -> UInt32 {
            align(4)
            let at = code.count
            var kind = OpKind.exists
            var flag: UInt8 = 0
            switch m {
            case .pattern: kind = .pattern
            case .exists(let e): flag = e ? 1 : 0
            case .numeric(let op, _):
                kind = .numeric
                flag = UInt8(MatchProgram.comparisons.firstIndex(of: op)!)
            case .not: kind = .not
            case .anyOf: kind = .anyOf
            case .allOf: kind = .allOf
            }
            append(kind.rawValue)
            append(flag)
            append(UInt16(0))
            append(UInt32(0))  // end
            append(UInt32(0))  // payload
            switch m {
            case .pattern(let p): store(pattern(p), at: at + 8)
            case .numeric(_, let bound):
                align(8)
                store(UInt32(code.count), at: at + 8)
                append(bound.bitPattern)
            case .not(let inner): _ = operation(inner)
            case .anyOf(let ms), .allOf(let ms): for x in ms { _ = operation(x) }
            case .exists: break
            }
            align(4)
            store(UInt32(code.count), at: at + 4)
            return UInt32(at)
        }

        /// Writes the record of `p`; returns its offset.
        mutating func pattern(_ p: StringPattern) -> UInt32 {
            var ids: [Int32] = []
            for name in p.captureNames {
                if let id = captureIDOfName[name] {
                    ids.append(id)
                } else {
                    let id = Int32(captureNames.count)
                    captureNames.append(name)
                    captureIDOfName[name] = id
                    ids.append(id)
                }
            }
            maxSlots = max(maxSlots, 2 * p.captureNames.count)
            var literal = p.literal
            var regex = p.regex
            var node = p.node
            let text = "\(p.kind.rawValue)\(p.ignoreCase ? "i" : "")\u{0}\(p.source)"
            if regex != nil, let known = sameText[text] {
                (literal, regex, node) = known
                regexes.append(known.regex)
            } else if let whole = regex {
                defer { sameText[text] = (literal, regex!, node) }
                if let (prefix, rest) = node.splittingLiteralPrefix(), rest.captureNames == p.captureNames {
                    if let shared = sharedRegex[rest] {
                        (literal, regex) = (Array(prefix.utf8), shared)
                        node = rest
                    } else if let compiled = try? CompiledRegex(rest) {
                        sharedRegex[rest] = compiled
                        (literal, regex) = (Array(prefix.utf8), compiled)
                        node = rest
                    }
                } else if let shared = sharedRegex[node] {
                    regex = shared
                } else {
                    sharedRegex[node] = whole
                }
                regexes.append(regex!)
            }
            align(8)
            let at = code.count
            append(p.strategy.rawValue)
            append(UInt8(0))
            append(UInt16(0))
            append(UInt32(literal.count))
            append(UInt32(ids.count))
            append(UInt32(0))
            append(UInt64(regex.map { UInt(bitPattern: Unmanaged.passUnretained($0).toOpaque()) } ?? 0))
            append(UInt64(0))
            code += literal
            align(4)
            for id in ids { append(id) }
            if regex != nil {
                let known = gapOffsets[node]
                var offset: UInt32? = known ?? nil
                if known == nil {
                    offset = nil
                    if let program = SingleGapMatcher.compile(node) {
                        align(8)
                        offset = UInt32(code.count)
                        code += program
                    }
                    gapOffsets[node] = .some(offset)
                }
                if let offset { store(offset, at: at + 24) }
            }
            return UInt32(at)
        }
    }

    /// The rule of the clause whose record is at `offset`.
    @inline(__always)
    func rule(ofClauseAt offset: Int32) -> Int32 {
        UnsafeRawPointer(code.base).loadUnaligned(fromByteOffset: Int(offset), as: Int32.self)
    }

    /// The id of a message's subscription for the clauses' subscription ids (-1 when absent or
    /// named by no clause).
    @inline(__always)
    func subscriptionID(_ name: String?) -> Int32 {
        guard let name, !subscriptionNames.isEmpty else { return -1 }
        if subscriptionNames.count > 8 { return subscriptionTable[name] ?? -1 }
        for (id, known) in subscriptionNames.enumerated() where known == name { return Int32(id) }
        return -1
    }

    /// Bytes held apart from `code`, which the tree counts.
    var memoryFootprint: Int { 0 }

    /// The automata the patterns run, one entry per pattern that has one (for tests: which
    /// patterns share an automaton).
    var automatonIdentities: [ObjectIdentifier] { regexes.map(ObjectIdentifier.init) }
}
