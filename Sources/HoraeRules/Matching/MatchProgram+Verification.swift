/// Verification of candidate clauses: the semantics of `MessageClause.matches` and
/// `FieldMatcher.evaluate` (the reference), on byte values and flat tables.
extension MatchProgram {
    /// Whether clause `index` holds for `message`, binding its captures into `captures` (left
    /// empty when it does not hold). Conditions whose bit is set in `proven` are known to hold
    /// and bind nothing (the index proved them), so they are skipped.
    @inline(__always)
    func verify(_ index: Int, proven: UInt64, _ message: MessageView, _ captures: inout CaptureBinder) -> Bool {
        let clause = clauses.base[index]
        if clause.subscriptionCount >= 0 {
            guard message.subscription >= 0 else { return false }
            var found = false
            let ids = subscriptionIDs.base + Int(clause.subscriptionStart)
            for i in 0..<Int(clause.subscriptionCount) where ids[i] == message.subscription {
                found = true
                break
            }
            if !found { return false }
        }
        let first = Int(clause.conditionStart)
        let n = Int(clause.conditionCount)
        let conditions = self.conditions.base + first
        // Cheap byte comparisons first: most candidates fail on one of them. They bind nothing,
        // so the full pass below (in written order, for the order of captures) skips them.
        for i in 0..<n where conditions[i].isEquality && !isProven(proven, i) {
            let value = self.value(conditions[i].field, message)
            guard value.isPresent, matchesLiteral(patterns.base[Int(ops.base[Int(conditions[i].op)].pattern)], value) else {
                return false
            }
        }
        for i in 0..<n where !conditions[i].isEquality && !isProven(proven, i) {
            if !evaluate(Int(conditions[i].op), self.value(conditions[i].field, message), message, &captures) {
                captures.truncate(to: 0)
                return false
            }
        }
        return true
    }

    @inline(__always)
    private func isProven(_ proven: UInt64, _ i: Int) -> Bool {
        i < 64 && proven & (1 << UInt64(i)) != 0
    }

    @inline(__always)
    private func value(_ field: Int32, _ message: MessageView) -> ByteSlice {
        field >= 0 ? message.values[Int(field)] : message.dataValue(Int(-1 - field), self)
    }

    /// `FieldMatcher.evaluate`: on failure the captures are as they were.
    private func evaluate(_ index: Int, _ value: ByteSlice, _ message: MessageView, _ captures: inout CaptureBinder) -> Bool {
        let op = ops.base[index]
        switch op.kind {
        case .pattern:
            guard value.isPresent else { return false }
            return match(patterns.base[Int(op.pattern)], value, &captures)
        case .exists:
            return value.isPresent == (op.flag != 0)
        case .numeric:
            guard value.isPresent, let x = DecimalNumber.parse(value.string) else { return false }
            switch MatchProgram.comparisons[Int(op.flag)] {
            case .lt: return x < op.bound
            case .le: return x <= op.bound
            case .gt: return x > op.bound
            case .ge: return x >= op.bound
            case .eq: return x == op.bound
            }
        case .not:
            let mark = captures.count
            let inner = evaluate(index + 1, value, message, &captures)
            captures.truncate(to: mark)
            return !inner
        case .anyOf:
            var child = index + 1
            while child < Int(op.end) {
                if evaluate(child, value, message, &captures) { return true }
                child = Int(ops.base[child].end)
            }
            return false
        case .allOf:
            let mark = captures.count
            var child = index + 1
            while child < Int(op.end) {
                if !evaluate(child, value, message, &captures) {
                    captures.truncate(to: mark)
                    return false
                }
                child = Int(ops.base[child].end)
            }
            return true
        }
    }

    /// `StringPattern.match` on bytes.
    @inline(__always)
    private func match(_ p: Pattern, _ whole: ByteSlice, _ captures: inout CaptureBinder) -> Bool {
        guard let regex = p.regex else { return matchesLiteral(p, whole) }
        // The leading literal text, then the automaton on the rest.
        let skip = Int(p.literalCount)
        guard whole.count >= skip, bytesEqual(literals.base + Int(p.literalStart), whole.base, skip) else { return false }
        let value = ByteSlice(base: whole.base.map { $0 + skip }, count: whole.count - skip)
        if p.captureCount == 0 {
            return regex._withUnsafeGuaranteedRef { $0.matches(value.buffer) }
        }
        let slots = captures.slots
        guard regex._withUnsafeGuaranteedRef({ $0.captureSlots(value.buffer, into: slots) }) else { return false }
        let mark = captures.count
        let ids = captureIDs.base + Int(p.captureStart)
        for c in 0..<Int(p.captureCount) {
            let lo = slots[2 * c], hi = slots[2 * c + 1]
            guard lo >= 0 && hi >= lo else { continue }
            if !captures.bind(ids[c], ByteSlice(base: value.base.unsafelyUnwrapped + lo, count: hi - lo)) {
                captures.truncate(to: mark)
                return false
            }
        }
        return true
    }

    @inline(__always)
    private func matchesLiteral(_ p: Pattern, _ value: ByteSlice) -> Bool {
        let n = Int(p.literalCount)
        let literal = literals.base + Int(p.literalStart)
        switch p.strategy {
        case .equals: return value.count == n && bytesEqual(literal, value.base, n)
        case .hasPrefix: return value.count >= n && bytesEqual(literal, value.base, n)
        case .hasSuffix: return value.count >= n && bytesEqual(literal, value.base.map { $0 + (value.count - n) }, n)
        case .automaton: return false
        }
    }
}
