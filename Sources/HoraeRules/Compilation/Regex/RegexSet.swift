/// Many patterns at once: walks the input once per group of patterns and reports every pattern
/// whose language holds the whole input.
///
/// Patterns are combined into one DFA (at most `maxDFAStates` states); when that DFA would be
/// larger, the list is split in halves recursively, down to single patterns that use their own
/// `CompiledRegex`.
public struct RegexSet: Sendable {
    public static let maxDFAStates = 10_000

    private enum Group: Sendable {
        /// Patterns `base ..< base + count` share one DFA.
        case automaton(RegexDFA, base: Int)
        case single(CompiledRegex, index: Int)
    }

    private let groups: [Group]
    public let count: Int

    public init(_ nodes: [RegexNode]) throws(RegexSyntaxError) {
        try self.init(nodes, maxDFAStates: RegexSet.maxDFAStates)
    }

    init(_ nodes: [RegexNode], maxDFAStates: Int) throws(RegexSyntaxError) {
        var programs: [RegexProgram] = []
        programs.reserveCapacity(nodes.count)
        for node in nodes {
            // Captures play no part in set matching: patterns are compiled without them.
            programs.append(try RegexCompiler.compile(RegexSet.withoutCaptures(node), patternIndex: 0))
        }
        var groups: [Group] = []
        let chunk = RegexSet.estimatedGroupSize(nodes, programs, maxDFAStates: maxDFAStates)
        var lower = 0
        while lower < programs.count {
            let upper = min(programs.count, lower + chunk)
            RegexSet.build(programs, lower..<upper, maxDFAStates: maxDFAStates, into: &groups)
            lower = upper
        }
        self.groups = groups
        count = nodes.count
    }

    /// How many patterns one DFA can probably hold, from the DFA sizes of a sample of patterns:
    /// a pattern adds about its own states beyond its literal prefix (prefixes are shared in a
    /// trie-like way). Groups that still overflow are halved; this only avoids building many
    /// oversized DFAs in vain for long lists.
    private static func estimatedGroupSize(_ nodes: [RegexNode], _ programs: [RegexProgram], maxDFAStates: Int) -> Int {
        let n = programs.count
        if n <= 1 { return max(1, n) }
        let samples = min(n, 16)
        var total = 0.0
        for k in 0..<samples {
            let i = k * n / samples
            let states =
                RegexDFABuilder.build(programs[i], maxStates: maxDFAStates, forSet: true)?.stateCount ?? maxDFAStates
            total += Double(max(1, states - nodes[i].literalPrefix.utf8.count))
        }
        let perPattern = total / Double(samples)
        return max(1, min(n, Int(Double(maxDFAStates) * 0.9 / perPattern)))
    }

    /// Number of DFAs and single patterns the set was split into.
    public var groupCount: Int { groups.count }

    private static func build(
        _ programs: [RegexProgram], _ range: Range<Int>, maxDFAStates: Int, into groups: inout [Group]
    ) {
        if range.isEmpty { return }
        if range.count == 1 {
            groups.append(
                .single(CompiledRegex(program: programs[range.lowerBound], captureNames: []), index: range.lowerBound))
            return
        }
        var members: [RegexProgram] = []
        members.reserveCapacity(range.count)
        for (k, i) in range.enumerated() {
            var p = programs[i]
            // Number the patterns of the group from 0.
            for j in p.instructions.indices where p.instructions[j].op == .match {
                p.instructions[j].b = Int32(k)
            }
            members.append(p)
        }
        if let dfa = RegexDFABuilder.build(RegexProgram.union(members), maxStates: maxDFAStates, forSet: true) {
            groups.append(.automaton(dfa, base: range.lowerBound))
            return
        }
        let mid = range.lowerBound + range.count / 2
        build(programs, range.lowerBound..<mid, maxDFAStates: maxDFAStates, into: &groups)
        build(programs, mid..<range.upperBound, maxDFAStates: maxDFAStates, into: &groups)
    }

    private static func withoutCaptures(_ node: RegexNode) -> RegexNode {
        switch node {
        case .empty, .literal, .scalarClass, .startOfText, .endOfText:
            return node
        case .concat(let xs): return .concat(xs.map(withoutCaptures))
        case .alternation(let xs): return .alternation(xs.map(withoutCaptures))
        case .repeat(let x, let lo, let hi, let greedy):
            return .repeat(withoutCaptures(x), min: lo, max: hi, greedy: greedy)
        case .capture(_, let x), .group(let x): return .group(withoutCaptures(x))
        }
    }

    /// Appends the indices (ascending) of all patterns that match the whole input.
    public func matchingIndices(_ utf8: UnsafeBufferPointer<UInt8>, into result: inout [Int]) {
        forEachMatch(utf8) { result.append($0) }
    }

    /// Calls `found` with the index of every pattern that matches the whole input, ascending.
    func forEachMatch(_ utf8: UnsafeBufferPointer<UInt8>, _ found: (Int) -> Void) {
        for group in groups {
            switch group {
            case .automaton(let dfa, let base):
                dfa.forEachAcceptedPattern(utf8) { found(base + $0) }
            case .single(let regex, let index):
                if regex.matches(utf8) { found(index) }
            }
        }
    }

    /// Convenience: the indices (ascending) of all patterns that match the whole `s`.
    public func matchingIndices(_ s: String) -> [Int] {
        var result: [Int] = []
        CompiledRegex.withUTF8(s) { matchingIndices($0, into: &result) }
        return result
    }
}
