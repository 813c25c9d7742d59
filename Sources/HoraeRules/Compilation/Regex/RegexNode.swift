/// AST of the supported regex subset; globs are compiled into this too.
public indirect enum RegexNode: Sendable, Hashable {
    /// Matches the empty string.
    case empty
    case literal(Unicode.Scalar)
    /// A set of scalars, already negated if needed.
    case scalarClass(ScalarClass)
    case concat([RegexNode])
    /// The leftmost alternative has priority.
    case alternation([RegexNode])
    case `repeat`(RegexNode, min: Int, max: Int?, greedy: Bool)
    case capture(name: String, RegexNode)
    /// Non-capturing group (also what an unnamed `( )` becomes).
    case group(RegexNode)
    /// `^` / `\A` and `$` / `\z`: the start and the end of the whole input.
    case startOfText, endOfText
}

extension RegexNode {
    /// Names of the captures in the order of their opening, each name once.
    public var captureNames: [String] {
        var names: [String] = []
        var seen: Set<String> = []
        func walk(_ n: RegexNode) {
            switch n {
            case .empty, .literal, .scalarClass, .startOfText, .endOfText:
                break
            case .concat(let xs), .alternation(let xs):
                for x in xs { walk(x) }
            case .repeat(let x, _, _, _), .group(let x):
                walk(x)
            case .capture(let name, let x):
                if seen.insert(name).inserted { names.append(name) }
                walk(x)
            }
        }
        walk(self)
        return names
    }

    /// Splits off the literal text at the start of a top-level concatenation: every match is
    /// that text followed by a match of `rest`, with the same captures (shifted by the text's
    /// length) and the same priorities. nil when there is no such text, or when the node holds
    /// a start-of-text assertion (which `rest` would see at the wrong place).
    func splittingLiteralPrefix() -> (prefix: String, rest: RegexNode)? {
        guard case .concat(let xs) = self, case .literal = xs.first, !containsStartOfText else { return nil }
        var scalars = String.UnicodeScalarView()
        var k = 0
        while k < xs.count, case .literal(let c) = xs[k] {
            scalars.append(c)
            k += 1
        }
        let rest = Array(xs[k...])
        return (String(scalars), rest.count == 1 ? rest[0] : .concat(rest))
    }

    /// Whether a `^` / `\A` occurs anywhere in the node.
    var containsStartOfText: Bool {
        switch self {
        case .startOfText: return true
        case .empty, .literal, .scalarClass, .endOfText: return false
        case .concat(let xs), .alternation(let xs): return xs.contains { $0.containsStartOfText }
        case .repeat(let x, _, _, _), .capture(_, let x), .group(let x): return x.containsStartOfText
        }
    }

    /// A literal text every match starts with ("" when none is known).
    public var literalPrefix: String {
        var s = String.UnicodeScalarView()
        s.append(contentsOf: RegexNode.affix(self, fromEnd: false).scalars)
        return String(s)
    }

    /// A literal text every match ends with ("" when none is known).
    public var literalSuffix: String {
        var s = String.UnicodeScalarView()
        s.append(contentsOf: RegexNode.affix(self, fromEnd: true).scalars.reversed())
        return String(s)
    }

    /// The only string the node matches, or nil when it matches several strings or none.
    public var exactString: String? {
        guard let r = RegexNode.single(self) else { return nil }
        var s = String.UnicodeScalarView()
        s.append(contentsOf: r.scalars)
        return String(s)
    }

    /// Same language, compared case-insensitively: every literal and class is closed under
    /// simple case mapping. A class covering more than half of all scalars is taken as a
    /// negated class, so its excluded part is case-closed instead (`[^a]` excludes `a` and `A`).
    public func caseInsensitive() -> RegexNode {
        switch self {
        case .empty, .startOfText, .endOfText:
            return self
        case .literal(let c):
            let folded = RegexCaseFolding.closure(of: .of(c))
            return folded.singleScalar != nil ? self : .scalarClass(folded)
        case .scalarClass(let cls):
            return .scalarClass(RegexCaseFolding.foldPreservingNegation(cls))
        case .concat(let xs):
            return .concat(xs.map { $0.caseInsensitive() })
        case .alternation(let xs):
            return .alternation(xs.map { $0.caseInsensitive() })
        case .repeat(let x, let lo, let hi, let greedy):
            return .repeat(x.caseInsensitive(), min: lo, max: hi, greedy: greedy)
        case .capture(let name, let x):
            return .capture(name: name, x.caseInsensitive())
        case .group(let x):
            return .group(x.caseInsensitive())
        }
    }

    // MARK: - Analysis helpers

    /// Longest repeated text kept when computing affixes of counted repetitions.
    private static let affixLimit = 4096

    /// `scalars`: text every match starts with (or ends with, reversed, when `fromEnd`);
    /// `complete`: the node matches exactly that text (so a concatenation may go on).
    private static func affix(_ node: RegexNode, fromEnd: Bool) -> (scalars: [Unicode.Scalar], complete: Bool) {
        switch node {
        case .empty, .startOfText, .endOfText:
            return ([], true)
        case .literal(let c):
            return ([c], true)
        case .scalarClass(let cls):
            if let c = cls.singleScalar { return ([c], true) }
            return ([], false)
        case .concat(let xs):
            var acc: [Unicode.Scalar] = []
            for x in (fromEnd ? Array(xs.reversed()) : xs) {
                let (p, complete) = affix(x, fromEnd: fromEnd)
                acc.append(contentsOf: p)
                if !complete || acc.count > affixLimit { return (Array(acc.prefix(affixLimit)), false) }
            }
            return (acc, true)
        case .alternation(let xs):
            guard let first = xs.first else { return ([], false) }
            var (common, allComplete) = affix(first, fromEnd: fromEnd)
            var allEqual = true
            for x in xs.dropFirst() {
                let (p, complete) = affix(x, fromEnd: fromEnd)
                if p != common { allEqual = false }
                allComplete = allComplete && complete
                var k = 0
                while k < common.count && k < p.count && common[k] == p[k] { k += 1 }
                common.removeSubrange(k...)
            }
            return (common, allComplete && allEqual)
        case .repeat(let x, let lo, let hi, _):
            if hi == 0 { return ([], true) }
            let (p, complete) = affix(x, fromEnd: fromEnd)
            if complete && p.isEmpty { return ([], true) }
            if lo == 0 { return ([], false) }
            if !complete { return (p, false) }
            var acc: [Unicode.Scalar] = []
            for _ in 0..<lo {
                acc.append(contentsOf: p)
                if acc.count > affixLimit { return (Array(acc.prefix(affixLimit)), false) }
            }
            return (acc, hi == lo)
        case .capture(_, let x), .group(let x):
            return affix(x, fromEnd: fromEnd)
        }
    }

    /// The single string a node matches: `needsStart` / `needsEnd` tell that it holds an anchor
    /// that requires no text before / after it.
    private struct Single {
        var scalars: [Unicode.Scalar]
        var needsStart: Bool
        var needsEnd: Bool
    }

    private static func single(_ node: RegexNode) -> Single? {
        switch node {
        case .empty:
            return Single(scalars: [], needsStart: false, needsEnd: false)
        case .startOfText:
            return Single(scalars: [], needsStart: true, needsEnd: false)
        case .endOfText:
            return Single(scalars: [], needsStart: false, needsEnd: true)
        case .literal(let c):
            return Single(scalars: [c], needsStart: false, needsEnd: false)
        case .scalarClass(let cls):
            guard let c = cls.singleScalar else { return nil }
            return Single(scalars: [c], needsStart: false, needsEnd: false)
        case .concat(let xs):
            var acc = Single(scalars: [], needsStart: false, needsEnd: false)
            for x in xs {
                guard let s = single(x), joinable(acc, s) else { return nil }
                // Appended in place: joining copies would be quadratic in long literal texts.
                acc.scalars += s.scalars
                acc.needsStart = acc.needsStart || s.needsStart
                acc.needsEnd = acc.needsEnd || s.needsEnd
                if acc.scalars.count > affixLimit * 16 { return nil }
            }
            return acc
        case .alternation(let xs):
            guard let first = xs.first, let s0 = single(first) else { return nil }
            for x in xs.dropFirst() {
                guard let s = single(x), s.scalars == s0.scalars,
                    s.needsStart == s0.needsStart, s.needsEnd == s0.needsEnd
                else { return nil }
            }
            return s0
        case .repeat(let x, let lo, let hi, _):
            guard hi == lo else {
                // x{n,m} with n < m matches one string only when x matches just "" (without anchors).
                if let s = single(x), s.scalars.isEmpty, !s.needsStart, !s.needsEnd { return s }
                return nil
            }
            if lo == 0 { return Single(scalars: [], needsStart: false, needsEnd: false) }
            guard let s = single(x) else { return nil }
            if s.scalars.count * lo > affixLimit * 16 { return nil }
            var acc = s
            for _ in 1..<lo {
                guard let joined = concatSingle(acc, s) else { return nil }
                acc = joined
            }
            return acc
        case .capture(_, let x), .group(let x):
            return single(x)
        }
    }

    /// Whether `b` can follow `a`: no text after a `$`, none before a `^`.
    private static func joinable(_ a: Single, _ b: Single) -> Bool {
        !((a.needsEnd && !b.scalars.isEmpty) || (b.needsStart && !a.scalars.isEmpty))
    }

    /// Joins two single strings; nil when the result can match nothing (text before a `^`
    /// or after a `$`), which is "not exactly one string" too.
    private static func concatSingle(_ a: Single, _ b: Single) -> Single? {
        if !joinable(a, b) { return nil }
        return Single(
            scalars: a.scalars + b.scalars,
            needsStart: a.needsStart || b.needsStart,
            needsEnd: a.needsEnd || b.needsEnd)
    }
}
