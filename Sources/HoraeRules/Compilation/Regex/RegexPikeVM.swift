/// Pike VM: simulates the NFA of a `RegexProgram` over the input once, keeping at most one
/// thread per instruction, in priority order, so it runs in O(input × program) time.
/// All scratch memory is taken once per call (on the stack when small).
enum RegexPikeVM {
    /// Capture slots (start/end byte offsets, -1 when unset) of the highest-priority match of
    /// the whole input, or nil when there is none.
    static func captureSlots(_ program: RegexProgram, _ input: UnsafeBufferPointer<UInt8>) -> [Int]? {
        run(program, input, withSlots: true)
    }

    /// Whether the program matches the whole input (NFA simulation without captures).
    static func isMatch(_ program: RegexProgram, _ input: UnsafeBufferPointer<UInt8>) -> Bool {
        run(program, input, withSlots: false) != nil
    }

    private static func run(_ program: RegexProgram, _ input: UnsafeBufferPointer<UInt8>, withSlots: Bool) -> [Int]? {
        let n = program.instructions.count
        let k = withSlots ? program.slotCount : 0
        let total = 4 * n + 2 * n * k + 2 * (n + 2) + k
        return withUnsafeTemporaryAllocation(of: Int32.self, capacity: total) { buffer -> [Int]? in
            let base = buffer.baseAddress.unsafelyUnwrapped
            // Sparse sets need no initialization for correctness of the dense part, but their
            // sparse arrays are read before being written: zero them.
            base.initialize(repeating: 0, count: 4 * n)
            (base + 4 * n).initialize(repeating: -1, count: total - 4 * n)
            return program.instructions.withUnsafeBufferPointer { insts in
                program.sparse.withUnsafeBufferPointer { sparse in
                    var vm = Machine(
                        insts: insts.baseAddress.unsafelyUnwrapped,
                        sparse: sparse.baseAddress
                            ?? UnsafeRawPointer(base).assumingMemoryBound(to: RegexSparseEntry.self),
                        slotCount: k,
                        stack: base + 4 * n + 2 * n * k,
                        current: base + 4 * n + 2 * n * k + 2 * (n + 2),
                        length: input.count)
                    var clist = ThreadList(sparse: base, dense: base + n, slots: base + 4 * n)
                    var nlist = ThreadList(sparse: base + 2 * n, dense: base + 3 * n, slots: base + 4 * n + n * k)
                    return vm.execute(program.start, input, &clist, &nlist)
                }
            }
        }
    }

    /// A sparse set of instruction indices in insertion (priority) order, with capture slots
    /// per instruction.
    struct ThreadList {
        let sparse: UnsafeMutablePointer<Int32>
        let dense: UnsafeMutablePointer<Int32>
        let slots: UnsafeMutablePointer<Int32>
        var count = 0

        init(
            sparse: UnsafeMutablePointer<Int32>, dense: UnsafeMutablePointer<Int32>, slots: UnsafeMutablePointer<Int32>
        ) {
            self.sparse = sparse
            self.dense = dense
            self.slots = slots
        }

        @inline(__always)
        func contains(_ pc: Int32) -> Bool {
            let i = Int(sparse[Int(pc)])
            return i < count && dense[i] == pc
        }

        @inline(__always)
        mutating func insert(_ pc: Int32) {
            sparse[Int(pc)] = Int32(count)
            dense[count] = pc
            count += 1
        }
    }

    struct Machine {
        let insts: UnsafePointer<RegexInstruction>
        let sparse: UnsafePointer<RegexSparseEntry>
        let slotCount: Int
        /// Frames: (pc >= 0, unused) to explore, or (-1 - slot, value) to restore a slot.
        let stack: UnsafeMutablePointer<Int32>
        /// Slots of the thread being extended.
        let current: UnsafeMutablePointer<Int32>
        let length: Int

        /// Adds the threads reachable from `pc0` by epsilon moves at position `pos` to `list`,
        /// in priority order, each with a copy of the capture slots along its path.
        @inline(__always)
        func add(_ list: inout ThreadList, _ pc0: Int32, _ pos: Int) {
            var top = 0
            stack[0] = pc0
            top = 2
            while top > 0 {
                top -= 2
                let tag = stack[top]
                if tag < 0 {
                    current[Int(-1 - tag)] = stack[top + 1]
                    continue
                }
                var pc = tag
                while true {
                    if list.contains(pc) { break }
                    list.insert(pc)
                    let inst = insts[Int(pc)]
                    switch inst.op {
                    case .byteRange, .sparse, .match:
                        if slotCount > 0 {
                            let dst = list.slots + Int(pc) * slotCount
                            for s in 0..<slotCount { dst[s] = current[s] }
                        }
                    case .split:
                        stack[top] = inst.b
                        top += 2
                        pc = inst.a
                        continue
                    case .save:
                        if Int(inst.b) < slotCount {
                            stack[top] = -1 - inst.b
                            stack[top + 1] = current[Int(inst.b)]
                            top += 2
                            current[Int(inst.b)] = Int32(truncatingIfNeeded: pos)
                        }
                        pc = inst.a
                        continue
                    case .assertStart:
                        if pos == 0 {
                            pc = inst.a
                            continue
                        }
                    case .assertEnd:
                        if pos == length {
                            pc = inst.a
                            continue
                        }
                    case .fail:
                        break
                    }
                    break
                }
            }
        }

        mutating func execute(
            _ start: Int32, _ input: UnsafeBufferPointer<UInt8>,
            _ clist: inout ThreadList, _ nlist: inout ThreadList
        ) -> [Int]? {
            add(&clist, start, 0)
            var pos = 0
            for byte in input {
                if clist.count == 0 { return nil }
                nlist.count = 0
                for j in 0..<clist.count {
                    let pc = clist.dense[j]
                    let inst = insts[Int(pc)]
                    switch inst.op {
                    case .byteRange:
                        if inst.lo <= byte && byte <= inst.hi {
                            loadSlots(clist, pc)
                            add(&nlist, inst.a, pos + 1)
                        }
                    case .sparse:
                        let lo = Int(inst.a)
                        for e in lo..<(lo + Int(inst.b)) {
                            let entry = sparse[e]
                            if entry.lo <= byte && byte <= entry.hi {
                                loadSlots(clist, pc)
                                add(&nlist, entry.next, pos + 1)
                            }
                        }
                    default:
                        break
                    }
                }
                swap(&clist, &nlist)
                pos += 1
            }
            for j in 0..<clist.count {
                let pc = clist.dense[j]
                if insts[Int(pc)].op == .match {
                    var out = [Int](repeating: -1, count: slotCount)
                    let src = clist.slots + Int(pc) * slotCount
                    for s in 0..<slotCount { out[s] = Int(src[s]) }
                    return out
                }
            }
            return nil
        }

        @inline(__always)
        func loadSlots(_ list: ThreadList, _ pc: Int32) {
            if slotCount > 0 {
                let src = list.slots + Int(pc) * slotCount
                for s in 0..<slotCount { current[s] = src[s] }
            }
        }
    }
}
