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
    /// The same objects, unretained, for the matching loops (the values above keep them alive;
    /// reading a class reference from a `var` would retain and release it on every call).
    private var dfaRef: Unmanaged<RegexDFAStorage>?
    private var captureRef: Unmanaged<RegexCaptureDFAStorage>?
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
        let compiled =
            (try? RegexCompiler.compile(node.unsafelyUnwrapped))
            ?? RegexProgram(instructions: [RegexInstruction(op: .fail)], sparse: [], start: 0, slotCount: 0)
        programValue = compiled
        node = nil
        programReady.store(true, ordering: .releasing)
        return compiled
    }

    /// The matching table, or nil when the pattern needs more states than the cap.
    @inline(__always)
    var dfa: RegexDFAStorage? { dfaStorage?.takeUnretainedValue() }

    /// `dfa`, unretained (valid as long as `self`).
    @inline(__always)
    var dfaStorage: Unmanaged<RegexDFAStorage>? {
        if dfaReady.load(ordering: .acquiring) { return dfaRef }
        return buildDFA()
    }

    @inline(never)
    private func buildDFA() -> Unmanaged<RegexDFAStorage>? {
        lock.withLock { _ -> Unmanaged<RegexDFAStorage>? in
            if dfaReady.load(ordering: .acquiring) { return dfaRef }
            let built = RegexDFABuilder.build(compiledProgram(), maxStates: maxStates, forSet: false)?.storage
            dfaValue = built
            dfaRef = built.map { Unmanaged.passUnretained($0) }
            dfaReady.store(true, ordering: .releasing)
            return dfaRef
        }
    }

    /// The capture automaton, or nil without captures or when the pattern needs more states
    /// than the cap (or > 64 slots).
    var captureAutomaton: RegexCaptureDFA? {
        _ = captureStorage
        return captureValue
    }

    /// The capture automaton's tables, unretained (valid as long as `self`).
    @inline(__always)
    var captureStorage: Unmanaged<RegexCaptureDFAStorage>? {
        if captureReady.load(ordering: .acquiring) { return captureRef }
        return buildCaptureAutomaton()
    }

    @inline(never)
    private func buildCaptureAutomaton() -> Unmanaged<RegexCaptureDFAStorage>? {
        lock.withLock { _ -> Unmanaged<RegexCaptureDFAStorage>? in
            if captureReady.load(ordering: .acquiring) { return captureRef }
            let built = hasCaptures ? RegexCaptureDFABuilder.build(compiledProgram(), maxStates: maxStates) : nil
            captureValue = built
            captureRef = built.map { Unmanaged.passUnretained($0.storage) }
            captureReady.store(true, ordering: .releasing)
            return captureRef
        }
    }
}
