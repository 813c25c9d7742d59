import Testing

@testable import HoraeRules

/// `SingleGapMatcher` must give `CompiledRegex`'s answers (and the backtracking reference's) on
/// every pattern it accepts.
struct SingleGapMatcherTests {
    static func captures(_ m: SingleGapMatcher, _ input: String) -> [Range<Int>?]? {
        Array(input.utf8).withUnsafeBufferPointer { buffer in
            var slots = [Int](repeating: -7, count: max(1, m.slotCount))
            guard slots.withUnsafeMutableBufferPointer({ m.captureSlots(buffer, into: $0.baseAddress!) }) else {
                return nil
            }
            return (0..<m.slotCount / 2).map { k in
                slots[2 * k] >= 0 && slots[2 * k + 1] >= slots[2 * k] ? slots[2 * k]..<slots[2 * k + 1] : nil
            }
        }
    }

    static func matches(_ m: SingleGapMatcher, _ input: String) -> Bool {
        Array(input.utf8).withUnsafeBufferPointer { m.matches($0) }
    }

    /// Patterns built in the accepted shape: fixed parts around one gap, captures around runs.
    static func gapPattern(_ gen: inout RegexRandomPatterns) -> RegexNode {
        var r = gen.rng
        defer { gen.rng = r }
        func fixed() -> RegexNode {
            switch r.int(0...3) {
            case 0, 1: return .literal(r.pick(RegexRandomPatterns.alphabet))
            case 2: return .scalarClass(ScalarClass(ranges: [0x61...0x62]))
            default:
                return .repeat(.scalarClass(ScalarClass(ranges: [0x61...0x63])), min: 2, max: 2, greedy: r.chance(0.5))
            }
        }
        func gap() -> RegexNode {
            switch r.int(0...3) {
            case 0:
                return .repeat(
                    .scalarClass(gen.randomClass()), min: r.int(0...1), max: r.chance(0.5) ? nil : r.int(2...4),
                    greedy: r.chance(0.5))
            case 1: return .repeat(.scalarClass(.any), min: 0, max: nil, greedy: false)
            case 2: return .scalarClass(gen.randomClass())
            default:
                return .alternation((0..<r.int(1...3)).map { _ in .concat((0..<r.int(0...2)).map { _ in fixed() }) })
            }
        }
        var parts: [RegexNode] = (0..<r.int(0...3)).map { _ in fixed() }
        parts.append(gap())
        parts += (0..<r.int(0...3)).map { _ in fixed() }
        // Captures around random runs, nested or apart, each name once.
        var k = 0
        for _ in 0..<r.int(0...3) where !parts.isEmpty {
            let lo = r.int(0...(parts.count - 1))
            let hi = r.int(lo...(parts.count - 1))
            k += 1
            let run = RegexNode.concat(Array(parts[lo...hi]))
            parts.replaceSubrange(lo...hi, with: [.capture(name: "g\(k)", run)])
        }
        if r.chance(0.1) { parts.insert(.startOfText, at: 0) }
        if r.chance(0.1) { parts.append(.endOfText) }
        return .concat(parts)
    }

    @Test func agreesWithTheAutomatonOnGapShapedPatterns() throws {
        var gen = RegexRandomPatterns(seed: 0x6A9_0001)
        var accepted = 0
        var positives = 0
        var withCaptures = 0
        for round in 0..<3000 {
            let pattern = Self.gapPattern(&gen)
            guard let m = SingleGapMatcher(pattern) else { continue }
            accepted += 1
            let regex = try CompiledRegex(pattern)
            for _ in 0..<8 {
                let input = gen.input(for: pattern)
                let expected = regex.captureRanges(input)
                let got = Self.captures(m, input)
                #expect(got == expected, "round \(round): \(pattern) on \(input.debugDescription)")
                #expect(
                    got == RegexReference.captures(pattern, input),
                    "reference, round \(round): \(pattern) on \(input.debugDescription)")
                #expect(Self.matches(m, input) == (expected != nil))
                if got != expected { return }
                if got != nil { positives += 1 }
                if let got, got.contains(where: { $0 != nil }) { withCaptures += 1 }
            }
        }
        #expect(accepted > 2500, "the gap-shaped patterns should nearly all be accepted: \(accepted)")
        #expect(positives > 4000 && withCaptures > 2000, "\(positives) matches, \(withCaptures) with captures")
    }

    /// On random patterns of every shape: where the matcher accepts one, it agrees.
    @Test func agreesWithTheAutomatonWheneverItAccepts() throws {
        var gen = RegexRandomPatterns(seed: 0x6A9_0002)
        var accepted = 0
        for round in 0..<6000 {
            let pattern = gen.pattern(depth: 3)
            guard let m = SingleGapMatcher(pattern) else { continue }
            accepted += 1
            let regex = try CompiledRegex(pattern)
            for _ in 0..<6 {
                let input = gen.input(for: pattern)
                let expected = regex.captureRanges(input)
                #expect(Self.captures(m, input) == expected, "round \(round): \(pattern) on \(input.debugDescription)")
                if Self.captures(m, input) != expected { return }
            }
        }
        #expect(accepted > 500, "\(accepted)")
    }

    /// The remainders of the patterns rules usually have are accepted, with their captures.
    @Test func takesTheUsualGlobs() throws {
        let accepted = [
            "{codename}_gocc_{date:[0-9]{8}}.tar.gz", "{date:[0-9]{8}}.tar.gz", "{path:**}",
            "{daily,weekly}/c00042-{date:[0-9]{8}}.csv", "{date:[0-9]{8}}/part-*.parquet", "*.csv",
        ]
        for glob in accepted {
            let node = try GlobParser.parse(glob)
            #expect(SingleGapMatcher(node) != nil, "\(glob)")
        }
        let gocc = try #require(SingleGapMatcher(try GlobParser.parse("{codename}_gocc_{date:[0-9]{8}}.tar.gz")))
        #expect(Self.captures(gocc, "c00042_gocc_20190115.tar.gz") == [0..<6, 12..<20])
        #expect(Self.captures(gocc, "a/b_gocc_20190115.tar.gz") == nil)
        #expect(Self.captures(gocc, "c1_gocc_2019011.tar.gz") == nil)
        // Two parts of variable length: not this matcher's shape.
        #expect(SingleGapMatcher(try GlobParser.parse("{kind:edm|upg}/input/{file}_x")) == nil)
    }
}
