import HoraeTestSupport

@testable import HoraeRules

/// The regex tests draw from the suite's shared generator.
typealias RegexTestRandom = SeededRandom

/// Slow but obviously correct matchers over Unicode scalars, used as references.
enum RegexReference {
    /// Language membership by sets of positions: the set of end positions reachable from `starts`.
    static func ends(_ node: RegexNode, _ s: [Unicode.Scalar], from starts: Set<Int>) -> Set<Int> {
        if starts.isEmpty { return [] }
        switch node {
        case .empty:
            return starts
        case .literal(let c):
            return Set(starts.compactMap { $0 < s.count && s[$0] == c ? $0 + 1 : nil })
        case .scalarClass(let cls):
            return Set(starts.compactMap { $0 < s.count && cls.contains(s[$0]) ? $0 + 1 : nil })
        case .concat(let xs):
            var cur = starts
            for x in xs { cur = ends(x, s, from: cur) }
            return cur
        case .alternation(let xs):
            var out: Set<Int> = []
            for x in xs { out.formUnion(ends(x, s, from: starts)) }
            return out
        case .repeat(let x, let lo, let hi, _):
            var cur = starts
            for _ in 0..<lo { cur = ends(x, s, from: cur) }
            var all = cur
            if let hi {
                for _ in lo..<hi {
                    cur = ends(x, s, from: cur)
                    all.formUnion(cur)
                    if cur.isEmpty { break }
                }
            } else {
                var frontier = cur
                while !frontier.isEmpty {
                    let next = ends(x, s, from: frontier).subtracting(all)
                    all.formUnion(next)
                    frontier = next
                }
            }
            return all
        case .capture(_, let x), .group(let x):
            return ends(x, s, from: starts)
        case .startOfText:
            return starts.contains(0) ? [0] : []
        case .endOfText:
            return starts.contains(s.count) ? [s.count] : []
        }
    }

    static func matches(_ node: RegexNode, _ text: String) -> Bool {
        let s = Array(text.unicodeScalars)
        return ends(node, s, from: [0]).contains(s.count)
    }

    /// Captures by exhaustive backtracking in priority order (alternation left first, greedy
    /// more first, lazy fewer first; an iteration of an unbounded loop may not match empty).
    /// Returns byte ranges like `CompiledRegex.captures`.
    static func captures(_ node: RegexNode, _ text: String) -> [Range<Int>?]? {
        let s = Array(text.unicodeScalars)
        var byteOffset = [0]
        for c in s { byteOffset.append(byteOffset.last! + String(c).utf8.count) }
        let names = node.captureNames
        var index: [String: Int] = [:]
        for (k, n) in names.enumerated() { index[n] = k }
        var steps = 0

        func bt(_ node: RegexNode, _ i: Int, _ caps: [Int], _ k: (Int, [Int]) -> [Int]?) -> [Int]? {
            steps += 1
            switch node {
            case .empty:
                return k(i, caps)
            case .literal(let c):
                return i < s.count && s[i] == c ? k(i + 1, caps) : nil
            case .scalarClass(let cls):
                return i < s.count && cls.contains(s[i]) ? k(i + 1, caps) : nil
            case .concat(let xs):
                func go(_ j: Int, _ i: Int, _ caps: [Int]) -> [Int]? {
                    if j == xs.count { return k(i, caps) }
                    return bt(xs[j], i, caps) { go(j + 1, $0, $1) }
                }
                return go(0, i, caps)
            case .alternation(let xs):
                for x in xs {
                    if let r = bt(x, i, caps, k) { return r }
                }
                return nil
            case .repeat(let x, let lo, let hi, let greedy):
                func rep(_ count: Int, _ i: Int, _ caps: [Int]) -> [Int]? {
                    if count < lo { return bt(x, i, caps) { rep(count + 1, $0, $1) } }
                    let canMore = hi == nil || count < hi!
                    func more() -> [Int]? {
                        bt(x, i, caps) { j, c in
                            if hi == nil && j == i { return nil }
                            return rep(count + 1, j, c)
                        }
                    }
                    if greedy {
                        if canMore, let r = more() { return r }
                        return k(i, caps)
                    }
                    if let r = k(i, caps) { return r }
                    return canMore ? more() : nil
                }
                return rep(0, i, caps)
            case .capture(let name, let x):
                let slot = 2 * index[name]!
                var c2 = caps
                c2[slot] = i
                return bt(x, i, c2) { j, c3 in
                    var c4 = c3
                    c4[slot + 1] = j
                    return k(j, c4)
                }
            case .group(let x):
                return bt(x, i, caps, k)
            case .startOfText:
                return i == 0 ? k(i, caps) : nil
            case .endOfText:
                return i == s.count ? k(i, caps) : nil
            }
        }
        let initial = [Int](repeating: -1, count: 2 * names.count)
        guard let slots = bt(node, 0, initial, { i, c in i == s.count ? c : nil }) else { return nil }
        return (0..<names.count).map { k in
            let lo = slots[2 * k]
            let hi = slots[2 * k + 1]
            return lo >= 0 && hi >= lo ? byteOffset[lo]..<byteOffset[hi] : nil
        }
    }
}

/// Random small patterns and inputs over an alphabet with 1- to 4-byte scalars.
struct RegexRandomPatterns {
    static let alphabet: [Unicode.Scalar] = ["a", "b", "c", "\n", "é", "€", "😀"]
    var rng: RegexTestRandom
    var captureCounter = 0
    /// Allow anchors inside the patterns.
    var anchors = true
    /// Allow unbounded loops whose body can match the empty string.
    var nullableLoops = true

    init(seed: UInt64) { rng = RegexTestRandom(seed: seed) }

    mutating func randomClass() -> ScalarClass {
        switch rng.int(0...4) {
        case 0:
            return ScalarClass.any.subtracting(.of("\n"))
        case 1:
            return .of(rng.pick(Self.alphabet)).union(.of(rng.pick(Self.alphabet))).inverted()
        case 2:
            return ScalarClass(ranges: [0x61...0x62, 0xE9...0x20AC])
        default:
            var cls = ScalarClass.empty
            for _ in 0..<rng.int(1...3) { cls = cls.union(.of(rng.pick(Self.alphabet))) }
            return cls
        }
    }

    mutating func node(depth: Int) -> RegexNode {
        let leaf = depth <= 0 || rng.chance(0.3)
        if leaf {
            switch rng.int(0...9) {
            case 0...4: return .literal(rng.pick(Self.alphabet))
            case 5...7: return .scalarClass(randomClass())
            case 8: return .empty
            default:
                if anchors { return rng.chance(0.5) ? .startOfText : .endOfText }
                return .literal("a")
            }
        }
        switch rng.int(0...5) {
        case 0, 1:
            return .concat((0..<rng.int(2...3)).map { _ in node(depth: depth - 1) })
        case 2:
            return .alternation((0..<rng.int(2...3)).map { _ in node(depth: depth - 1) })
        case 3:
            var body = node(depth: depth - 1)
            let lo = rng.int(0...2)
            let hi: Int? = rng.chance(0.5) ? nil : lo + rng.int(0...2)
            if hi == nil && !nullableLoops && RegexReference.matches(body, "") {
                body = .concat([body, .literal(rng.pick(Self.alphabet))])
            }
            return .repeat(body, min: lo, max: hi, greedy: rng.chance(0.6))
        case 4:
            captureCounter += 1
            return .capture(name: "c\(captureCounter)", node(depth: depth - 1))
        default:
            return .group(node(depth: depth - 1))
        }
    }

    mutating func pattern(depth: Int = 3) -> RegexNode {
        captureCounter = 0
        return node(depth: depth)
    }

    /// A random string, often one produced by walking the pattern (so that matches are common).
    mutating func input(for pattern: RegexNode) -> String {
        var scalars: [Unicode.Scalar] = []
        if rng.chance(0.6) {
            sample(pattern, into: &scalars, budget: 12)
            if rng.chance(0.3), !scalars.isEmpty {
                scalars[rng.int(0...(scalars.count - 1))] = rng.pick(Self.alphabet)
            }
        } else {
            for _ in 0..<rng.int(0...6) { scalars.append(rng.pick(Self.alphabet)) }
        }
        var s = String.UnicodeScalarView()
        s.append(contentsOf: scalars)
        return String(s)
    }

    mutating func sample(_ node: RegexNode, into out: inout [Unicode.Scalar], budget: Int) {
        if out.count > budget { return }
        switch node {
        case .empty, .startOfText, .endOfText:
            break
        case .literal(let c):
            out.append(c)
        case .scalarClass(let cls):
            let candidates = Self.alphabet.filter { cls.contains($0) }
            if !candidates.isEmpty { out.append(rng.pick(candidates)) }
        case .concat(let xs):
            for x in xs { sample(x, into: &out, budget: budget) }
        case .alternation(let xs):
            if !xs.isEmpty { sample(rng.pick(xs), into: &out, budget: budget) }
        case .repeat(let x, let lo, let hi, _):
            let n = rng.int(lo...(hi ?? lo + 2))
            for _ in 0..<n { sample(x, into: &out, budget: budget) }
        case .capture(_, let x), .group(let x):
            sample(x, into: &out, budget: budget)
        }
    }
}

extension CompiledRegex {
    /// Test helper: compile or fail the test loudly.
    static func testCompile(_ pattern: String) -> CompiledRegex {
        do {
            return try CompiledRegex(RegexParser.parse(pattern))
        } catch {
            fatalError("could not compile \(pattern): \(error)")
        }
    }

    func matchesBytes(_ s: String) -> Bool {
        Array(s.utf8).withUnsafeBufferPointer { matches($0) }
    }

    func captureRanges(_ s: String) -> [Range<Int>?]? {
        Array(s.utf8).withUnsafeBufferPointer { captures($0) }
    }
}
