/// What `CompiledRuleSet` matches with: the attribute slots, the `DiscriminationTree` and the
/// verification tables (`MatchProgram`), behind one reference.
final class MatchEngine: Sendable {
    let slots: AttributeSlots
    let program: MatchProgram
    let tree: DiscriminationTree
    let needsData: Bool
    /// `StringBits.isSupported`, read once.
    private let readsStringWords = StringBits.isSupported

    init(slots: AttributeSlots, program: MatchProgram, tree: DiscriminationTree, needsData: Bool) {
        self.slots = slots
        self.program = program
        self.tree = tree
        self.needsData = needsData
    }

    func match(_ message: PubSubMessage) -> [RuleMatch] {
        if needsData { return match(MessageFields(message)) }
        return withView(message, fields: nil) { matches(in: $0) }
    }

    func match(_ fields: MessageFields) -> [RuleMatch] {
        withView(fields.message, fields: needsData ? fields : nil) { matches(in: $0) }
    }

    /// Reads the message's value of every slot as bytes: in place for large native strings,
    /// copied into a temporary buffer otherwise.
    private func withView<R>(_ message: PubSubMessage, fields: MessageFields?, _ body: (MessageView) -> R) -> R {
        let n = slots.count
        let subscription = program.subscriptionID(message.subscription)
        return withUnsafeTemporaryAllocation(of: ByteSlice.self, capacity: max(1, n)) { v in
            let values = v.baseAddress.unsafelyUnwrapped
            values.initialize(repeating: .absent, count: n)
            // 16 bytes per slot for small strings, then room for copies of other values.
            return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 16 * n + 512) { buffer in
                let words = UnsafeMutableRawPointer(buffer.baseAddress.unsafelyUnwrapped)
                var arena = ValueArena(UnsafeMutableBufferPointer(rebasing: buffer[(16 * n)...]))
                defer { arena.release() }
                readAttributes(message.attributes, values, words, &arena)
                return body(MessageView(values: values, subscription: subscription, fields: fields))
            }
        }
    }

    /// Fills `values` (one per slot) from the message's attributes.
    @inline(__always)
    private func readAttributes(_ attributes: [String: String], _ values: UnsafeMutablePointer<ByteSlice>,
                                _ words: UnsafeMutableRawPointer, _ arena: inout ValueArena) {
        let n = slots.count
        // Walking the message's attributes and finding each name costs far less than hashing a
        // String per slot (SipHash), unless the message has many more attributes than the rules
        // mention. Values are read only for the attributes that have a slot.
        if attributes.count <= 4 * n {
            var i = attributes.startIndex
            let end = attributes.endIndex
            while i != end {
                let slot: Int32
                if readsStringWords {
                    slot = slots.slot(ofKey: attributes.keys[i])
                } else {
                    let key = attributes.keys[i]
                    slot = key.utf8.withContiguousStorageIfAvailable { slots.slot(ofBytes: $0) } ?? slots.slot(of: key)
                }
                if slot >= 0 { values[Int(slot)] = read(attributes.values[i], slot: Int(slot), words, &arena) }
                attributes.formIndex(after: &i)
            }
        } else {
            for s in 0..<n {
                if let i = attributes.index(forKey: slots.names[s]) { values[s] = read(attributes.values[i], slot: s, words, &arena) }
            }
        }
    }

    /// The bytes of `value`, the attribute of `slot`: a small string's words are copied to its
    /// 16 bytes at `words`, a large native string is read in place (the message outlives the
    /// match), anything else is copied into `arena`.
    @inline(__always)
    private func read(_ value: borrowing String, slot: Int, _ words: UnsafeMutableRawPointer, _ arena: inout ValueArena) -> ByteSlice {
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

    /// The matches of one message view (captures as Strings).
    func matches(in message: MessageView) -> [RuleMatch] {
        var out: [RuleMatch] = []
        let names = program.captureNames
        let smallStrings = readsStringWords
        forEachMatch(message) { rule, captures in
            out.append(RuleMatch(ruleIndex: rule, captures: captures.captureSet(names: names, smallStrings: smallStrings)))
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
}
