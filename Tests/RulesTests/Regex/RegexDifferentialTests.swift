import Testing

@testable import HoraeRules

@Suite struct RegexDifferentialTests {
    /// DFA, NFA simulation and set matching agree with the set-of-positions reference.
    @Test func matchesAgreeWithReference() throws {
        var gen = RegexRandomPatterns(seed: 0x5EED_0001)
        var positives = 0
        defer {
            print("positives", positives)
            #expect(positives > 3000)
        }
        for round in 0..<3000 {
            let pattern = gen.pattern(depth: 3)
            let regex = try CompiledRegex(pattern)
            let nfaOnly = try CompiledRegex(pattern, maxDFAStates: 1)
            for _ in 0..<10 {
                let input = gen.input(for: pattern)
                let expected = RegexReference.matches(pattern, input)
                let got = regex.matches(input)
                if expected { positives += 1 }
                #expect(got == expected, "round \(round): \(pattern) on \(input.debugDescription)")
                #expect(
                    nfaOnly.matchesBytes(input) == expected,
                    "NFA fallback, round \(round): \(pattern) on \(input.debugDescription)")
                if got != expected { return }
            }
        }
    }

    /// Pike VM captures agree with a priority-ordered backtracking reference.
    @Test func capturesAgreeWithReference() throws {
        var gen = RegexRandomPatterns(seed: 0x5EED_0002)
        var failures = 0
        var withCaptures = 0
        defer {
            print("withCaptures", withCaptures)
            #expect(withCaptures > 1000)
        }
        for round in 0..<3000 {
            let pattern = gen.pattern(depth: 3)
            let regex = try CompiledRegex(pattern)
            let pikeOnly = try CompiledRegex(pattern, maxDFAStates: 1)
            for _ in 0..<8 {
                let input = gen.input(for: pattern)
                let expected = RegexReference.captures(pattern, input)
                let got = regex.captureRanges(input)
                #expect(
                    pikeOnly.captureRanges(input) == expected,
                    "Pike VM, round \(round): \(pattern) on \(input.debugDescription)")
                if regex.usesCaptureDFA {
                    let forward = Array(input.utf8).withUnsafeBufferPointer { regex.captureRangesCopyingForward($0) }
                    #expect(
                        forward == expected, "forward copying, round \(round): \(pattern) on \(input.debugDescription)")
                }
                if let got, got.contains(where: { $0 != nil }) { withCaptures += 1 }
                #expect(got == expected, "round \(round): \(pattern) on \(input.debugDescription)")
                if got != expected {
                    failures += 1
                    if failures > 5 { return }
                }
            }
        }
    }

    /// Case-insensitive nodes match exactly the case variants of the original language (ASCII).
    @Test func caseInsensitiveAgreesWithReferenceOnASCII() throws {
        var gen = RegexRandomPatterns(seed: 0x5EED_0003)
        for _ in 0..<500 {
            let pattern = gen.pattern(depth: 3)
            let folded = try CompiledRegex(pattern.caseInsensitive())
            for _ in 0..<8 {
                let input = gen.input(for: pattern)
                let upper = String(
                    input.unicodeScalars.map { c -> Character in
                        c == "a" || c == "b" ? Character(c.properties.uppercaseMapping) : Character(c)
                    })
                // Every variant of a matching string must match, and the case-folded pattern
                // must accept the same ASCII-uppercased inputs as the original accepts lowercase ones.
                if RegexReference.matches(pattern, input) {
                    #expect(folded.matches(upper), "\(pattern) on \(upper.debugDescription)")
                    #expect(folded.matches(input))
                }
            }
        }
    }

    @Test func utf8SequencesMatchExactlyTheClass() {
        var rng = RegexTestRandom(seed: 7)
        for _ in 0..<200 {
            var ranges: [ClosedRange<UInt32>] = []
            for _ in 0..<rng.int(1...4) {
                let a = UInt32(
                    rng.pick([
                        0, 0x7F, 0x80, 0x7FF, 0x800, 0xD7FF, 0xE000, 0xFFFF, 0x10000, 0x10FFFF,
                        UInt32(rng.int(0...0x10FFFF)),
                    ]))
                let b = a + UInt32(rng.int(0...0x3000))
                ranges.append(a...b)
            }
            let cls = ScalarClass(ranges: ranges)
            let seqs = RegexUTF8Sequences.sequences(for: cls)
            for _ in 0..<200 {
                var v = UInt32(rng.int(0...0x10FFFF))
                if rng.chance(0.5), let r = cls.ranges.randomElement(using: &rng) {
                    v = UInt32(rng.int(Int(r.lowerBound)...Int(r.upperBound)))
                }
                guard let scalar = Unicode.Scalar(v) else { continue }
                let bytes = Array(String(Character(scalar)).utf8)
                let inSeqs = seqs.contains { seq in
                    seq.count == bytes.count && zip(seq, bytes).allSatisfy { $0.lo <= $1 && $1 <= $0.hi }
                }
                #expect(inSeqs == cls.contains(scalar), "U+\(String(v, radix: 16)) in \(cls.ranges)")
            }
        }
    }
}
