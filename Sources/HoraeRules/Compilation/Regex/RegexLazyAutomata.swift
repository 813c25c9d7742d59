import Synchronization

/// A pattern's automata, each built on first use and then kept: double-checked lazy values (one
/// atomic load once built), so `CompiledRegex` stays an immutable, Sendable value while loading
/// rules (`horae validate`) builds no automaton at all, and patterns that never need captures
/// never build the capture automaton.
final class RegexLazyAutomata: @unchecked Sendable {
    private let dfaReady = Atomic<Bool>(false)
    private let captureReady = Atomic<Bool>(false)
    private let lock = Mutex<Void>(())
    /// Written once under `lock` before the matching flag is set (release); read only after the
    /// flag is seen set (acquire).
    private var dfaValue: RegexDFAStorage?
    private var captureValue: RegexCaptureDFA?
    let program: RegexProgram
    private let maxStates: Int
    private let hasCaptures: Bool

    init(program: RegexProgram, maxStates: Int, hasCaptures: Bool) {
        self.program = program
        self.maxStates = maxStates
        self.hasCaptures = hasCaptures
    }

    /// The matching table, or nil when the pattern needs more states than the cap.
    @inline(__always)
    var dfa: RegexDFAStorage? {
        if dfaReady.load(ordering: .acquiring) { return dfaValue }
        return buildDFA()
    }

    @inline(never)
    private func buildDFA() -> RegexDFAStorage? {
        lock.withLock { _ -> RegexDFAStorage? in
            if dfaReady.load(ordering: .acquiring) { return dfaValue }
            let built = RegexDFABuilder.build(program, maxStates: maxStates, forSet: false)?.storage
            dfaValue = built
            dfaReady.store(true, ordering: .releasing)
            return built
        }
    }

    /// The capture automaton, or nil without captures or when the pattern needs more states
    /// than the cap (or > 64 slots).
    @inline(__always)
    var captureAutomaton: RegexCaptureDFA? {
        if captureReady.load(ordering: .acquiring) { return captureValue }
        return buildCaptureAutomaton()
    }

    @inline(never)
    private func buildCaptureAutomaton() -> RegexCaptureDFA? {
        lock.withLock { _ -> RegexCaptureDFA? in
            if captureReady.load(ordering: .acquiring) { return captureValue }
            let built = hasCaptures ? RegexCaptureDFABuilder.build(program, maxStates: maxStates) : nil
            captureValue = built
            captureReady.store(true, ordering: .releasing)
            return built
        }
    }
}
