/// Compiles a `RegexNode` into a byte-level NFA (`RegexProgram`), back to front: each node is
/// compiled knowing the instruction that follows it, so no patching of jump lists is needed.
struct RegexCompiler {
    /// Largest number of instructions (plus sparse entries) of one pattern.
    static let defaultLimit = 20_000

    private var insts: [RegexInstruction] = []
    private var sparse: [RegexSparseEntry] = []
    private let slotOfName: [String: Int]
    private let limit: Int

    private init(captureNames: [String], limit: Int) {
        var map: [String: Int] = [:]
        for (k, name) in captureNames.enumerated() { map[name] = k }
        slotOfName = map
        self.limit = limit
    }

    static func compile(
        _ node: RegexNode, patternIndex: Int = 0,
        limit: Int = defaultLimit
    ) throws(RegexSyntaxError) -> RegexProgram {
        let names = node.captureNames
        var c = RegexCompiler(captureNames: names, limit: limit)
        let match = try c.emit(RegexInstruction(op: .match, b: Int32(patternIndex)))
        let start = try c.compile(node, next: match)
        return RegexProgram(instructions: c.insts, sparse: c.sparse, start: start, slotCount: names.count * 2)
    }

    /// An upper bound of the instructions plus sparse entries `compile` emits for `node`,
    /// without compiling it: below `defaultLimit`, compiling cannot fail.
    static func sizeBound(_ node: RegexNode) -> Int {
        let cap = Int.max / 4
        func mul(_ a: Int, _ b: Int) -> Int { a == 0 || b <= cap / a ? a * b : cap }
        func add(_ a: Int, _ b: Int) -> Int { min(cap, a + b) }
        func bound(_ n: RegexNode) -> Int {
            switch n {
            case .empty: return 0
            case .literal: return 4
            case .scalarClass(let cls):
                // At most 7 byte-range sequences per range and encoded length, 4 bytes each, and
                // as many sparse entries, plus shared continuation states and a split.
                return add(mul(cls.ranges.count, 4 * 7 * 4 * 2), 8)
            case .concat(let xs):
                return xs.reduce(0) { add($0, bound($1)) }
            case .alternation(let xs):
                return xs.reduce(1) { add(add($0, bound($1)), 1) }
            case .repeat(let x, let lo, let hi, _):
                guard lo >= 0, hi.map({ $0 >= lo }) ?? true else { return cap }
                let b = bound(x)
                if let hi { return add(mul(hi - lo, add(b, 1)), mul(lo, b)) }
                return add(add(b, 1), mul(lo, b))
            case .capture(_, let x): return add(bound(x), 2)
            case .group(let x): return bound(x)
            case .startOfText, .endOfText: return 1
            }
        }
        return add(bound(node), 1)
    }

    private mutating func emit(_ inst: RegexInstruction) throws(RegexSyntaxError) -> Int32 {
        if insts.count + sparse.count >= limit { throw RegexSyntaxError.tooLarge(limit: limit) }
        insts.append(inst)
        return Int32(insts.count - 1)
    }

    private mutating func compile(_ node: RegexNode, next: Int32) throws(RegexSyntaxError) -> Int32 {
        switch node {
        case .empty:
            return next
        case .literal(let c):
            var pc = next
            for byte in RegexUTF8Sequences.encode(c.value).reversed() {
                pc = try emit(RegexInstruction(op: .byteRange, lo: byte, hi: byte, a: pc))
            }
            return pc
        case .scalarClass(let cls):
            return try compileClass(ScalarClass(ranges: cls.ranges), next: next)
        case .concat(let xs):
            var pc = next
            for x in xs.reversed() { pc = try compile(x, next: pc) }
            return pc
        case .alternation(let xs):
            guard !xs.isEmpty else { return try emit(RegexInstruction(op: .fail)) }
            var entries: [Int32] = []
            entries.reserveCapacity(xs.count)
            for x in xs { entries.append(try compile(x, next: next)) }
            var pc = entries[entries.count - 1]
            for e in entries.dropLast().reversed() {
                pc = try emit(RegexInstruction(op: .split, a: e, b: pc))
            }
            return pc
        case .repeat(let x, let lo, let hi, let greedy):
            if lo < 0 || (hi != nil && hi! < lo) {
                throw RegexSyntaxError(message: "invalid repetition {\(lo),\(hi.map(String.init) ?? "")}", offset: 0)
            }
            var pc: Int32
            if let hi {
                // Optional copies, nested: x{0,2} = (x(x)?)?
                pc = next
                for _ in 0..<(hi - lo) {
                    let body = try compile(x, next: pc)
                    pc = try emit(
                        greedy
                            ? RegexInstruction(op: .split, a: body, b: next)
                            : RegexInstruction(op: .split, a: next, b: body))
                }
            } else {
                let loop = try emit(RegexInstruction(op: .split))
                let body = try compile(x, next: loop)
                insts[Int(loop)] =
                    greedy
                    ? RegexInstruction(op: .split, a: body, b: next)
                    : RegexInstruction(op: .split, a: next, b: body)
                pc = loop
            }
            for _ in 0..<lo { pc = try compile(x, next: pc) }
            return pc
        case .capture(let name, let x):
            let slot = Int32(2 * slotOfName[name]!)
            let close = try emit(RegexInstruction(op: .save, a: next, b: slot + 1))
            let body = try compile(x, next: close)
            return try emit(RegexInstruction(op: .save, a: body, b: slot))
        case .group(let x):
            return try compile(x, next: next)
        case .startOfText:
            return try emit(RegexInstruction(op: .assertStart, a: next))
        case .endOfText:
            return try emit(RegexInstruction(op: .assertEnd, a: next))
        }
    }

    private mutating func compileClass(_ cls: ScalarClass, next: Int32) throws(RegexSyntaxError) -> Int32 {
        // Single ASCII range: one instruction, no trie.
        if cls.ranges.count == 1, cls.ranges[0].upperBound < 0x80 {
            let r = cls.ranges[0]
            return try emit(RegexInstruction(op: .byteRange, lo: UInt8(r.lowerBound), hi: UInt8(r.upperBound), a: next))
        }
        let seqs = RegexUTF8Sequences.sequences(for: cls)
        if seqs.isEmpty { return try emit(RegexInstruction(op: .fail)) }
        var memo: [[[RegexByteRange]]: Int32] = [:]
        var continuations: [Int32] = [next]
        return try compileSequences(seqs[...], next: next, memo: &memo, continuations: &continuations)
    }

    private static let continuation = RegexByteRange(lo: 0x80, hi: 0xBF)

    /// Compiles byte-range sequences as a trie (sequences sharing a first range share a state),
    /// with identical suffix sets shared through `memo`.
    private mutating func compileSequences(
        _ seqs: ArraySlice<[RegexByteRange]>, next: Int32,
        memo: inout [[[RegexByteRange]]: Int32],
        continuations: inout [Int32]
    ) throws(RegexSyntaxError) -> Int32 {
        // The common shared tails, k continuation bytes, are memoized without hashing.
        if seqs.count == 1, let only = seqs.first, !only.isEmpty,
            only.allSatisfy({ $0 == RegexCompiler.continuation })
        {
            while continuations.count <= only.count {
                let pc = try emit(
                    RegexInstruction(op: .byteRange, lo: 0x80, hi: 0xBF, a: continuations[continuations.count - 1]))
                continuations.append(pc)
            }
            return continuations[only.count]
        }
        let key = Array(seqs)
        if seqs.count > 2, let pc = memo[key] { return pc }
        var groups: [(range: RegexByteRange, rests: [[RegexByteRange]])] = []
        var matchesEmpty = false
        for seq in seqs {
            guard let first = seq.first else {
                matchesEmpty = true
                continue
            }
            let rest = Array(seq.dropFirst())
            if let g = groups.firstIndex(where: { $0.range == first }) {
                groups[g].rests.append(rest)
            } else {
                groups.append((first, [rest]))
            }
        }
        var entries: [RegexSparseEntry] = []
        for g in groups {
            let target: Int32
            if g.rests.allSatisfy({ $0.isEmpty }) {
                target = next
            } else {
                target = try compileSequences(g.rests[...], next: next, memo: &memo, continuations: &continuations)
            }
            entries.append(RegexSparseEntry(lo: g.range.lo, hi: g.range.hi, next: target))
        }
        var pc: Int32
        if entries.count == 1 {
            pc = try emit(RegexInstruction(op: .byteRange, lo: entries[0].lo, hi: entries[0].hi, a: entries[0].next))
        } else if entries.isEmpty {
            pc = try emit(RegexInstruction(op: .fail))
        } else {
            entries.sort { $0.lo < $1.lo }
            if insts.count + sparse.count + entries.count >= limit { throw RegexSyntaxError.tooLarge(limit: limit) }
            let at = Int32(sparse.count)
            sparse.append(contentsOf: entries)
            pc = try emit(RegexInstruction(op: .sparse, a: at, b: Int32(entries.count)))
        }
        if matchesEmpty { pc = try emit(RegexInstruction(op: .split, a: next, b: pc)) }
        if seqs.count > 2 { memo[key] = pc }
        return pc
    }
}
