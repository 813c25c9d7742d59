import Testing

@testable import HoraeRules

@Suite struct RegexParserTests {
    private func error(_ pattern: String) -> RegexSyntaxError? {
        do {
            _ = try RegexParser.parse(pattern)
            return nil
        } catch {
            return error
        }
    }

    @Test(arguments: [
        // (pattern, offset, words the message must contain)
        (#"ab\1"#, 2, "backreference"),
        (#"(?<x>a)\k<x>"#, 7, "backreference"),
        (#"(?P<x>a)(?P=x)"#, 8, "backreference"),
        ("a(?=b)", 1, "lookahead"),
        ("a(?!b)", 1, "lookahead"),
        ("(?<=a)b", 0, "lookbehind"),
        ("(?<!a)b", 0, "lookbehind"),
        ("x(?>a+)", 1, "atomic"),
        ("a*+", 2, "possessive"),
        ("a++", 2, "possessive"),
        ("a?+", 2, "possessive"),
        ("a{2}+", 4, "possessive"),
        (#"foo\b"#, 3, "not supported"),
        (#"\Bfoo"#, 0, "not supported"),
        ("(ab", 0, "unbalanced parenthesis"),
        ("a(b(c)", 1, "unbalanced parenthesis"),
        ("ab)", 2, "unbalanced parenthesis"),
        ("[ab", 0, "unbalanced bracket"),
        ("x[^a", 1, "unbalanced bracket"),
        ("[]", 0, "empty character class"),
        ("a[^]", 1, "empty character class"),
        ("[z-a]", 1, "reversed range"),
        ("*a", 0, "nothing to repeat"),
        ("a|+b", 2, "nothing to repeat"),
        ("(?:*)", 3, "nothing to repeat"),
        ("^*", 1, "nothing to repeat"),
        ("a{2}{3}", 4, "quantifier"),
        ("a**", 2, "quantifier"),
        ("a{3,2}", 1, "larger than the maximum"),
        ("a{1,1001}", 1, "too large"),
        ("a{1001}", 1, "too large"),
        ("a{,3}", 1, "{0,n}"),
        ("(?<x>a)(?<x>b)", 10, "duplicate capture name"),
        ("(?<1x>a)", 3, "invalid group name"),
        ("(?<>a)", 3, "invalid group name"),
        ("(?<a-b>a)", 3, "invalid group name"),
        ("(?P<é>a)", 4, "invalid group name"),
        (#"a\q"#, 1, "unknown escape"),
        (#"\y"#, 0, "unknown escape"),
        (#"[\q]"#, 1, "unknown escape"),
        (#"\p{L}"#, 0, "not supported"),
        (#"\0"#, 0, #"\x00"#),
        (#"\x4"#, 0, "hex"),
        (#"\x{110000}"#, 0, "not a Unicode scalar"),
        (#"\x{D800}"#, 0, "not a Unicode scalar"),
        ("(?m)a", 2, "flag 'm'"),
        ("(?x)a", 2, "flag 'x'"),
        ("[[:foo:]]", 1, "unknown POSIX class"),
        (#"[\d-z]"#, 1, "range endpoint"),
        (#"[a-\d]"#, 3, "range endpoint"),
        ("a\\", 1, "backslash"),
        ("é(", 1, "unbalanced parenthesis"),
        ("😀😀(?=x)", 2, "lookahead"),
    ])
    func rejects(pattern: String, offset: Int, words: String) {
        guard let e = error(pattern) else {
            Issue.record("\(pattern) should be rejected")
            return
        }
        #expect(e.offset == offset, "\(pattern): \(e.message)")
        #expect(e.message.lowercased().contains(words.lowercased()), "\(pattern): \(e.message)")
    }

    @Test func backreferenceMessageSaysWhatToDoInstead() {
        let e = error(#"(a)\1"#)
        #expect(e?.message.contains("named group") == true)
        #expect(e?.message.contains("linear") == true)
    }

    @Test func parsesTheSupportedSyntax() throws {
        let accepted = [
            "abc", "a.c", "a|b|", "(a)(?:b)(?<n>c)(?P<m>d)", "a*b+c?d{2}e{2,}f{2,5}",
            "a*?b+?c??d{2}?e{2,}?f{2,5}?", "^a$", #"\Aa\z"#, #"[abc][a-z][^0-9][-a][a-][\]a]"#,
            #"\d\D\w\W\s\S\.\\\n\t\r\f\v\x41\x{263A}\u{1F600}\u00e9"#, "[[:alpha:][:digit:]_]", "[[:^space:]]",
            "(?i)abc", "a(?i:b)c", "(?s).", "(?i-s:a.)", "a{", "a{x}", "a{1,x}", "}", "]", #"[\[\]\-\^]"#, "x{0}",
            "(?:)", "()", "a||b", "é€😀", "[é-😀]",
        ]
        for pattern in accepted {
            #expect(throws: Never.self, "\(pattern)") { _ = try RegexParser.parse(pattern) }
        }
    }

    @Test func buildsTheExpectedTree() throws {
        #expect(try RegexParser.parse("ab") == .concat([.literal("a"), .literal("b")]))
        #expect(try RegexParser.parse("a|b") == .alternation([.literal("a"), .literal("b")]))
        #expect(try RegexParser.parse("(a)") == .group(.literal("a")))
        #expect(try RegexParser.parse("(?<n>a)") == .capture(name: "n", .literal("a")))
        #expect(try RegexParser.parse("a*?") == .repeat(.literal("a"), min: 0, max: nil, greedy: false))
        #expect(try RegexParser.parse("a{2,5}") == .repeat(.literal("a"), min: 2, max: 5, greedy: true))
        #expect(try RegexParser.parse("a{3}") == .repeat(.literal("a"), min: 3, max: 3, greedy: true))
        #expect(try RegexParser.parse("a{3,}") == .repeat(.literal("a"), min: 3, max: nil, greedy: true))
        #expect(try RegexParser.parse("^$") == .concat([.startOfText, .endOfText]))
        #expect(try RegexParser.parse("") == .empty)
        #expect(try RegexParser.parse("a{") == .concat([.literal("a"), .literal("{")]))
        #expect(try RegexParser.parse(#"\x41\u{e9}"#) == .concat([.literal("A"), .literal("é")]))
        #expect(try RegexParser.parse("[a-c]") == .scalarClass(ScalarClass(ranges: [0x61...0x63])))
        #expect(try RegexParser.parse("[^a]") == .scalarClass(ScalarClass.of("a").inverted()))
        #expect(try RegexParser.parse(".") == .scalarClass(ScalarClass.any.subtracting(.of("\n"))))
        #expect(try RegexParser.parse("(?s).") == .scalarClass(.any))
        #expect(try RegexParser.parse("(?i)a") == .scalarClass(ScalarClass(ranges: [0x41...0x41, 0x61...0x61])))
        #expect(
            try RegexParser.parse("(?i:a)b")
                == .concat([.group(.scalarClass(ScalarClass(ranges: [0x41...0x41, 0x61...0x61]))), .literal("b")]))
        #expect(try RegexParser.parse("(?i)1") == .literal("1"))
    }

    @Test func flagsEndWithTheirGroup() throws {
        let r = CompiledRegex.testCompile("(a(?i)b)c")
        #expect(r.matches("aBc"))
        #expect(!r.matches("aBC"))
        #expect(!r.matches("ABc"))
        let off = CompiledRegex.testCompile("(?i)a(?-i)b")
        #expect(off.matches("Ab"))
        #expect(!off.matches("AB"))
    }

    @Test func offsetsCountScalarsNotBytes() {
        #expect(error("éé€[z-a]")?.offset == 4)
    }
}
