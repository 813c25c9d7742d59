import Testing

@testable import HoraeRules

/// Glob semantics of docs/rules.md, "Globs", through `StringPattern` (parser + automaton).
struct GlobPatternTests {
    func glob(_ pattern: String) throws -> StringPattern {
        try StringPattern(kind: .glob, source: pattern)
    }

    func matches(_ pattern: String, _ value: String) throws -> Bool {
        var captures = CaptureSet()
        return try glob(pattern).match(value, captures: &captures)
    }

    func captures(_ pattern: String, _ value: String) throws -> [String: String]? {
        var captures = CaptureSet()
        return try glob(pattern).match(value, captures: &captures) ? captures.dictionary : nil
    }

    @Test(arguments: [
        ("*.csv", "a.csv", true), ("*.csv", "dir/a.csv", false), ("*.csv", ".csv", true),
        ("?.csv", "a.csv", true), ("?.csv", "ab.csv", false), ("?", "/", false), ("?", "é", true),
        ("a/**/b", "a/b", true), ("a/**/b", "a/x/b", true), ("a/**/b", "a/x/y/b", true), ("a/**/b", "ab", false),
        ("a/**", "a/x", true), ("a/**", "a/x/y", true), ("a/**", "a", false),
        ("**/x", "x", true), ("**/x", "p/q/x", true), ("**/x", "p/qx", false), ("**", "any/thing", true),
        ("[abc]", "b", true), ("[abc]", "d", false), ("[a-c]x", "cx", true), ("[!a-c]", "d", true),
        ("[!a-c]", "a", false),
        ("[^a]", "b", true), ("[!a]", "/", false), ("[]a]", "]", true),
        ("{edm,upg}/in", "edm/in", true), ("{edm,upg}/in", "upg/in", true), ("{edm,upg}/in", "x/in", false),
        ("{a,b{c,d}}", "bd", true), ("{a*,b}", "abc", true),
        ("a/{b,**}", "a/x/y", true), ("a/{b,**/c}/d", "a/c/d", true), ("a/{b,**/c}/d", "a/x/y/c/d", true),
        ("{**,x}", "p/q", true),
        ("\\*", "*", true), ("\\*", "a", false), ("a\\{b\\}", "a{b}", true),
        ("exact", "exact", true), ("exact", "exac", false), ("exact", "exactly", false),
        ("{n:[0-9]{2}}x", "12x", true), ("{n:[0-9]{2}}x", "1x", false),
    ])
    func globMatching(pattern: String, value: String, expected: Bool) throws {
        #expect(try matches(pattern, value) == expected, "\(pattern) ~ \(value)")
    }

    @Test func capturesBindWhatStarWouldMatch() throws {
        #expect(
            try captures("gocc/{codename}_gocc_{date:[0-9]{8}}.tar.gz", "gocc/sohappy_gocc_20190115.tar.gz")
                == ["codename": "sohappy", "date": "20190115"])
        #expect(try captures("{a}/{b}", "x/y") == ["a": "x", "b": "y"])
        #expect(try captures("{a}", "x/y") == nil)
    }

    /// When a pattern can capture in several ways, the leftmost capture takes the shortest text.
    @Test func leftmostShortestCapture() throws {
        #expect(try captures("{a}_{b}", "x_y_z") == ["a": "x", "b": "y_z"])
        #expect(try captures("{a}_gocc_{b}", "c_gocc_x_gocc_y") == ["a": "c", "b": "x_gocc_y"])
    }

    @Test func spanningCaptures() throws {
        #expect(try captures("data/{path:**}/part.csv", "data/a/b/part.csv") == ["path": "a/b"])
        #expect(try captures("data/{path:**}/part.csv", "data/part.csv") == [:])
        #expect(try captures("data/{rest:**}", "data/a/b") == ["rest": "a/b"])
    }

    @Test func ignoreCase() throws {
        var captures = CaptureSet()
        #expect(
            try StringPattern(kind: .glob, source: "GOCC/*.TAR.GZ", ignoreCase: true).match(
                "gocc/x.tar.gz", captures: &captures))
        #expect(
            try StringPattern(kind: .exact, source: "Finalize", ignoreCase: true).match("FINALIZE", captures: &captures)
        )
        #expect(
            try StringPattern(kind: .prefix, source: "Ven-", ignoreCase: true).match("ven-cust", captures: &captures))
        #expect(try !StringPattern(kind: .exact, source: "Finalize").match("FINALIZE", captures: &captures))
    }

    @Test func exactIsByteExact() throws {
        var captures = CaptureSet()
        // "é" precomposed vs "e" + combining accent: equal as Swift Strings, different bytes.
        #expect(try !StringPattern(kind: .exact, source: "caf\u{E9}").match("cafe\u{301}", captures: &captures))
        #expect(try !glob("caf\u{E9}").match("cafe\u{301}", captures: &captures))
    }

    @Test(arguments: [
        (
            "a**b",
            "`**` must be a whole path segment, as in `a/**/b`, `**/x` or `a/**`; use `*` to match within a segment", 1
        ),
        // An alternative is a whole segment only where its brace expansion is.
        (
            "ao{b,**/c}/d",
            "`**` must be a whole path segment, as in `a/**/b`, `**/x` or `a/**`; use `*` to match within a segment", 5
        ),
        (
            "a/{b/**,**}x/d",
            "`**` must be a whole path segment, as in `a/**/b`, `**/x` or `a/**`; use `*` to match within a segment", 5
        ),
        (
            "a/{b,**}/d",
            "`**` at the end of an alternative must also end the pattern; move what follows the `}` into each alternative, as in `{a/y,**/y}`",
            5
        ),
        ("gocc/{date", "unterminated `{`; close it with `}` or write `\\{` to match a brace", 5),
        ("x[ab", "unterminated character class `[`; close it with `]` or write `\\[` to match a bracket", 1),
        ("a}", "unmatched `}`; write `\\}` to match a brace", 1),
        (
            "{a b}",
            "`{a b}` is neither a capture (`{name}`, `{name:REGEX}`) nor an alternation (`{a,b}`); write `\\{` to match a brace",
            0
        ),
        (
            "{x}/{x}",
            "capture `x` appears twice in this pattern; use it once here and repeat it in another field to require equal text",
            4
        ),
        ("{a,{n}}", "captures are not allowed inside an alternation; capture the whole `{…,…}` with `{n:(a|b)}`", 3),
        ("[z-a]", "the range `z-a` is reversed; write `a-z`", 1),
        ("ab\\", "the pattern ends with a lone `\\`; write `\\\\` to match a backslash", 2),
        ("***", "`***` is not a pattern; use `**` for any number of path segments or `*` within one", 0),
    ])
    func syntaxErrors(pattern: String, message: String, offset: Int) {
        #expect(throws: GlobParser.SyntaxError(message: message, offset: offset)) { try GlobParser.parse(pattern) }
    }

    @Test func linearTimeOnHostilePatterns() throws {
        // A backtracking matcher takes exponential time here; the automaton walks the value once.
        let pattern = try glob(String(repeating: "*a", count: 30) + "b")
        var captures = CaptureSet()
        #expect(!pattern.match(String(repeating: "a", count: 20_000), captures: &captures))
    }
}
