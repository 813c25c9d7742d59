/// One instruction of a byte-level Thompson NFA.
struct RegexInstruction: Sendable, Hashable {
    enum Op: UInt8, Sendable {
        /// Consumes one byte in `lo...hi`, then goes to `a`.
        case byteRange
        /// Consumes one byte matching one of the entries `sparse[a ..< a+b]`, going to its target.
        case sparse
        /// Epsilon fork: `a` has priority over `b`.
        case split
        /// Records the position into capture slot `b`, then goes to `a`.
        case save
        /// Passes to `a` only at the start of the input.
        case assertStart
        /// Passes to `a` only at the end of the input.
        case assertEnd
        /// Pattern `b` matches (when at the end of the input).
        case match
        /// Never matches.
        case fail
    }

    var op: Op
    var lo: UInt8 = 0
    var hi: UInt8 = 0
    var a: Int32 = 0
    var b: Int32 = 0
}

/// One byte range of a `sparse` instruction.
struct RegexSparseEntry: Sendable, Hashable {
    var lo: UInt8
    var hi: UInt8
    var next: Int32
}

/// A compiled byte-level NFA: flat instruction and sparse-entry arrays.
struct RegexProgram: Sendable {
    var instructions: [RegexInstruction]
    var sparse: [RegexSparseEntry]
    var start: Int32
    /// Two slots (start, end) per capture name.
    var slotCount: Int

    /// Joins several programs into one that starts all of them (used by `RegexSet`); the
    /// `match` instructions keep their pattern indices.
    static func union(_ programs: [RegexProgram]) -> RegexProgram {
        var insts: [RegexInstruction] = []
        var sparse: [RegexSparseEntry] = []
        insts.reserveCapacity(programs.reduce(programs.count) { $0 + $1.instructions.count })
        var starts: [Int32] = []
        for p in programs {
            let base = Int32(insts.count)
            let sparseBase = Int32(sparse.count)
            starts.append(p.start + base)
            for var inst in p.instructions {
                switch inst.op {
                case .byteRange, .assertStart, .assertEnd:
                    inst.a += base
                case .split:
                    inst.a += base
                    inst.b += base
                case .save:
                    inst.a += base
                case .sparse:
                    inst.a += sparseBase
                case .match, .fail:
                    break
                }
                insts.append(inst)
            }
            for var e in p.sparse {
                e.next += base
                sparse.append(e)
            }
        }
        guard var start = starts.last else {
            insts.append(RegexInstruction(op: .fail))
            return RegexProgram(instructions: insts, sparse: sparse, start: 0, slotCount: 0)
        }
        for s in starts.dropLast().reversed() {
            insts.append(RegexInstruction(op: .split, a: s, b: start))
            start = Int32(insts.count - 1)
        }
        return RegexProgram(instructions: insts, sparse: sparse, start: start, slotCount: 0)
    }
}
