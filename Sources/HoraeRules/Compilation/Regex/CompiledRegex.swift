/// One compiled pattern. It always matches the WHOLE input (implicitly anchored at both ends),
/// in time linear in the input length whatever the pattern; nothing ever backtracks.
///
/// Pipeline: `RegexNode` → byte-level Thompson NFA (`RegexCompiler`, scalar classes compiled to
/// UTF-8 byte-range tries) → eager DFA over byte classes for `matches` (`RegexDFABuilder`,
/// capped at `maxDFAStates`; beyond the cap the NFA is simulated). Captures use a deterministic
/// table form of the Pike VM (`RegexCaptureDFA`, built at the first `captures` call, same cap),
/// or the Pike VM itself (`RegexPikeVM`) when that table would be too large.
public struct CompiledRegex: Sendable {
    /// Most DFA states built eagerly; beyond that `matches` simulates the NFA instead.
    public static let maxDFAStates = 2_000

    /// Capture slot `i` ↔ `captureNames[i]`.
    public private(set) var captureNames: [String]
    let program: RegexProgram
    let dfa: RegexDFA?
    /// `dfa`'s table, kept apart so that matching touches only a class reference.
    private let dfaStorage: RegexDFAStorage?
    /// Deterministic Pike VM for captures, built at the first `captures` call (nil without
    /// captures).
    let lazyCaptureDFA: RegexLazyCaptureAutomaton?

    /// Compiles `node`; throws "pattern is too large" when its NFA exceeds the size limit.
    public init(_ node: RegexNode) throws(RegexSyntaxError) {
        try self.init(node, maxDFAStates: CompiledRegex.maxDFAStates)
    }

    init(_ node: RegexNode, maxDFAStates: Int) throws(RegexSyntaxError) {
        let program = try RegexCompiler.compile(node)
        self.init(program: program, captureNames: node.captureNames, maxDFAStates: maxDFAStates)
    }

    init(program: RegexProgram, captureNames: [String], maxDFAStates: Int = CompiledRegex.maxDFAStates) {
        self.program = program
        self.captureNames = captureNames
        self.dfa = RegexDFABuilder.build(program, maxStates: maxDFAStates, forSet: false)
        self.dfaStorage = dfa?.storage
        self.lazyCaptureDFA = captureNames.isEmpty ? nil : RegexLazyCaptureAutomaton(program: program, maxStates: maxDFAStates)
    }

    /// Whether a DFA was built (false when the pattern needed more states than the cap).
    public var usesDFA: Bool { dfa != nil }
    /// Whether captures use the deterministic Pike VM table (false: plain Pike VM).
    public var usesCaptureDFA: Bool { lazyCaptureDFA?.automaton != nil }

    /// Testing aid: captures by the capture automaton's forward slot copying (nil when the
    /// automaton is not used or there is no match).
    func captureRangesCopyingForward(_ utf8: UnsafeBufferPointer<UInt8>) -> [Range<Int>?]? {
        lazyCaptureDFA?.automaton?.storage.captureRangesCopyingForward(utf8)
    }

    /// Whether the whole input matches.
    @inline(__always)
    public func matches(_ utf8: UnsafeBufferPointer<UInt8>) -> Bool {
        if let dfaStorage { return dfaStorage.acceptance(utf8) != 0 }
        return RegexPikeVM.isMatch(program, utf8)
    }

    public func matches(_ s: String) -> Bool {
        CompiledRegex.withUTF8(s) { matches($0) }
    }

    /// Captures of the highest-priority match (greedy prefers more, lazy fewer, alternation the
    /// left branch) of the whole input: one byte range per capture name, nil when that capture
    /// did not participate. nil when the input does not match.
    public func captures(_ utf8: UnsafeBufferPointer<UInt8>) -> [Range<Int>?]? {
        if captureNames.isEmpty { return matches(utf8) ? [] : nil }
        if let captureDFA = lazyCaptureDFA?.automaton {
            return captureDFA.captureRanges(utf8)
        }
        if let dfaStorage, dfaStorage.acceptance(utf8) == 0 { return nil }
        guard let slots = RegexPikeVM.captureSlots(program, utf8) else { return nil }
        return slots.withUnsafeBufferPointer { RegexCaptureDFAStorage.ranges($0.baseAddress.unsafelyUnwrapped, $0.count) }
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
