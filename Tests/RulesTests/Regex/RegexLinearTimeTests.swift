import Testing

@testable import HoraeRules

/// Patterns that make backtracking engines explode run in one pass here. These tests only
/// check that the calls return (with the right answer) on 100 000-byte inputs.
@Suite struct RegexLinearTimeTests {
    static let manyA = String(repeating: "a", count: 100_000)

    @Test(arguments: ["(a*)*b", "(a|aa)*c", "(?:a+)+b", "(a|a)*b", "(?:a*)*a*b", "(.*)*x"])
    func hostileMatches(pattern: String) {
        let regex = CompiledRegex.testCompile(pattern)
        #expect(!regex.matches(Self.manyA))
        #expect(regex.captures(Self.manyA) == nil)
    }

    @Test func hostileCapturesThatMatch() {
        let regex = CompiledRegex.testCompile("(?<x>a|aa)*(?<y>a*)")
        let caps = regex.captures(Self.manyA)
        #expect(caps?["x"] == "a")
        #expect(caps?["y"] == "")
        let nested = CompiledRegex.testCompile("(?<x>(?:a*)*)(?<y>a*?)a")
        #expect(nested.captures(Self.manyA)?["x"]?.count == 99_999)
    }

    @Test func fallbacksAreLinearToo() throws {
        // Beyond the DFA cap: NFA simulation for matches, Pike VM for captures.
        let node = try RegexParser.parse("(?<x>(?:a|b)*)a(?:a|b){12}")
        let regex = try CompiledRegex(node, maxDFAStates: 1)
        #expect(!regex.usesDFA)
        #expect(regex.matches(Self.manyA))
        #expect(regex.captures(Self.manyA)?["x"]?.count == 100_000 - 13)
        let hostile = try CompiledRegex(RegexParser.parse("(a|aa)*c"), maxDFAStates: 1)
        #expect(!hostile.matches(Self.manyA))
    }

    @Test func longInputsUseForwardSlotCopying() {
        // Longer than the capture automaton's history limit.
        let regex = CompiledRegex.testCompile("(?<head>a*?)(?<tail>a{3})")
        let caps = regex.captures(Self.manyA)
        #expect(caps?["head"]?.count == 99_997)
        #expect(caps?["tail"] == "aaa")
    }
}
