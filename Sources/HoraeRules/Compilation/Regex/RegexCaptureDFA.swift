/// A deterministic, eagerly built form of the Pike VM for patterns with captures.
///
/// A state is the ordered list of live NFA threads (their instructions, in priority order) that
/// the Pike VM would hold after some input; the capture slots of those threads are kept at run
/// time in rows of a small buffer. A transition on a byte class gives the next state and an
/// action: for each thread of the next state, the thread of the previous state it comes from and
/// the slots it sets to the current position. Following the transitions therefore gives exactly
/// the Pike VM's result (same priorities), in one table look-up plus a few slot copies per byte.
/// Built only up to a state cap; beyond it the Pike VM itself is used.
struct RegexCaptureDFA: Sendable {
    static let dead: Int32 = -1
    /// Inputs up to this length record one action per byte and resolve the slots backwards at
    /// the end; longer ones copy slot rows forwards at every byte.
    static let historyLimit = 4096

    let storage: RegexCaptureDFAStorage
    var stateCount: Int

    /// Builder layout: `table[0..<256]`: byte class of each byte; then per state one header entry
    /// (offset of its entry in `finals`) and `2 * classCount` entries: (next state offset, which
    /// points just past the next state's header, or `dead`; action offset or -1 for "same
    /// threads, no slot change"). `actions[a]` = thread count n, then n entries of 3 values:
    /// source thread (-1: fresh) and the 64-bit mask (low, high) of the slots it sets to the
    /// current position. `finals[f]`: accepting thread at the end of the input (-1: none) and the
    /// mask of the slots it sets there.
    init(
        table: [Int32], start: Int32, initialAction: Int32, actions: [Int32], finals: [Int32],
        maxThreads: Int, slotCount: Int, stateCount: Int, classCount: Int
    ) {
        storage = RegexCaptureDFAStorage(
            table: table, start: Int(start), initialAction: Int(initialAction),
            actions: actions, finals: finals, maxThreads: maxThreads,
            slotCount: slotCount, stateCount: stateCount, classCount: classCount)
        self.stateCount = stateCount
    }

}

/// The tables of a `RegexCaptureDFA` in manually allocated memory, immutable after
/// initialization, laid out to touch few cache lines per byte (many patterns of a large rule set
/// compete for the cache): a byte's class is one byte of a 256-byte table; a transition is 8
/// bytes (offset of the next state's first transition in `rows`, 0 for the dead state; action
/// offset), preceded in each state by an 8-byte header holding its `finals` offset. Action
/// sources are stored premultiplied by 3 (an entry's size).
final class RegexCaptureDFAStorage: @unchecked Sendable {
    private let classes: UnsafeMutablePointer<UInt8>
    private let rows: UnsafeMutableRawPointer
    private let start: Int
    private let actions: UnsafeMutablePointer<Int32>
    private let initialAction: Int
    private let identityAction: Int
    private let finals: UnsafeMutablePointer<Int32>
    private let maxThreads: Int
    private let slotCount: Int

    init(
        table: [Int32], start: Int, initialAction: Int, actions: [Int32], finals: [Int32],
        maxThreads: Int, slotCount: Int, stateCount: Int, classCount: Int
    ) {
        let builderRow = 1 + 2 * classCount
        let rowBytes = 8 + 8 * classCount
        let identity = actions.count
        classes = .allocate(capacity: 256)
        for b in 0..<256 { classes[b] = UInt8(table[b]) }
        let rows = UnsafeMutableRawPointer.allocate(byteCount: max(1, stateCount * rowBytes), alignment: 64)
        self.rows = rows
        func offset(_ builderOffset: Int32) -> Int32 {
            if builderOffset == RegexCaptureDFA.dead { return 0 }
            let state = (Int(builderOffset) - 1 - 256) / builderRow
            return Int32(state * rowBytes + 8)
        }
        for state in 0..<stateCount {
            let base = 256 + state * builderRow
            let row = rows + state * rowBytes
            row.storeBytes(of: table[base], as: Int32.self)
            row.storeBytes(of: 0, toByteOffset: 4, as: Int32.self)
            for c in 0..<classCount {
                row.storeBytes(of: offset(table[base + 1 + 2 * c]), toByteOffset: 8 + 8 * c, as: Int32.self)
                let action = table[base + 2 + 2 * c]
                row.storeBytes(of: action < 0 ? Int32(identity) : action, toByteOffset: 12 + 8 * c, as: Int32.self)
            }
        }
        self.start = Int(offset(Int32(start)))
        // "Same threads, no slot change" becomes an explicit identity action, so that the
        // backward walk needs no branch for it.
        var premultiplied = actions
        premultiplied.append(Int32(maxThreads))
        for j in 0..<maxThreads { premultiplied += [Int32(j), 0, 0] }
        var a = 0
        while a < premultiplied.count {
            let n = Int(premultiplied[a])
            for j in 0..<n where premultiplied[a + 1 + 3 * j] >= 0 {
                premultiplied[a + 1 + 3 * j] *= 3
            }
            a += 1 + 3 * n
        }
        self.actions = .allocate(capacity: max(1, premultiplied.count))
        self.actions.initialize(from: premultiplied, count: premultiplied.count)
        self.initialAction = initialAction
        self.identityAction = identity
        self.finals = .allocate(capacity: max(1, finals.count))
        self.finals.initialize(from: finals, count: finals.count)
        self.maxThreads = maxThreads
        self.slotCount = slotCount
    }

    deinit {
        classes.deallocate()
        rows.deallocate()
        actions.deallocate()
        finals.deallocate()
    }

    @inline(__always)
    private static func mask(_ p: UnsafePointer<Int32>) -> UInt64 {
        UInt64(UInt32(bitPattern: p[0])) | (UInt64(UInt32(bitPattern: p[1])) << 32)
    }

    /// Runs the automaton on the whole input and writes the capture slots of the highest-priority
    /// match to `out[0 ..< slotCount]` (-1 for a capture that did not participate); false when
    /// the input does not match (then `out` is undefined).
    @inline(__always)
    func resolve(_ input: UnsafeBufferPointer<UInt8>, into out: UnsafeMutablePointer<Int>) -> Bool {
        if input.count <= RegexCaptureDFA.historyLimit {
            return withUnsafeTemporaryAllocation(of: Int32.self, capacity: input.count + 1) { hist in
                backwardResolve(input, hist.baseAddress.unsafelyUnwrapped, into: out)
            }
        }
        return forwardCopy(input, into: out)
    }

    /// Runs the automaton recording the action of each byte, then follows the accepting thread
    /// back to the start: the first assignment of a slot met going backwards is its last value.
    private func backwardResolve(
        _ input: UnsafeBufferPointer<UInt8>, _ hist: UnsafeMutablePointer<Int32>,
        into out: UnsafeMutablePointer<Int>
    ) -> Bool {
        let rows = UnsafeRawPointer(self.rows)
        let classes = self.classes
        var s = start
        var i = 0
        for byte in input {
            let e = rows + (s &+ Int(classes[Int(byte)]) &<< 3)
            let next = Int(e.load(as: Int32.self))
            if next == 0 { return false }
            hist[i] = e.load(fromByteOffset: 4, as: Int32.self)
            i &+= 1
            s = next
        }
        let f = Int((rows + s - 8).load(as: Int32.self))
        let row = Int(finals[f])
        if row < 0 { return false }
        var rowOffset = 3 * row
        let k = slotCount
        let all: UInt64 = k >= 64 ? ~0 : (1 << UInt64(k)) &- 1
        let a = UnsafePointer(actions)
        out.update(repeating: -1, count: k)
        var fresh = RegexCaptureDFAStorage.mask(finals + f + 1)
        var assigned = fresh
        while fresh != 0 {
            out[fresh.trailingZeroBitCount] = input.count
            fresh &= fresh &- 1
        }
        var p = input.count
        while p > 0 && assigned != all {
            let entry = a + (Int(hist[p &- 1]) &+ 1 &+ rowOffset)
            fresh = RegexCaptureDFAStorage.mask(entry + 1) & ~assigned
            rowOffset = Int(entry[0])
            if fresh != 0 {
                assigned |= fresh
                repeat {
                    out[fresh.trailingZeroBitCount] = p
                    fresh &= fresh &- 1
                } while fresh != 0
            }
            p &-= 1
        }
        if assigned != all {
            fresh = RegexCaptureDFAStorage.mask(a + (initialAction + 1 + rowOffset + 1)) & ~assigned
            while fresh != 0 {
                out[fresh.trailingZeroBitCount] = 0
                fresh &= fresh &- 1
            }
        }
        return true
    }

    /// Capture ranges from slot pairs (nil when a capture did not participate).
    static func ranges(_ slots: UnsafePointer<Int>, _ k: Int) -> [Range<Int>?] {
        var result = [Range<Int>?](repeating: nil, count: k / 2)
        for c in 0..<(k / 2) {
            let lo = slots[2 * c]
            let hi = slots[2 * c + 1]
            if lo >= 0 && hi >= lo { result[c] = lo..<hi }
        }
        return result
    }

    /// Keeps the slot rows of every thread up to date at each byte (for long inputs; tests use
    /// it on short ones too).
    func forwardCopy(_ input: UnsafeBufferPointer<UInt8>, into out: UnsafeMutablePointer<Int>) -> Bool {
        let k = slotCount
        let rowsCapacity = max(1, maxThreads) * max(1, k)
        return withUnsafeTemporaryAllocation(of: Int32.self, capacity: 2 * rowsCapacity) { buffer -> Bool in
            var cur = buffer.baseAddress.unsafelyUnwrapped
            var nxt = cur + rowsCapacity
            let a = UnsafePointer(actions)
            RegexCaptureDFAStorage.apply(a + initialAction, from: cur, to: nxt, slotCount: k, position: 0)
            swap(&cur, &nxt)
            let rows = UnsafeRawPointer(self.rows)
            let classes = self.classes
            var s = start
            var pos: Int32 = 0
            for byte in input {
                pos &+= 1
                let e = rows + (s &+ Int(classes[Int(byte)]) &<< 3)
                let next = Int(e.load(as: Int32.self))
                if next == 0 { return false }
                let act = Int(e.load(fromByteOffset: 4, as: Int32.self))
                if act != identityAction {
                    RegexCaptureDFAStorage.apply(a + act, from: cur, to: nxt, slotCount: k, position: pos)
                    swap(&cur, &nxt)
                }
                s = next
            }
            let f = Int((rows + s - 8).load(as: Int32.self))
            let row = Int(finals[f])
            if row < 0 { return false }
            let src = cur + row * k
            for j in 0..<k { out[j] = Int(src[j]) }
            var m = RegexCaptureDFAStorage.mask(finals + f + 1)
            while m != 0 {
                out[m.trailingZeroBitCount] = Int(pos)
                m &= m &- 1
            }
            return true
        }
    }

    @inline(__always)
    private static func apply(
        _ action: UnsafePointer<Int32>, from: UnsafeMutablePointer<Int32>,
        to: UnsafeMutablePointer<Int32>, slotCount k: Int, position: Int32
    ) {
        let n = Int(action[0])
        var dst = to
        for j in 0..<n {
            let entry = action + 1 + 3 * j
            let src = Int(entry[0])
            if src >= 0 {
                let row = from + (src / 3) * k
                for x in 0..<k { dst[x] = row[x] }
            } else {
                for x in 0..<k { dst[x] = -1 }
            }
            var m = mask(entry + 1)
            while m != 0 {
                dst[m.trailingZeroBitCount] = position
                m &= m &- 1
            }
            dst += k
        }
    }
}

/// Builds a `RegexCaptureDFA` from a program.
struct RegexCaptureDFABuilder {
    private let insts: [RegexInstruction]
    private let sparse: [RegexSparseEntry]
    private let slotCount: Int
    private var mark: [UInt32]
    private var generation: UInt32 = 0
    /// Memo: ordered epsilon closure (not at start, not at end) of each instruction.
    private var closures: [[(pc: Int32, mask: UInt64)]?]

    private init(_ program: RegexProgram) {
        insts = program.instructions
        sparse = program.sparse
        slotCount = program.slotCount
        mark = [UInt32](repeating: 0, count: program.instructions.count)
        closures = Array(repeating: nil, count: program.instructions.count)
    }

    /// nil when the program has more than 64 slots or needs more than `maxStates` states.
    static func build(_ program: RegexProgram, maxStates: Int) -> RegexCaptureDFA? {
        guard program.slotCount <= 64 else { return nil }
        var b = RegexCaptureDFABuilder(program)
        return b.run(start: program.start, maxStates: maxStates)
    }

    private mutating func nextGeneration() {
        generation &+= 1
        if generation == 0 {
            for k in mark.indices { mark[k] = 0 }
            generation = 1
        }
    }

    /// Threads reachable from `pc` by epsilon moves, in priority order, with the slots set on
    /// the way. `assertEnd` threads are kept pending; `atEnd` follows them instead.
    private mutating func closure(from pc0: Int32, atStart: Bool, atEnd: Bool) -> [(pc: Int32, mask: UInt64)] {
        nextGeneration()
        var out: [(pc: Int32, mask: UInt64)] = []
        var stack: [(pc: Int32, mask: UInt64)] = [(pc0, 0)]
        while let (pc, mask) = stack.popLast() {
            if mark[Int(pc)] == generation { continue }
            mark[Int(pc)] = generation
            let inst = insts[Int(pc)]
            switch inst.op {
            case .byteRange, .sparse, .match:
                out.append((pc, mask))
            case .assertEnd:
                if atEnd { stack.append((inst.a, mask)) } else { out.append((pc, mask)) }
            case .split:
                stack.append((inst.b, mask))
                stack.append((inst.a, mask))
            case .save:
                stack.append((inst.a, mask | (1 << UInt64(inst.b))))
            case .assertStart:
                if atStart { stack.append((inst.a, mask)) }
            case .fail:
                break
            }
        }
        return out
    }

    private mutating func memoClosure(_ pc: Int32) -> [(pc: Int32, mask: UInt64)] {
        if let c = closures[Int(pc)] { return c }
        let c = closure(from: pc, atStart: false, atEnd: false)
        closures[Int(pc)] = c
        return c
    }

    private static func encode(_ mask: UInt64) -> [Int32] {
        [
            Int32(bitPattern: UInt32(truncatingIfNeeded: mask)),
            Int32(bitPattern: UInt32(truncatingIfNeeded: mask >> 32)),
        ]
    }

    /// First thread of `threads` that accepts at the end of the input, with the slots it sets
    /// there: encoded as row, m, slots (row -1 when none).
    private mutating func finalEntry(_ threads: [Int32], atStart: Bool) -> [Int32] {
        for (row, pc) in threads.enumerated() {
            let inst = insts[Int(pc)]
            if inst.op == .match { return [Int32(row), 0, 0] }
            if inst.op == .assertEnd {
                for t in closure(from: inst.a, atStart: atStart, atEnd: true) where insts[Int(t.pc)].op == .match {
                    return [Int32(row)] + RegexCaptureDFABuilder.encode(t.mask)
                }
            }
        }
        return [-1, 0, 0]
    }

    private mutating func run(start: Int32, maxStates: Int) -> RegexCaptureDFA? {
        let (classTable, reps) = RegexDFABuilder.byteClasses(insts, sparse)
        let classCount = reps.count
        // Each state: one header entry (its `finals` index), then 2 entries per class.
        let rowSize = 1 + 2 * classCount
        var table = classTable
        var actions: [Int32] = []
        var actionIDs = RegexStateInterner()
        var actionOffsets: [Int32] = []
        var finals: [Int32] = []
        var states = RegexStateInterner()
        var maxThreads = 1

        func addAction(_ encoded: [Int32]) -> Int32 {
            let (index, inserted) = actionIDs.intern(encoded)
            if inserted {
                actionOffsets.append(Int32(actions.count))
                actions.append(contentsOf: encoded)
            }
            return actionOffsets[index]
        }

        // Start state: closure at position 0.
        let initial = closure(from: start, atStart: true, atEnd: false)
        var initialEncoded: [Int32] = [Int32(initial.count)]
        for t in initial {
            initialEncoded += [-1] + RegexCaptureDFABuilder.encode(t.mask)
        }
        let initialAction = addAction(initialEncoded)
        _ = states.appendUnfindable(initial.map(\.pc))  // never shared: only it has seen ^ pass
        table.append(contentsOf: repeatElement(RegexCaptureDFA.dead, count: rowSize))
        maxThreads = max(maxThreads, initial.count)

        var seen = [UInt32](repeating: 0, count: insts.count)
        var seenGeneration: UInt32 = 0
        var newPCs: [Int32] = []
        var encoded: [Int32] = []
        var contributions: [(row: Int32, target: Int32)] = []
        let classOf = Array(classTable)
        var edges: [(lo: Int32, hi: Int32, row: Int32, target: Int32)] = []
        var bounds: [Int32] = []
        var resolved: [(contributions: [(row: Int32, target: Int32)], entry: (Int32, Int32))] = []
        var k = 0
        while k < states.count {
            let threads = Array(states.list(k))
            let rowBase = 256 + k * rowSize
            let f = Int32(finals.count)
            finals.append(contentsOf: finalEntry(threads, atStart: k == 0))
            table[rowBase] = f
            resolved.removeAll(keepingCapacity: true)
            RegexDFABuilder.classEdges(threads, insts, sparse, classOf, classCount, edges: &edges, bounds: &bounds)
            for j in 0..<(bounds.count - 1) {
                let c0 = bounds[j]
                contributions.removeAll(keepingCapacity: true)
                for edge in edges where edge.lo <= c0 && c0 <= edge.hi { contributions.append((edge.row, edge.target)) }
                let entry: (Int32, Int32)
                if contributions.isEmpty {
                    continue  // row is pre-filled with the dead state
                } else if let hit = resolved.firstIndex(where: {
                    $0.contributions.elementsEqual(contributions, by: { $0 == $1 })
                }) {
                    entry = resolved[hit].entry
                } else {
                    seenGeneration &+= 1
                    newPCs.removeAll(keepingCapacity: true)
                    encoded.removeAll(keepingCapacity: true)
                    encoded.append(0)
                    var identity = true
                    for (row, target) in contributions {
                        for t in memoClosure(target) where seen[Int(t.pc)] != seenGeneration {
                            seen[Int(t.pc)] = seenGeneration
                            if row != Int32(newPCs.count) || t.mask != 0 { identity = false }
                            newPCs.append(t.pc)
                            encoded.append(row)
                            encoded.append(Int32(bitPattern: UInt32(truncatingIfNeeded: t.mask)))
                            encoded.append(Int32(bitPattern: UInt32(truncatingIfNeeded: t.mask >> 32)))
                        }
                    }
                    encoded[0] = Int32(newPCs.count)
                    if newPCs.count != threads.count { identity = false }
                    let (index, inserted) = states.intern(newPCs)
                    let id = Int32(256 + index * rowSize + 1)
                    if inserted {
                        if states.count > maxStates { return nil }
                        maxThreads = max(maxThreads, newPCs.count)
                        table.append(contentsOf: repeatElement(RegexCaptureDFA.dead, count: rowSize))
                    }
                    entry = (id, identity ? -1 : addAction(encoded))
                    resolved.append((contributions, entry))
                }
                for c in Int(c0)..<Int(bounds[j + 1]) {
                    table[rowBase + 1 + 2 * c] = entry.0
                    table[rowBase + 2 + 2 * c] = entry.1
                }
            }
            k += 1
        }
        return RegexCaptureDFA(
            table: table, start: Int32(256 + 1), initialAction: initialAction,
            actions: actions, finals: finals, maxThreads: maxThreads,
            slotCount: slotCount, stateCount: states.count, classCount: classCount)
    }
}
