import Testing

@testable import HoraeRules

@Suite struct RegexSemanticsTests {
    private func r(_ p: String) -> CompiledRegex { CompiledRegex.testCompile(p) }

    @Test func matchesTheWholeInputOnly() {
        let abc = r("abc")
        #expect(abc.matches("abc"))
        #expect(!abc.matches("xabc"))
        #expect(!abc.matches("abcx"))
        #expect(!abc.matches("ab"))
        #expect(!abc.matches(""))
        #expect(r("").matches(""))
        #expect(!r("").matches("a"))
        #expect(r("a|ab").matches("ab"))
        #expect(r("(?:a|ab)(?:c|bcd)").matches("abcd"))
    }

    @Test func anchors() {
        #expect(r("^abc$").matches("abc"))
        #expect(r(#"\Aabc\z"#).matches("abc"))
        #expect(!r("a^b").matches("ab"))
        #expect(!r("a$b").matches("ab"))
        #expect(r("(?:^a|b)c").matches("ac"))
        #expect(r("(?:^|x)a").matches("a"))
        #expect(r("(?:^|x)a").matches("xa"))
        #expect(r("a(?:$|b)").matches("a"))
        #expect(r("a(?:$|b)").matches("ab"))
        #expect(!r("a(?:$|b)c").matches("ac"))
        #expect(r("^$").matches(""))
        #expect(r("$^").matches(""))
        #expect(!r("$^").matches("a"))
        #expect(r("(?:$)*a").matches("a"))
    }

    @Test func classes() {
        let digits = r("[0-9]+")
        #expect(digits.matches("0123456789"))
        #expect(!digits.matches("12a"))
        #expect(r(#"\d\D\w\W\s\S"#).matches("1a_ \t!"))
        #expect(!r(#"\d\D\w\W\s\S"#).matches("aa_ \t!"))
        #expect(r(#"\d\D\w\W\s\S"#).matches("1a_- x"))
        #expect(r("[^/]+").matches("a.b-c"))
        #expect(!r("[^/]+").matches("a/b"))
        #expect(r("[[:alpha:]]+[[:digit:]]").matches("abZ9"))
        #expect(r("[[:^digit:]]").matches("x"))
        #expect(!r("[[:^digit:]]").matches("5"))
        #expect(r(#"[\]\-\\]+"#).matches(#"]-\"#))
        #expect(r("[a-]+").matches("a-a"))
        #expect(r(".").matches("é"))
        #expect(!r(".").matches("\n"))
        #expect(r("(?s).").matches("\n"))
        #expect(r(#"\x41\x{1F600}"#).matches("A😀"))
        #expect(r(#"a\.b"#).matches("a.b"))
        #expect(!r(#"a\.b"#).matches("axb"))
    }

    @Test func multibyteScalarsAreOneCharacter() {
        #expect(r("a.c").matches("aéc"))
        #expect(r("a.c").matches("a€c"))
        #expect(r("a.c").matches("a😀c"))
        #expect(!r("a.c").matches("a😀😀c"))
        #expect(r("a..c").matches("a😀é c".replacingFirstSpace()))
        #expect(r("[^a]{3}").matches("é€😀"))
        #expect(!r("[^a]{3}").matches("é€"))
        #expect(r("[é-€]+").matches("éü€"))
        #expect(!r("[é-€]+").matches("e"))
        #expect(r("😀{2}").matches("😀😀"))
        #expect(!r("😀{2}").matches("😀"))
        #expect(r("[^😀]").matches("😁"))
        #expect(!r("[^😀]").matches("😀"))
        // Every scalar boundary case of the encoding: 1-, 2-, 3- and 4-byte extremes.
        let all = r(".")
        for v: UInt32 in [0, 0x7F, 0x80, 0x7FF, 0x800, 0xD7FF, 0xE000, 0xFFFF, 0x10000, 0x10FFFF] where v != 0x0A {
            #expect(all.matches(String(Character(Unicode.Scalar(v)!))), "U+\(String(v, radix: 16))")
        }
    }

    @Test func caseInsensitive() {
        let ci = r("(?i)hello[a-c]")
        #expect(ci.matches("HeLLoB"))
        #expect(ci.matches("helloa"))
        #expect(!ci.matches("hellod"))
        #expect(r("(?i)straße").matches("STRAẞE"))
        #expect(r("(?i)é").matches("É"))
        #expect(r("(?i)k").matches("\u{212A}"))  // Kelvin sign folds to k
        #expect(r("(?i)[^a]").matches("b"))
        #expect(!r("(?i)[^a]").matches("A"))
        let node = try! RegexParser.parse("ab[c-d]")
        let folded = try! CompiledRegex(node.caseInsensitive())
        #expect(folded.matches("AbD"))
        #expect(!folded.matches("AbE"))
        let negated = try! CompiledRegex(RegexNode.scalarClass(ScalarClass.of("a").inverted()).caseInsensitive())
        #expect(!negated.matches("A"))
        #expect(negated.matches("B"))
    }

    @Test func greedyAndLazyCaptures() {
        let greedy = r("(?<a>.*)(?<b>.*)")
        #expect(greedy.captures("xyz") == ["a": "xyz", "b": ""])
        let lazy = r("(?<a>.*?)(?<b>.*)")
        #expect(lazy.captures("xyz") == ["a": "", "b": "xyz"])
        let split = r("(?<a>.*)_(?<b>.*)")
        #expect(split.captures("a_b_c") == ["a": "a_b", "b": "c"])
        let splitLazy = r("(?<a>.*?)_(?<b>.*)")
        #expect(splitLazy.captures("a_b_c") == ["a": "a", "b": "b_c"])
        let counted = r("(?<a>x{1,3})(?<b>x*)")
        #expect(counted.captures("xxxxx") == ["a": "xxx", "b": "xx"])
        let countedLazy = r("(?<a>x{1,3}?)(?<b>x*)")
        #expect(countedLazy.captures("xxxxx") == ["a": "x", "b": "xxxx"])
    }

    @Test func alternationPrefersTheLeftBranch() {
        let alt = r("(?<a>x|xy)(?<b>y?)")
        #expect(alt.captures("xy") == ["a": "x", "b": "y"])
        let alt2 = r("(?<a>xy|x)(?<b>y?)")
        #expect(alt2.captures("xy") == ["a": "xy", "b": ""])
        let branches = r("(?:(?<a>a)|(?<b>b))+")
        #expect(branches.captures("ab") == ["a": "a", "b": "b"])
        #expect(branches.captures("bb") == ["b": "b"])
    }

    @Test func capturesOnBytesAndUnicode() {
        let g = r(#"gocc/(?<name>[^/]*?)_gocc_(?<date>[0-9]{8})\.tar\.gz"#)
        #expect(g.captureNames == ["name", "date"])
        #expect(g.captures("gocc/some_archive_gocc_20240131.tar.gz") == ["name": "some_archive", "date": "20240131"])
        #expect(g.captures("gocc/x/y_gocc_20240131.tar.gz") == nil)
        #expect(g.captureRanges("gocc/é_gocc_20240131.tar.gz") == [5..<7, 13..<21])
        #expect(g.captures("gocc/é😀_gocc_20240131.tar.gz")?["name"] == "é😀")
        // Combining marks: captures keep scalar boundaries.
        let c = r("(?<base>e)(?<mark>.)")
        #expect(c.captures("e\u{301}")?["mark"].map { Array($0.unicodeScalars) } == ["\u{301}"])
        let none = r("(?<a>x)?y")
        #expect(none.captures("y") == [:])
        #expect(none.captureRanges("y") == [nil])
        #expect(r("abc").captureRanges("abc") == [])
        #expect(r("abc").captureRanges("abd") == nil)
    }

    @Test func concurrentCapturesShareOneLazilyBuiltAutomaton() async {
        let regex = r(#"(?<dir>[^/]+)/(?<file>[^/]*?)(?<ext>\.[a-z]+)?"#)
        let results = await withTaskGroup(of: Bool.self) { group in
            for i in 0..<16 {
                group.addTask {
                    (0..<200).allSatisfy { j in
                        regex.captures("d\(i)/f\(j).txt") == ["dir": "d\(i)", "file": "f\(j)", "ext": ".txt"]
                    }
                }
            }
            var all: [Bool] = []
            for await ok in group { all.append(ok) }
            return all
        }
        #expect(results.count == 16 && results.allSatisfy { $0 })
    }

    @Test func countedRepetition() {
        let x = r("a{2,4}")
        #expect(!x.matches("a"))
        #expect(x.matches("aa"))
        #expect(x.matches("aaaa"))
        #expect(!x.matches("aaaaa"))
        #expect(r("a{3}").matches("aaa"))
        #expect(!r("a{3}").matches("aaaa"))
        #expect(r("a{2,}").matches("aaaaaaa"))
        #expect(!r("a{2,}").matches("a"))
        #expect(r("(?:ab){0}c").matches("c"))
        #expect(r("[0-9]{8}").matches("20240131"))
    }

    @Test func analysisProperties() throws {
        let g = try RegexParser.parse(#"gocc/(?<name>[^/]*?)_gocc_(?<date>[0-9]{8})\.tar\.gz"#)
        #expect(g.literalPrefix == "gocc/")
        #expect(g.literalSuffix == ".tar.gz")
        #expect(g.exactString == nil)
        #expect(g.captureNames == ["name", "date"])
        #expect(try RegexParser.parse("abc").exactString == "abc")
        #expect(try RegexParser.parse("^a(?:b)c{2}$").exactString == "abcc")
        #expect(try RegexParser.parse("a|a").exactString == "a")
        #expect(try RegexParser.parse("a|b").exactString == nil)
        #expect(try RegexParser.parse("a^b").exactString == nil)
        #expect(try RegexParser.parse("").exactString == "")
        #expect(try RegexParser.parse("[x]").exactString == "x")
        #expect(try RegexParser.parse("a*").exactString == nil)
        #expect(try RegexParser.parse("ab(?:cd|ce)f").literalPrefix == "abc")
        #expect(try RegexParser.parse("ab(?:cd|ce)f").literalSuffix == "f")
        #expect(try RegexParser.parse("(?:xa|ya)b").literalSuffix == "ab")
        #expect(try RegexParser.parse("(?:ab){2}c*").literalPrefix == "abab")
        #expect(try RegexParser.parse("a+b").literalPrefix == "a")
        #expect(try RegexParser.parse("a?b").literalPrefix == "")
        #expect(try RegexParser.parse("(?i)abc").literalPrefix == "")
        #expect(try RegexParser.parse("é😀.").literalPrefix == "é😀")
        let nested = RegexNode.concat([
            .capture(name: "a", .capture(name: "b", .empty)), .capture(name: "c", .empty), .capture(name: "a", .empty),
        ])
        #expect(nested.captureNames == ["a", "b", "c"])
    }

    @Test func scalarClassOperations() {
        let a = ScalarClass(ranges: [10...20, 15...30, 31...31, 0xD000...0xE100])
        #expect(a.ranges == [10...31, 0xD000...0xD7FF, 0xE000...0xE100])
        #expect(a.inverted().inverted() == a)
        #expect(a.union(a.inverted()) == .any)
        #expect(a.subtracting(ScalarClass(ranges: [12...13])).ranges.prefix(2) == [10...11, 14...31])
        #expect(ScalarClass.any.contains("😀"))
        #expect(!ScalarClass.of("a").contains("b"))
        #expect(ScalarClass.any.inverted().isEmpty)
    }

    @Test func hugeCountedRepetitionIsTooLarge() throws {
        let node = try RegexParser.parse("(?:(?:[a-z]{1000}){1000})")
        #expect(throws: RegexSyntaxError.self) { _ = try CompiledRegex(node) }
        do {
            _ = try CompiledRegex(node)
        } catch {
            #expect(error.message.contains("too large"))
        }
    }

    @Test func dfaCapFallsBackToNFA() throws {
        // (a|b)*a(a|b){12} needs 2^13 DFA states: beyond the cap, matching simulates the NFA.
        let regex = r("(?:a|b)*a(?:a|b){12}")
        #expect(!regex.usesDFA)
        #expect(regex.matches("b" + "a" + String(repeating: "b", count: 12)))
        #expect(!regex.matches("a" + "b" + String(repeating: "b", count: 12)))
        let cap = r("(?<x>(?:a|b)*)a(?:a|b){12}")
        #expect(cap.captures("bba" + String(repeating: "b", count: 12)) == ["x": "bb"])
    }
}

extension String {
    fileprivate func replacingFirstSpace() -> String {
        guard let i = firstIndex(of: " ") else { return self }
        var s = self
        s.remove(at: i)
        return s
    }
}
