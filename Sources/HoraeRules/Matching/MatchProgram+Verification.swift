/// Verification of candidate clauses: the semantics of `MessageClause.matches` and
/// `FieldMatcher.evaluate` (the reference), on byte values and the records of `code`.
extension MatchProgram {
    /// Whether the clause whose record is at `offset` holds for `message`, binding its captures
    /// into `captures` (left empty when it does not hold). Conditions whose bit is set in
    /// `proven` are known to hold and bind nothing (the index proved them), so they are skipped.
    @inline(never)
    func verify(_ offset: Int, proven: UInt64, _ message: MessageView, _ captures: inout CaptureBinder) -> Bool {
        let base = UnsafeRawPointer(code.base)
        let clause = base + offset
        let n = Int(clause.loadUnaligned(fromByteOffset: 4, as: UInt16.self))
        let subscriptions = Int(clause.loadUnaligned(fromByteOffset: 6, as: Int16.self))
        if subscriptions >= 0 {
            guard message.subscription >= 0 else { return false }
            var found = false
            for i in 0..<subscriptions
            where clause.loadUnaligned(fromByteOffset: 8 + 4 * i, as: Int32.self) == message.subscription {
                found = true
                break
            }
            if !found { return false }
        }
        let conditions = clause + 8 + 4 * max(subscriptions, 0)
        let size = MatchProgram.conditionSize
        // Cheap byte comparisons first: most candidates fail on one of them. They bind nothing,
        // so the full pass below (in written order, for the order of captures) skips them.
        for i in 0..<n where !isProven(proven, i) {
            let kind = conditions.loadUnaligned(fromByteOffset: size * i + 4, as: UInt32.self)
            guard kind & 0xFF00_0000 == MatchProgram.equalityKind else { continue }
            let value = self.value(conditions.loadUnaligned(fromByteOffset: size * i, as: Int32.self), message)
            let length = Int(kind & 0x00FF_FFFF)
            let literal = base + Int(conditions.loadUnaligned(fromByteOffset: size * i + 8, as: UInt32.self))
            guard value.isPresent, value.count == length,
                bytesEqual(literal.assumingMemoryBound(to: UInt8.self), value.base, length)
            else {
                return false
            }
        }
        for i in 0..<n where !isProven(proven, i) {
            let kind = conditions.loadUnaligned(fromByteOffset: size * i + 4, as: UInt32.self)
            switch kind & 0xFF00_0000 {
            case MatchProgram.existsKind:
                let value = self.value(conditions.loadUnaligned(fromByteOffset: size * i, as: Int32.self), message)
                if value.isPresent != (kind & 1 != 0) {
                    captures.truncate(to: 0)
                    return false
                }
            case MatchProgram.operationKind:
                let value = self.value(conditions.loadUnaligned(fromByteOffset: size * i, as: Int32.self), message)
                if !evaluate(
                    base, Int(conditions.loadUnaligned(fromByteOffset: size * i + 8, as: UInt32.self)), value, message,
                    &captures)
                {
                    captures.truncate(to: 0)
                    return false
                }
            default:
                continue
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

    /// `FieldMatcher.evaluate` of the operation at `offset`: on failure the captures are as
    /// they were.
    private func evaluate(
        _ base: UnsafeRawPointer, _ offset: Int, _ value: ByteSlice, _ message: MessageView,
        _ captures: inout CaptureBinder
    ) -> Bool {
        let op = base + offset
        let flag = op.loadUnaligned(fromByteOffset: 1, as: UInt8.self)
        let end = Int(op.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
        let payload = Int(op.loadUnaligned(fromByteOffset: 8, as: UInt32.self))
        switch OpKind(rawValue: op.loadUnaligned(as: UInt8.self)).unsafelyUnwrapped {
        case .pattern:
            guard value.isPresent else { return false }
            return match(base + payload, value, &captures)
        case .exists:
            return value.isPresent == (flag != 0)
        case .numeric:
            guard value.isPresent, let x = DecimalNumber.parse(value.string) else { return false }
            let bound = Double(bitPattern: base.loadUnaligned(fromByteOffset: payload, as: UInt64.self))
            switch MatchProgram.comparisons[Int(flag)] {
            case .lt: return x < bound
            case .le: return x <= bound
            case .gt: return x > bound
            case .ge: return x >= bound
            case .eq: return x == bound
            }
        case .not:
            let mark = captures.count
            let inner = evaluate(base, offset + 12, value, message, &captures)
            captures.truncate(to: mark)
            return !inner
        case .anyOf:
            var child = offset + 12
            while child < end {
                if evaluate(base, child, value, message, &captures) { return true }
                child = Int(base.loadUnaligned(fromByteOffset: child + 4, as: UInt32.self))
            }
            return false
        case .allOf:
            let mark = captures.count
            var child = offset + 12
            while child < end {
                if !evaluate(base, child, value, message, &captures) {
                    captures.truncate(to: mark)
                    return false
                }
                child = Int(base.loadUnaligned(fromByteOffset: child + 4, as: UInt32.self))
            }
            return true
        }
    }

    /// `StringPattern.match` on bytes, for the pattern record at `p`.
    @inline(__always)
    private func match(_ p: UnsafeRawPointer, _ whole: ByteSlice, _ captures: inout CaptureBinder) -> Bool {
        let regexBits = p.loadUnaligned(fromByteOffset: 16, as: UInt64.self)
        guard regexBits != 0 else { return matchesLiteral(p, whole) }
        // The leading literal text, then the gap matcher or the automaton on the rest.
        let skip = Int(p.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
        guard whole.count >= skip, bytesEqual((p + 32).assumingMemoryBound(to: UInt8.self), whole.base, skip) else {
            return false
        }
        let value = ByteSlice(base: whole.base.map { $0 + skip }, count: whole.count - skip)
        let captureCount = Int(p.loadUnaligned(fromByteOffset: 8, as: UInt32.self))
        let gap = Int(p.loadUnaligned(fromByteOffset: 24, as: UInt32.self))
        let slots = captures.slots
        if gap != 0 {
            let program = UnsafeRawPointer(code.base) + gap
            if captureCount == 0 { return SingleGapMatcher.run(program, value.buffer, nil) }
            guard SingleGapMatcher.run(program, value.buffer, slots) else { return false }
        } else {
            let regex = Unmanaged<CompiledRegex>.fromOpaque(
                UnsafeRawPointer(bitPattern: UInt(regexBits)).unsafelyUnwrapped)
            if captureCount == 0 { return regex._withUnsafeGuaranteedRef { $0.matches(value.buffer) } }
            guard regex._withUnsafeGuaranteedRef({ $0.captureSlots(value.buffer, into: slots) }) else { return false }
        }
        let mark = captures.count
        let ids = p + ((32 + skip + 3) & ~3)
        for c in 0..<captureCount {
            let lo = slots[2 * c]
            let hi = slots[2 * c + 1]
            guard lo >= 0 && hi >= lo else { continue }
            if !captures.bind(
                ids.loadUnaligned(fromByteOffset: 4 * c, as: Int32.self),
                ByteSlice(base: value.base.unsafelyUnwrapped + lo, count: hi - lo))
            {
                captures.truncate(to: mark)
                return false
            }
        }
        return true
    }

    /// A plain comparison (`equals`, `hasPrefix`, `hasSuffix`) of the pattern record at `p`.
    @inline(__always)
    private func matchesLiteral(_ p: UnsafeRawPointer, _ value: ByteSlice) -> Bool {
        let n = Int(p.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
        let literal = (p + 32).assumingMemoryBound(to: UInt8.self)
        switch StringPattern.Strategy(rawValue: p.loadUnaligned(as: UInt8.self)).unsafelyUnwrapped {
        case .equals: return value.count == n && bytesEqual(literal, value.base, n)
        case .hasPrefix: return value.count >= n && bytesEqual(literal, value.base, n)
        case .hasSuffix: return value.count >= n && bytesEqual(literal, value.base.map { $0 + (value.count - n) }, n)
        case .automaton: return false
        }
    }
}
