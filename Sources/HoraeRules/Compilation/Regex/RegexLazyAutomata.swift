import Synchronization

/// A pattern's NFA and automata, each built on first use and then kept: double-checked lazy
/// values (one atomic load once built), so `CompiledRegex` stays an immutable, Sendable value
/// while loading rules (`horae validate`) compiles no NFA and builds no automaton for patterns
/// whose size bound shows they cannot be too large, and patterns that never need captures never
/// build the capture automaton.
final class RegexLazyAutomata: @unchecked Sendable {
    private let programReady = Atomic<Bool>(false)
    private let dfaReady = Atomic<Bool>(false)
    private let captureReady = Atomic<Bool>(false)
    private let lock = Mutex<Void>(())
    /// Each written once under `lock` before its flag is set (release); read only after the
    /// flag is seen set (acquire).
    private var programValue: RegexProgram?
    private var dfaValue: RegexDFAStorage?
    private var captureValue: RegexCaptureDFA?
    /// What the program is compiled from (nil once compiled).
    private var node: RegexNode?
    private let maxStates: Int
    private let hasCaptures: Bool

    init(program: RegexProgram, maxStates: Int, hasCaptures: Bool) {
        programValue = program
        programReady.store(true, ordering: .relaxed)
        self.maxStates = maxStates
        self.hasCaptures = hasCaptures
    }

    /// Compiles `node` at first use; the caller has checked that it compiles
    /// (`RegexCompiler.sizeBound`).
    init(node: RegexNode, maxStates: Int, hasCaptures: Bool) {
        self.node = node
        self.maxStates = maxStates
        self.hasCaptures = hasCaptures
    }

    var program: RegexProgram {
        if programReady.load(ordering: .acquiring) { return programValue.unsafelyUnwrapped }
        return lock.withLock { _ in compiledProgram() }
    }

    /// Under `lock`.
    private func compiledProgram() -> RegexProgram {
        if programReady.load(ordering: .acquiring) { return programValue.unsafelyUnwrapped }
        // The size bound was checked at init, so this cannot throw.
        let compiled = (try? RegexCompiler.compile(node.unsafelyUnwrapped))
            ?? RegexProgram(instructions: [RegexInstruction(op: .fail)], sparse: [], start: 0, slotCount: 0)
        programValue = compiled
        node = nil
        programReady.store(true, ordering: .releasing)
        return compiled
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
            let built = RegexDFABuilder.build(compiledProgram(), maxStates: maxStates, forSet: false)?.storage
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
            let built = hasCaptures ? RegexCaptureDFABuilder.build(compiledProgram(), maxStates: maxStates) : nil
            captureValue = built
            captureReady.store(true, ordering: .releasing)
            return built
        }
    }
}
