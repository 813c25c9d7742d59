import Synchronization

/// Builds a pattern's `RegexCaptureDFA` on first use and keeps it: a double-checked lazy value
/// (one atomic load once built), so `CompiledRegex` stays an immutable, Sendable value while
/// patterns that never need captures do not pay for building it.
final class RegexLazyCaptureAutomaton: @unchecked Sendable {
    private let ready = Atomic<Bool>(false)
    private let lock = Mutex<Void>(())
    /// Written once under `lock` before `ready` is set (release); read only after `ready` is seen
    /// set (acquire).
    private var value: RegexCaptureDFA?
    private let program: RegexProgram
    private let maxStates: Int

    init(program: RegexProgram, maxStates: Int) {
        self.program = program
        self.maxStates = maxStates
    }

    /// The automaton, or nil when the pattern needs more states than the cap (or > 64 slots).
    var automaton: RegexCaptureDFA? {
        if ready.load(ordering: .acquiring) { return value }
        return lock.withLock { _ -> RegexCaptureDFA? in
            if ready.load(ordering: .acquiring) { return value }
            let built = RegexCaptureDFABuilder.build(program, maxStates: maxStates)
            value = built
            ready.store(true, ordering: .releasing)
            return built
        }
    }
}
