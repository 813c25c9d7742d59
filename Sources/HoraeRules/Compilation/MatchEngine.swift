/// What `CompiledRuleSet` matches with: the attribute slots, the `DiscriminationTree` and the
/// verification tables (`MatchProgram`), behind one reference.
final class MatchEngine: Sendable {
    let slots: AttributeSlots
    let program: MatchProgram
    let tree: DiscriminationTree
    let needsData: Bool
    /// `StringBits.isSupported`, read once.
    private let readsStringWords = StringBits.isSupported

    private let scratch: Scratch

    init(slots: AttributeSlots, program: MatchProgram, tree: DiscriminationTree, needsData: Bool) {
        self.slots = slots
        self.program = program
        self.tree = tree
        self.needsData = needsData
        scratch = Scratch(slots: slots.count, maxCaptures: program.maxCaptures, maxSlots: program.maxSlots)
    }

    func match(_ message: PubSubMessage) -> [RuleMatch] {
        if needsData { return match(MessageFields(message)) }
        return withUnsafePointer(to: message) { match($0, fields: nil) }
    }

    /// `match(message.pointee)`, for callers that match messages stored in an array (from an
    /// element, the call above would copy the whole message first).
    func match(_ message: UnsafePointer<PubSubMessage>) -> [RuleMatch] {
        if needsData { return match(MessageFields(message.pointee)) }
        return match(message, fields: nil)
    }

    func match(_ fields: MessageFields) -> [RuleMatch] {
        let message = fields.message
        return withUnsafePointer(to: message) { match($0, fields: needsData ? fields : nil) }
    }

    /// Where one message is matched: the slot values, 16 bytes per slot for small strings, room
    /// for copies of other values (which spill to the heap; they are rare), the candidates (more
    /// take a heap allocation) and the capture binder's storage, in one temporary allocation at
    /// these byte offsets, small enough for the stack (up to 1 KiB needs no check).
    private struct Scratch {
        let values: Int, words: Int, arena: Int, candidates: Int, captureIDs: Int, captureValues: Int, captureSlots: Int
        let bytes: Int
        static let arenaBytes = 64
        static let candidates = 16
        /// What most rule sets need (up to about a dozen attribute names and captures).
        static let usualBytes = 1024

        init(slots n: Int, maxCaptures: Int, maxSlots: Int) {
            func round(_ x: Int) -> Int { (x + 15) & ~15 }
            values = 0
            words = round(16 * n)
            arena = words + 16 * n
            candidates = round(arena + Scratch.arenaBytes)
            captureIDs = candidates + MemoryLayout<DiscriminationTree.Leaf>.stride * Scratch.candidates
            captureValues = round(captureIDs + 4 * max(1, maxCaptures))
            captureSlots = captureValues + MemoryLayout<ByteSlice>.stride * max(1, maxCaptures)
            bytes = round(captureSlots + 8 * max(1, maxSlots))
        }
    }

    /// Matches one message, read in place (a copy of its dictionary would cost a retain and a
    /// release, atomic operations on a cache line of the message).
    private func match(_ message: UnsafePointer<PubSubMessage>, fields: MessageFields?) -> [RuleMatch] {
        let subscription = program.subscriptionID(message.pointee.subscription)
        let attributes = message.pointer(to: \.attributes).unsafelyUnwrapped
        // A constant size keeps the allocation a plain stack adjustment, and spares the
        // closure's captures a retain each (a dynamic size costs both).
        if scratch.bytes <= Scratch.usualBytes {
            return withUnsafeTemporaryAllocation(byteCount: Scratch.usualBytes, alignment: 16) { buffer in
                match(attributes, subscription, fields, buffer.baseAddress.unsafelyUnwrapped)
            }
        }
        return withUnsafeTemporaryAllocation(byteCount: scratch.bytes, alignment: 16) { buffer in
            match(attributes, subscription, fields, buffer.baseAddress.unsafelyUnwrapped)
        }
    }

    private func match(
        _ attributes: UnsafePointer<[String: String]>, _ subscription: Int32, _ fields: MessageFields?,
        _ raw: UnsafeMutableRawPointer
    ) -> [RuleMatch] {
        let layout = scratch
        let n = slots.count
        let values = (raw + layout.values).bindMemory(to: ByteSlice.self, capacity: n)
        values.initialize(repeating: .absent, count: n)
        var arena = ValueArena(
            UnsafeMutableBufferPointer(
                start: (raw + layout.arena).bindMemory(to: UInt8.self, capacity: Scratch.arenaBytes),
                count: Scratch.arenaBytes))
        defer { arena.release() }
        readAttributes(attributes, values, raw + layout.words, &arena)
        return matches(in: MessageView(values: values, subscription: subscription, fields: fields), scratch: raw)
    }

    /// Fills `values` (one per slot) from the message's attributes.
    @inline(never)
    private func readAttributes(
        _ dictionary: UnsafePointer<[String: String]>, _ values: UnsafeMutablePointer<ByteSlice>,
        _ words: UnsafeMutableRawPointer, _ arena: inout ValueArena
    ) {
        let n = slots.count
        // Walking the message's attributes and finding each name costs far less than hashing a
        // String per slot (SipHash), unless the message has many more attributes than the rules
        // mention. Values are read only for the attributes that have a slot. The dictionary is
        // read through `dictionary.pointee` throughout: a local copy would cost a retain.
        if dictionary.pointee.count <= 4 * n {
            var i = dictionary.pointee.startIndex
            let end = dictionary.pointee.endIndex
            while i != end {
                var slot: Int32
                if readsStringWords {
                    slot =
                        slots.slot(ofKeyBits: StringBits(dictionary.pointee.keys[i]))
                        ?? slots.slot(of: dictionary.pointee.keys[i])
                } else {
                    let key = dictionary.pointee.keys[i]
                    slot = key.utf8.withContiguousStorageIfAvailable { slots.slot(ofBytes: $0) } ?? slots.slot(of: key)
                }
                if slot >= 0 { values[Int(slot)] = read(dictionary.pointee.values[i], slot: Int(slot), words, &arena) }
                dictionary.pointee.formIndex(after: &i)
            }
        } else {
            for s in 0..<n {
                if let i = dictionary.pointee.index(forKey: slots.names[s]) {
                    values[s] = read(dictionary.pointee.values[i], slot: s, words, &arena)
                }
            }
        }
    }

    /// The bytes of `value`, the attribute of `slot`: a small string's words are copied to its
    /// 16 bytes at `words`, a large native string is read in place (the message outlives the
    /// match), anything else is copied into `arena`.
    @inline(__always)
    private func read(_ value: borrowing String, slot: Int, _ words: UnsafeMutableRawPointer, _ arena: inout ValueArena)
        -> ByteSlice
    {
        if readsStringWords {
            let bits = StringBits(value)
            if bits.isSmall {
                let at = words + 16 * slot
                bits.storeSmall(to: at)
                return ByteSlice(base: UnsafePointer(at.assumingMemoryBound(to: UInt8.self)), count: bits.smallCount)
            }
            if let p = bits.largeBytes { return ByteSlice(base: p, count: bits.largeCount) }
        }
        return arena.copy(value)
    }

    /// The matches of one message view (captures as Strings); `raw` holds `scratch.bytes`.
    @inline(never)
    func matches(in message: MessageView, scratch raw: UnsafeMutableRawPointer) -> [RuleMatch] {
        var out: [RuleMatch] = []
        let program = self.program
        let smallStrings = readsStringWords
        forEachMatch(message, raw) { rule, captures in
            out.append(
                RuleMatch(ruleIndex: rule, captures: captures.captureSet(names: program, smallStrings: smallStrings)))
        }
        return out
    }

    /// How many rules match one message view (for summaries: no capture becomes a String).
    func matchCount(in message: MessageView) -> Int {
        if scratch.bytes <= Scratch.usualBytes {
            return withUnsafeTemporaryAllocation(byteCount: Scratch.usualBytes, alignment: 16) { buffer in
                var n = 0
                forEachMatch(message, buffer.baseAddress.unsafelyUnwrapped) { _, _ in n += 1 }
                return n
            }
        }
        return withUnsafeTemporaryAllocation(byteCount: scratch.bytes, alignment: 16) { buffer in
            var n = 0
            forEachMatch(message, buffer.baseAddress.unsafelyUnwrapped) { _, _ in n += 1 }
            return n
        }
    }

    /// Calls `found` with each matching rule, in rule order, and the captures of its first
    /// matching clause; `raw` holds `scratch.bytes`.
    @inline(__always)
    func forEachMatch(_ message: MessageView, _ raw: UnsafeMutableRawPointer, _ found: (Int, CaptureBinder) -> Void) {
        let layout = scratch
        let small = Scratch.candidates
        let base = (raw + layout.candidates).bindMemory(to: DiscriminationTree.Leaf.self, capacity: small)
        let n = tree.candidates(message.values, into: base, capacity: small)
        if n == 0 { return }
        var binder = CaptureBinder(
            ids: (raw + layout.captureIDs).bindMemory(to: Int32.self, capacity: max(1, program.maxCaptures)),
            values: (raw + layout.captureValues).bindMemory(to: ByteSlice.self, capacity: max(1, program.maxCaptures)),
            slots: (raw + layout.captureSlots).bindMemory(to: Int.self, capacity: max(1, program.maxSlots)))
        if n <= small {
            verify(base, n, message, &binder, found)
        } else {
            let big = UnsafeMutablePointer<DiscriminationTree.Leaf>.allocate(capacity: n)
            defer { big.deallocate() }
            _ = tree.candidates(message.values, into: big, capacity: n)
            verify(big, n, message, &binder, found)
        }
    }

    /// Sorts the candidates by clause (so rules come in order and the first matching clause of
    /// a rule wins) and verifies each clause once.
    @inline(__always)
    private func verify(
        _ candidates: UnsafeMutablePointer<DiscriminationTree.Leaf>, _ n: Int, _ message: MessageView,
        _ binder: inout CaptureBinder, _ found: (Int, CaptureBinder) -> Void
    ) {
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
        var matchedRule: Int32 = -1
        var i = 0
        while i < n {
            let clause = candidates[i].clause
            var proven = candidates[i].proven
            i += 1
            // Repeats of a clause (reached through several keys): each path proved its own
            // conditions, so all of them hold.
            while i < n && candidates[i].clause == clause {
                proven |= candidates[i].proven
                i += 1
            }
            let record = candidates[i - 1].record
            let rule = program.rule(ofClauseAt: Int32(bitPattern: record))
            if rule == matchedRule { continue }
            binder.truncate(to: 0)
            if program.verify(Int(record), proven: proven, message, &binder) {
                matchedRule = rule
                found(Int(rule), binder)
            }
        }
    }
}
