/// A complete DFA over byte classes, built eagerly by subset construction from a
/// `RegexProgram`, for whole-input matching.
///
/// The builder produces `Int32` rows (layout below); `RegexDFAStorage` then packs them, so that
/// one byte costs two loads from small tables: `s = rows[s + class(byte)]`.
///
/// Builder layout: `table[0..<256]` is the byte class of each byte; from offset 256, one row of
/// `stride` entries per state: the next state's row offset for each class, and in the last
/// column (`stride - 1`) the state's acceptance at the end of the input (0: none; for a single
/// pattern 1; for a set, an offset into `acceptLists`). The dead state is the first row.
struct RegexDFA: Sendable {
    static let dead: Int32 = 256

    let storage: RegexDFAStorage
    var stateCount: Int
    var classCount: Int
    /// `acceptLists[v]` = number of patterns, followed by their indices (ascending).
    var acceptLists: [Int32]

    init(table: [Int32], start: Int32, stride: Int, stateCount: Int, classCount: Int, acceptLists: [Int32]) {
        storage = RegexDFAStorage(
            table: table, start: Int(start), stride: stride, stateCount: stateCount, classCount: classCount)
        self.stateCount = stateCount
        self.classCount = classCount
        self.acceptLists = acceptLists
    }

    /// Whether the input is accepted (used for single patterns).
    @inline(__always)
    func matches(_ input: UnsafeBufferPointer<UInt8>) -> Bool {
        storage.acceptance(input) != 0
    }

    /// Calls `found` with the index of every accepted pattern, ascending (used for sets).
    func forEachAcceptedPattern(_ input: UnsafeBufferPointer<UInt8>, _ found: (Int) -> Void) {
        let v = storage.acceptance(input)
        if v == 0 { return }
        let n = Int(acceptLists[v])
        for k in 0..<n { found(Int(acceptLists[v + 1 + k])) }
    }
}

/// The matching table of a `RegexDFA` in manually allocated memory, immutable after
/// initialization and compact (many patterns of a large rule set compete for the cache): a
/// byte's class is one byte of a 256-byte table; a state is a row of 32-bit words, the byte
/// offset in `rows` of the next state's row for each class, then the state's acceptance value.
/// The dead state is the row at offset 0.
final class RegexDFAStorage: @unchecked Sendable {
    private let classes: UnsafeMutablePointer<UInt8>
    private let rows: UnsafeMutableRawPointer
    private let start: Int
    /// Byte offset of the acceptance word in a row.
    private let acceptOffset: Int

    init(table: [Int32], start: Int, stride: Int, stateCount: Int, classCount: Int) {
        classes = .allocate(capacity: 256)
        for b in 0..<256 { classes[b] = UInt8(table[b]) }
        let rowWords = classCount + 1
        let rows = UnsafeMutableRawPointer.allocate(byteCount: max(4, stateCount * rowWords * 4), alignment: 64)
        self.rows = rows
        // Builder rows are at 256 + state * stride.
        let offset = { (builderOffset: Int32) -> Int32 in Int32((Int(builderOffset) - 256) / stride * rowWords * 4) }
        for state in 0..<stateCount {
            let base = 256 + state * stride
            let row = (rows + state * rowWords * 4).assumingMemoryBound(to: Int32.self)
            for c in 0..<classCount { row[c] = offset(table[base + c]) }
            row[classCount] = table[base + stride - 1]
        }
        self.start = Int(offset(Int32(start)))
        acceptOffset = classCount * 4
    }

    deinit {
        classes.deallocate()
        rows.deallocate()
    }

    /// The acceptance value of the state reached after the input (0 when rejected).
    @inline(__always)
    func acceptance(_ input: UnsafeBufferPointer<UInt8>) -> Int {
        let rows = UnsafeRawPointer(self.rows)
        let classes = self.classes
        var s = start
        for byte in input {
            s = Int((rows + (s &+ Int(classes[Int(byte)]) &<< 2)).load(as: Int32.self))
            if s == 0 { return 0 }
        }
        return Int((rows + s + acceptOffset).load(as: Int32.self))
    }
}

/// Subset construction of a `RegexDFA`.
struct RegexDFABuilder {
    private let insts: [RegexInstruction]
    private let sparse: [RegexSparseEntry]
    private var mark: [UInt32]
    private var generation: UInt32 = 0
    private var stack: [Int32] = []

    init(_ program: RegexProgram) {
        insts = program.instructions
        sparse = program.sparse
        mark = [UInt32](repeating: 0, count: program.instructions.count)
    }

    /// Builds the DFA of `program`, or nil when it needs more than `maxStates` states.
    /// `forSet`: record the accepted pattern indices per state instead of a yes/no flag.
    static func build(_ program: RegexProgram, maxStates: Int, forSet: Bool) -> RegexDFA? {
        var b = RegexDFABuilder(program)
        return b.run(start: program.start, maxStates: maxStates, forSet: forSet)
    }

    /// Epsilon closure of `seeds` into `out`, sorted: the consuming instructions plus `match` and
    /// (pending) `assertEnd` ones.
    private mutating func closure(_ seeds: [Int32], atStart: Bool, into out: inout [Int32]) {
        generation &+= 1
        if generation == 0 {
            for k in mark.indices { mark[k] = 0 }
            generation = 1
        }
        out.removeAll(keepingCapacity: true)
        stack.removeAll(keepingCapacity: true)
        stack.append(contentsOf: seeds)
        while let pc = stack.popLast() {
            if mark[Int(pc)] == generation { continue }
            mark[Int(pc)] = generation
            let inst = insts[Int(pc)]
            switch inst.op {
            case .byteRange, .sparse, .match, .assertEnd:
                out.append(pc)
            case .split:
                stack.append(inst.b)
                stack.append(inst.a)
            case .save:
                stack.append(inst.a)
            case .assertStart:
                if atStart { stack.append(inst.a) }
            case .fail:
                break
            }
        }
        out.sort()
    }

    /// Pattern indices accepted at the end of the input by the state `set`.
    private mutating func acceptance(_ set: [Int32], atStart: Bool) -> [Int32] {
        generation &+= 1
        if generation == 0 {
            for k in mark.indices { mark[k] = 0 }
            generation = 1
        }
        var found: [Int32] = []
        stack.removeAll(keepingCapacity: true)
        for pc in set {
            let inst = insts[Int(pc)]
            if inst.op == .match { found.append(inst.b) }
            if inst.op == .assertEnd { stack.append(inst.a) }
        }
        while let pc = stack.popLast() {
            if mark[Int(pc)] == generation { continue }
            mark[Int(pc)] = generation
            let inst = insts[Int(pc)]
            switch inst.op {
            case .match: found.append(inst.b)
            case .split:
                stack.append(inst.b)
                stack.append(inst.a)
            case .save, .assertEnd: stack.append(inst.a)
            case .assertStart: if atStart { stack.append(inst.a) }
            case .byteRange, .sparse, .fail: break
            }
        }
        if found.count > 1 {
            found.sort()
            var unique: [Int32] = []
            for f in found where unique.last != f { unique.append(f) }
            return unique
        }
        return found
    }

    /// Byte classes: bytes that no instruction tells apart share a class. Returns the class of
    /// each byte and one representative byte per class.
    static func byteClasses(_ insts: [RegexInstruction], _ sparse: [RegexSparseEntry]) -> ([Int32], [UInt8]) {
        var boundary = [Bool](repeating: false, count: 257)
        boundary[0] = true
        for inst in insts where inst.op == .byteRange {
            boundary[Int(inst.lo)] = true
            boundary[Int(inst.hi) + 1] = true
        }
        for e in sparse {
            boundary[Int(e.lo)] = true
            boundary[Int(e.hi) + 1] = true
        }
        var table = [Int32](repeating: 0, count: 256)
        var reps: [UInt8] = []
        var cls: Int32 = -1
        for byte in 0..<256 {
            if boundary[byte] {
                cls += 1
                reps.append(UInt8(byte))
            }
            table[byte] = cls
        }
        return (table, reps)
    }

    /// The byte transitions of the threads `pcs`, as class intervals in thread order, and the
    /// sorted class boundaries at which the set of applicable transitions can change (always
    /// starting with 0 and ending with `classCount`).
    static func classEdges(
        _ pcs: [Int32], _ insts: [RegexInstruction], _ sparse: [RegexSparseEntry],
        _ classOf: [Int32], _ classCount: Int,
        edges: inout [(lo: Int32, hi: Int32, row: Int32, target: Int32)],
        bounds: inout [Int32]
    ) {
        edges.removeAll(keepingCapacity: true)
        bounds.removeAll(keepingCapacity: true)
        bounds.append(0)
        bounds.append(Int32(classCount))
        for (row, pc) in pcs.enumerated() {
            let inst = insts[Int(pc)]
            if inst.op == .byteRange {
                let lo = classOf[Int(inst.lo)]
                let hi = classOf[Int(inst.hi)]
                edges.append((lo, hi, Int32(row), inst.a))
                bounds.append(lo)
                bounds.append(hi + 1)
            } else if inst.op == .sparse {
                let first = Int(inst.a)
                for e in first..<(first + Int(inst.b)) {
                    let entry = sparse[e]
                    let lo = classOf[Int(entry.lo)]
                    let hi = classOf[Int(entry.hi)]
                    edges.append((lo, hi, Int32(row), entry.next))
                    bounds.append(lo)
                    bounds.append(hi + 1)
                }
            }
        }
        bounds.sort()
        var unique = 0
        for b in bounds where unique == 0 || bounds[unique - 1] != b {
            bounds[unique] = b
            unique += 1
        }
        bounds.removeLast(bounds.count - unique)
    }

    private mutating func run(start: Int32, maxStates: Int, forSet: Bool) -> RegexDFA? {
        var (table, reps) = RegexDFABuilder.byteClasses(insts, sparse)
        let classOf = Array(table[0..<256])
        var edges: [(lo: Int32, hi: Int32, row: Int32, target: Int32)] = []
        var bounds: [Int32] = []
        let classCount = reps.count
        var stride = 2
        while stride < classCount + 1 { stride <<= 1 }
        let acceptColumn = stride - 1
        let dead = Int(RegexDFA.dead)

        // Row 0: the dead state.
        table.append(contentsOf: repeatElement(Int32(dead), count: stride))
        table[dead + acceptColumn] = 0
        var acceptLists: [Int32] = [0]

        var sets = RegexStateInterner()
        _ = sets.intern([])  // the dead state
        var startSet: [Int32] = []
        closure([start], atStart: true, into: &startSet)
        _ = sets.appendUnfindable(startSet)  // the start state is never shared: it alone sees `^` pass
        table.append(contentsOf: repeatElement(Int32(dead), count: stride))

        var seeds: [Int32] = []
        var next: [Int32] = []
        /// Seed lists already resolved for the current state, with their target.
        // Seed lists already resolved for the current state (flattened), with their targets.
        var seenSeeds: [Int32] = []
        var seenEnds: [Int] = []
        var seenTargets: [Int32] = []
        var set: [Int32] = []
        var k = 1
        while k < sets.count {
            set.removeAll(keepingCapacity: true)
            set.append(contentsOf: sets.list(k))
            let row = 256 + k * stride
            seenSeeds.removeAll(keepingCapacity: true)
            seenEnds.removeAll(keepingCapacity: true)
            seenTargets.removeAll(keepingCapacity: true)
            RegexDFABuilder.classEdges(set, insts, sparse, classOf, classCount, edges: &edges, bounds: &bounds)
            for j in 0..<(bounds.count - 1) {
                let c0 = bounds[j]
                seeds.removeAll(keepingCapacity: true)
                for edge in edges where edge.lo <= c0 && c0 <= edge.hi { seeds.append(edge.target) }
                if seeds.isEmpty { continue }  // row is pre-filled with the dead state
                let target: Int32
                var hit = -1
                var from = 0
                for (h, end) in seenEnds.enumerated() {
                    if end - from == seeds.count && seenSeeds[from..<end].elementsEqual(seeds) {
                        hit = h
                        break
                    }
                    from = end
                }
                if hit >= 0 {
                    target = seenTargets[hit]
                } else {
                    closure(seeds, atStart: false, into: &next)
                    let (index, inserted) = sets.intern(next)
                    target = Int32(256 + index * stride)
                    if inserted {
                        if sets.count > maxStates { return nil }
                        table.append(contentsOf: repeatElement(Int32(dead), count: stride))
                    }
                    seenSeeds.append(contentsOf: seeds)
                    seenEnds.append(seenSeeds.count)
                    seenTargets.append(target)
                }
                for c in Int(c0)..<Int(bounds[j + 1]) { table[row + c] = target }
            }
            let accepted = acceptance(set, atStart: k == 1)
            if !accepted.isEmpty {
                if forSet {
                    table[row + acceptColumn] = Int32(acceptLists.count)
                    acceptLists.append(Int32(accepted.count))
                    acceptLists.append(contentsOf: accepted)
                } else {
                    table[row + acceptColumn] = 1
                }
            } else {
                table[row + acceptColumn] = 0
            }
            k += 1
        }
        return RegexDFA(
            table: table, start: Int32(256 + stride), stride: stride, stateCount: sets.count,
            classCount: classCount, acceptLists: acceptLists)
    }
}
