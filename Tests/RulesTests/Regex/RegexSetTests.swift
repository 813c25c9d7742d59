import Testing

@testable import HoraeRules

@Suite struct RegexSetTests {
    @Test func agreesWithPerPatternMatching() throws {
        var gen = RegexRandomPatterns(seed: 0x5E7)
        for round in 0..<150 {
            let patterns = (0..<gen.rng.int(1...25)).map { _ in gen.pattern(depth: 3) }
            let compiled = try patterns.map { try CompiledRegex($0) }
            // A tiny state cap forces the recursive splitting down to single patterns.
            let sets = [try RegexSet(patterns), try RegexSet(patterns, maxDFAStates: 8)]
            for _ in 0..<12 {
                let input = gen.input(for: gen.rng.pick(patterns))
                let expected = compiled.indices.filter { compiled[$0].matches(input) }
                for set in sets {
                    #expect(set.matchingIndices(input) == expected, "round \(round) on \(input.debugDescription)")
                }
            }
        }
    }

    @Test func manyGlobLikePatterns() throws {
        let nodes = try (0..<1000).map { i -> RegexNode in
            let n = String(i)
            return try RegexParser.parse("data/c\(String(repeating: "0", count: 4 - n.count) + n)/[^/]*?\\.csv")
        }
        let set = try RegexSet(nodes)
        #expect(set.count == 1000)
        #expect(set.matchingIndices("data/c0042/part-00017.csv") == [42])
        #expect(set.matchingIndices("data/c0999/é.csv") == [999])
        #expect(set.matchingIndices("data/c0042/a/b.csv") == [])
        #expect(set.matchingIndices("data/c1000/x.csv") == [])
        let small = try RegexSet(nodes, maxDFAStates: 500)
        #expect(small.groupCount > 1)
        #expect(small.matchingIndices("data/c0042/part-00017.csv") == [42])
        #expect(small.matchingIndices("data/c0999/é.csv") == [999])
    }

    @Test func reportsAllMatchingPatternsInOrder() throws {
        let nodes = try ["a.*", ".*", "b", "(?<x>a)b", "ab", "[a-z]{2}", "a^b"].map { try RegexParser.parse($0) }
        let set = try RegexSet(nodes)
        #expect(set.matchingIndices("ab") == [0, 1, 3, 4, 5])
        #expect(set.matchingIndices("b") == [1, 2])
        #expect(set.matchingIndices("") == [1])
        var into = [99]
        Array("ab".utf8).withUnsafeBufferPointer { set.matchingIndices($0, into: &into) }
        #expect(into == [99, 0, 1, 3, 4, 5])
        #expect(try RegexSet([]).matchingIndices("x") == [])
    }
}
