/// One compiled pattern. It always matches the WHOLE input (implicitly anchored at both ends),
/// in time linear in the input length whatever the pattern; nothing ever backtracks.
///
/// Pipeline: `RegexNode` → byte-level Thompson NFA (`RegexCompiler`, scalar classes compiled to
/// UTF-8 byte-range tries) → DFA over byte classes for `matches` (`RegexDFABuilder`, capped at
/// `maxDFAStates`; beyond the cap the NFA is simulated). Captures use a deterministic table form
/// of the Pike VM (`RegexCaptureDFA`, same cap), or the Pike VM itself (`RegexPikeVM`) when that
/// table would be too large. The NFA is built eagerly only when it could fail ("pattern is too
/// large", and only when a cheap upper bound of its size does not rule that out); the NFA and
/// both tables are built at their first use (`RegexLazyAutomata`), so loading rules costs no
/// subset construction.
public final class CompiledRegex: Sendable {
    /// Most DFA states built; beyond that `matches` simulates the NFA instead.
    public static let maxDFAStates = 2_000

    /// Capture slot pair `i` ↔ `captureNames[i]`.
    public let captureNames: [String]
    private let automata: RegexLazyAutomata

    var program: RegexProgram { automata.program }
    /// Number of capture slots (two per capture name: start and end).
    var slotCount: Int { 2 * captureNames.count }

    /// Compiles `node`; throws "pattern is too large" when its NFA exceeds the size limit.
    public convenience init(_ node: RegexNode) throws(RegexSyntaxError) {
        try self.init(node, maxDFAStates: CompiledRegex.maxDFAStates)
    }

    init(_ node: RegexNode, maxDFAStates: Int) throws(RegexSyntaxError) {
        captureNames = node.captureNames
        if RegexCompiler.sizeBound(node) < RegexCompiler.defaultLimit {
            automata = RegexLazyAutomata(node: node, maxStates: maxDFAStates, hasCaptures: !captureNames.isEmpty)
        } else {
            // Perhaps too large: compile now, to report it.
            let program = try RegexCompiler.compile(node)
            automata = RegexLazyAutomata(program: program, maxStates: maxDFAStates, hasCaptures: !captureNames.isEmpty)
        }
    }

    init(program: RegexProgram, captureNames: [String], maxDFAStates: Int = CompiledRegex.maxDFAStates) {
        self.captureNames = captureNames
        automata = RegexLazyAutomata(program: program, maxStates: maxDFAStates, hasCaptures: !captureNames.isEmpty)
    }

    /// Whether a DFA is used (false when the pattern needs more states than the cap).
    public var usesDFA: Bool { automata.dfa != nil }
    /// Whether captures use the deterministic Pike VM table (false: plain Pike VM).
    public var usesCaptureDFA: Bool { automata.captureAutomaton != nil }

    /// Testing aid: captures by the capture automaton's forward slot copying (nil when the
    /// automaton is not used or there is no match).
    func captureRangesCopyingForward(_ utf8: UnsafeBufferPointer<UInt8>) -> [Range<Int>?]? {
        guard let storage = automata.captureAutomaton?.storage else { return nil }
        return withSlots { slots in
            storage.forwardCopy(utf8, into: slots) ? RegexCaptureDFAStorage.ranges(slots, slotCount) : nil
        }
    }

    /// Whether the whole input matches.
    @inline(__always)
    public func matches(_ utf8: UnsafeBufferPointer<UInt8>) -> Bool {
        if let dfa = automata.dfaStorage { return dfa._withUnsafeGuaranteedRef { $0.acceptance(utf8) } != 0 }
        return RegexPikeVM.isMatch(automata.program, utf8)
    }

    public func matches(_ s: String) -> Bool {
        CompiledRegex.withUTF8(s) { matches($0) }
    }

    /// Matches the whole input and writes the capture slots of the highest-priority match
    /// (greedy prefers more, lazy fewer, alternation the left branch) to `slots[0 ..< slotCount]`:
    /// start and end byte offsets per capture name, -1 for a capture that did not participate.
    /// Returns false (slots undefined) when the input does not match. Allocates nothing when the
    /// capture automaton is used.
    @inline(__always)
    func captureSlots(_ utf8: UnsafeBufferPointer<UInt8>, into slots: UnsafeMutablePointer<Int>) -> Bool {
        if let automaton = automata.captureStorage {
            return automaton._withUnsafeGuaranteedRef { $0.resolve(utf8, into: slots) }
        }
        return pikeCaptureSlots(utf8, into: slots)
    }

    @inline(never)
    private func pikeCaptureSlots(_ utf8: UnsafeBufferPointer<UInt8>, into slots: UnsafeMutablePointer<Int>) -> Bool {
        if let dfa = automata.dfa, dfa.acceptance(utf8) == 0 { return false }
        guard let found = RegexPikeVM.captureSlots(automata.program, utf8) else { return false }
        for (i, v) in found.enumerated() { slots[i] = v }
        return true
    }

    /// Captures of the highest-priority match of the whole input: one byte range per capture
    /// name, nil when that capture did not participate. nil when the input does not match.
    public func captures(_ utf8: UnsafeBufferPointer<UInt8>) -> [Range<Int>?]? {
        if captureNames.isEmpty { return matches(utf8) ? [] : nil }
        return withSlots { slots in
            captureSlots(utf8, into: slots) ? RegexCaptureDFAStorage.ranges(slots, slotCount) : nil
        }
    }

    private func withSlots<R>(_ body: (UnsafeMutablePointer<Int>) -> R) -> R {
        withUnsafeTemporaryAllocation(of: Int.self, capacity: max(1, slotCount)) {
            body($0.baseAddress.unsafelyUnwrapped)
        }
    }

    /// Captures by name; a capture that did not participate is absent. nil when no match.
    public func captures(_ s: String) -> [String: Substring]? {
        guard let ranges = CompiledRegex.withUTF8(s, { captures($0) }) else { return nil }
        var out: [String: Substring] = [:]
        let utf8 = s.utf8
        for (k, range) in ranges.enumerated() {
            guard let range else { continue }
            let lo = utf8.index(utf8.startIndex, offsetBy: range.lowerBound)
            let hi = utf8.index(lo, offsetBy: range.count)
            out[captureNames[k]] = Substring(s.unicodeScalars[lo..<hi])
        }
        return out
    }

    @inline(__always)
    static func withUTF8<R>(_ s: String, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        if let r = s.utf8.withContiguousStorageIfAvailable(body) { return r }
        var copy = s
        return copy.withUTF8(body)
    }
}
