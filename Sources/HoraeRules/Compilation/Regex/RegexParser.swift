/// Parser of the supported regular-expression syntax (a linear-time subset in the style of RE2).
///
/// Supported: literals; escapes `\d \D \w \W \s \S` (ASCII meanings), `\n \t \r \f \v`,
/// `\xHH`, `\x{H…}`, `\uHHHH`, `\u{H…}` and escaped punctuation; `.` (any scalar but `\n`,
/// any scalar with the `s` flag); classes `[abc] [a-z] [^…]` with escapes and POSIX
/// `[[:alpha:]]` items; groups `( )` (non-capturing), `(?: )`, `(?<name> )`, `(?P<name> )`;
/// `|`; quantifiers `* + ? {n} {n,} {n,m}` (each lazy with a trailing `?`); anchors
/// `^ $ \A \z` (start and end of the whole input); flags `(?i)`, `(?s)`, `(?-i)` (up to the
/// end of the enclosing group) and scoped `(?i: … )`.
public enum RegexParser {
    /// Largest count allowed in `{n,m}`.
    public static let maxRepeatCount = 1000
    /// Deepest nesting of groups allowed.
    public static let maxNestingDepth = 250

    public static func parse(_ pattern: String) throws(RegexSyntaxError) -> RegexNode {
        var parser = Engine(scalars: Array(pattern.unicodeScalars))
        return try parser.parseWhole()
    }

    private struct Quantifier {
        var min: Int
        var max: Int?
        var greedy: Bool
        var offset: Int
    }

    /// One item of a bracket class: a single scalar (which may start a range) or a set.
    private enum ClassItem {
        case scalar(UInt32)
        case set(ScalarClass)
    }

    private struct Engine {
        let s: [Unicode.Scalar]
        var i = 0
        var caseInsensitive = false
        var dotMatchesNewline = false
        var names: Set<String> = []
        var depth = 0

        init(scalars: [Unicode.Scalar]) { s = scalars }

        func fail(_ message: String, at offset: Int) -> RegexSyntaxError {
            RegexSyntaxError(message: message, offset: offset)
        }

        func peek(_ k: Int = 0) -> Unicode.Scalar? {
            i + k < s.count ? s[i + k] : nil
        }

        mutating func parseWhole() throws(RegexSyntaxError) -> RegexNode {
            let node = try parseAlternation()
            if i < s.count {
                // Only an unmatched ')' stops the top-level alternation early.
                throw fail(
                    "unbalanced parenthesis: this ')' has no matching '('; write \\) to match a literal ')'", at: i)
            }
            return node
        }

        mutating func parseAlternation() throws(RegexSyntaxError) -> RegexNode {
            var alternatives = [try parseConcat()]
            while peek() == "|" {
                i += 1
                alternatives.append(try parseConcat())
            }
            return alternatives.count == 1 ? alternatives[0] : .alternation(alternatives)
        }

        mutating func parseConcat() throws(RegexSyntaxError) -> RegexNode {
            var items: [RegexNode] = []
            while let c = peek(), c != "|", c != ")" {
                guard let atom = try parseAtom() else { continue }  // a flag group like (?i)
                var node = atom
                var quantified = false
                while let q = try parseQuantifier() {
                    if quantified {
                        throw fail(
                            "a quantifier cannot directly follow another quantifier; wrap the repeated part in (?:...) first, e.g. (?:a+){2}",
                            at: q.offset)
                    }
                    if case .startOfText = atom { throw nothingToRepeat(q.offset) }
                    if case .endOfText = atom { throw nothingToRepeat(q.offset) }
                    node = .repeat(node, min: q.min, max: q.max, greedy: q.greedy)
                    quantified = true
                }
                items.append(node)
            }
            switch items.count {
            case 0: return .empty
            case 1: return items[0]
            default: return .concat(items)
            }
        }

        func nothingToRepeat(_ offset: Int) -> RegexSyntaxError {
            fail(
                "nothing to repeat: a quantifier must follow a character, class or group; write \\\(s[offset]) to match it literally",
                at: offset)
        }

        // MARK: Quantifiers

        /// Parses `{n}`, `{n,}` or `{n,m}` starting at `at` (which holds `{`); nil when the text
        /// is not a counted repetition (then `{` is a literal). Returns the index after `}`.
        func braceQuantifier(at start: Int) throws(RegexSyntaxError) -> (min: Int, max: Int?, end: Int)? {
            var k = start + 1
            func number(_ k: inout Int) -> Int? {
                var value = 0
                var digits = 0
                while k < s.count, s[k] >= "0", s[k] <= "9" {
                    value = min(value * 10 + Int(s[k].value) - 48, 1_000_000)
                    digits += 1
                    k += 1
                }
                return digits > 0 ? value : nil
            }
            if k < s.count && s[k] == "," {
                var m = k + 1
                if number(&m) != nil, m < s.count, s[m] == "}" {
                    throw fail("a counted repetition needs its lower bound: write {0,n} instead of {,n}", at: start)
                }
                return nil
            }
            guard let lo = number(&k) else { return nil }
            var hi: Int? = lo
            if k < s.count && s[k] == "," {
                k += 1
                hi = number(&k)
            }
            guard k < s.count, s[k] == "}" else { return nil }
            if let hi, lo > hi {
                throw fail(
                    "invalid counted repetition {\(lo),\(hi)}: the minimum is larger than the maximum; write {\(hi),\(lo)}",
                    at: start)
            }
            if lo > maxRepeatCount || (hi ?? 0) > maxRepeatCount {
                throw fail(
                    "counted repetition is too large: counts are limited to \(maxRepeatCount); use * or + for unbounded repetition",
                    at: start)
            }
            return (lo, hi, k + 1)
        }

        mutating func parseQuantifier() throws(RegexSyntaxError) -> Quantifier? {
            guard let c = peek() else { return nil }
            let start = i
            var q: Quantifier
            switch c {
            case "*":
                q = Quantifier(min: 0, max: nil, greedy: true, offset: start)
                i += 1
            case "+":
                q = Quantifier(min: 1, max: nil, greedy: true, offset: start)
                i += 1
            case "?":
                q = Quantifier(min: 0, max: 1, greedy: true, offset: start)
                i += 1
            case "{":
                guard let b = try braceQuantifier(at: i) else { return nil }
                q = Quantifier(min: b.min, max: b.max, greedy: true, offset: start)
                i = b.end
            default:
                return nil
            }
            if peek() == "?" {
                q.greedy = false
                i += 1
            } else if peek() == "+" {
                throw fail(
                    "possessive quantifiers (*+ ++ ?+ {n}+) are not supported (matching must stay linear); drop the trailing '+', e.g. write a* instead of a*+",
                    at: i)
            }
            return q
        }

        // MARK: Atoms

        /// Parses one atom; nil for a flag-only group such as `(?i)`.
        mutating func parseAtom() throws(RegexSyntaxError) -> RegexNode? {
            let c = s[i]
            switch c {
            case "(":
                return try parseGroup()
            case "[":
                return .scalarClass(try parseClass())
            case ".":
                i += 1
                return .scalarClass(dotMatchesNewline ? .any : Self.anyButNewline)
            case "^":
                i += 1
                return .startOfText
            case "$":
                i += 1
                return .endOfText
            case "\\":
                return try parseEscape()
            case "*", "+", "?":
                throw nothingToRepeat(i)
            case "{":
                if try braceQuantifier(at: i) != nil { throw nothingToRepeat(i) }
                i += 1
                return literal(c.value)
            default:
                i += 1
                return literal(c.value)
            }
        }

        func literal(_ v: UInt32) -> RegexNode {
            let scalar = Unicode.Scalar(v)!
            if caseInsensitive {
                let folded = RegexCaseFolding.closure(of: .of(scalar))
                if folded.singleScalar == nil { return .scalarClass(folded) }
            }
            return .literal(scalar)
        }

        func folded(_ cls: ScalarClass) -> ScalarClass {
            caseInsensitive ? RegexCaseFolding.closure(of: cls) : cls
        }

        // MARK: Groups

        mutating func parseGroup() throws(RegexSyntaxError) -> RegexNode? {
            let open = i
            if depth >= maxNestingDepth {
                throw fail("groups are nested too deeply (more than \(maxNestingDepth) levels)", at: open)
            }
            var captureName: String? = nil
            var scopedFlags: (Bool, Bool)? = nil
            if peek(1) == "?" {
                let c2 = peek(2)
                switch c2 {
                case ":":
                    i += 3
                case "=", "!":
                    throw fail(
                        "lookahead (?= and (?! is not supported (matching must stay linear); match the text itself, or test it with another field rule",
                        at: open)
                case ">":
                    throw fail("atomic groups (?> are not supported; use a plain group (?:...)", at: open)
                case "#":
                    throw fail("comments (?#...) are not supported; remove the comment", at: open)
                case "<":
                    if peek(3) == "=" || peek(3) == "!" {
                        throw fail(
                            "lookbehind (?<= and (?<! is not supported (matching must stay linear); match the text itself, or test it with another field rule",
                            at: open)
                    }
                    i += 3
                    captureName = try parseGroupName(terminator: ">")
                case "P":
                    if peek(3) == "<" {
                        i += 4
                        captureName = try parseGroupName(terminator: ">")
                    } else if peek(3) == "=" {
                        throw fail(
                            "backreferences (?P=name) are not supported (matching must stay linear); capture the text with a named group and compare it in another field",
                            at: open)
                    } else if peek(3) == ">" {
                        throw fail("recursion (?P>name) is not supported", at: open)
                    } else {
                        throw fail(
                            "unknown group syntax '(?P'; write (?P<name>...) or (?<name>...) for a named capture",
                            at: open)
                    }
                case "'":
                    throw fail("write a named capture as (?<name>...) instead of (?'name'...)", at: open)
                case "R", "&", "+", "0", "1", "2", "3", "4", "5", "6", "7", "8", "9":
                    throw fail("recursion and subroutine calls are not supported", at: open)
                case "|":
                    throw fail("branch-reset groups (?| are not supported; use (?:...)", at: open)
                default:
                    // Flags: (?flags) or (?flags:...)
                    var k = i + 2
                    var on = true
                    var ci = caseInsensitive
                    var dot = dotMatchesNewline
                    var sawFlag = false
                    while k < s.count, s[k] != ")", s[k] != ":" {
                        switch s[k] {
                        case "i":
                            ci = on
                            sawFlag = true
                        case "s":
                            dot = on
                            sawFlag = true
                        case "-":
                            if !on { throw fail("a flag group may contain only one '-'", at: k) }
                            on = false
                        case "m":
                            throw fail(
                                "flag 'm' is not supported: patterns always match the whole text, so ^ and $ are its start and end",
                                at: k)
                        default:
                            if s[k].properties.isAlphabetic {
                                throw fail(
                                    "flag '\(s[k])' is not supported; only i (ignore case) and s (dot matches newline) are",
                                    at: k)
                            }
                            throw fail(
                                "unknown group syntax after '(?'; write (?:...) for a group or (?<name>...) for a named capture",
                                at: open)
                        }
                        k += 1
                    }
                    guard k < s.count, sawFlag || !on else {
                        if k >= s.count {
                            throw fail(
                                "unbalanced parenthesis: this '(' is never closed; add ')' or write \\( to match a literal '('",
                                at: open)
                        }
                        throw fail("empty flag group; write (?i) or (?i:...)", at: open)
                    }
                    if s[k] == ")" {
                        caseInsensitive = ci
                        dotMatchesNewline = dot
                        i = k + 1
                        return nil
                    }
                    scopedFlags = (ci, dot)
                    i = k + 1
                }
            } else {
                i += 1
            }
            let savedFlags = (caseInsensitive, dotMatchesNewline)
            if let scopedFlags { (caseInsensitive, dotMatchesNewline) = scopedFlags }
            depth += 1
            let body = try parseAlternation()
            depth -= 1
            guard peek() == ")" else {
                throw fail(
                    "unbalanced parenthesis: this '(' is never closed; add ')' or write \\( to match a literal '('",
                    at: open)
            }
            i += 1
            (caseInsensitive, dotMatchesNewline) = savedFlags
            if let captureName { return .capture(name: captureName, body) }
            return .group(body)
        }

        mutating func parseGroupName(terminator: Unicode.Scalar) throws(RegexSyntaxError) -> String {
            let start = i
            var k = i
            while k < s.count, s[k] != terminator, s[k] != ")" { k += 1 }
            guard k < s.count, s[k] == terminator else {
                throw fail("unterminated group name: write (?<name>...)", at: start)
            }
            let nameScalars = s[start..<k]
            var valid = !nameScalars.isEmpty
            for (n, c) in nameScalars.enumerated() {
                let letter = (c >= "A" && c <= "Z") || (c >= "a" && c <= "z") || c == "_"
                let digit = c >= "0" && c <= "9"
                if !(letter || (n > 0 && digit)) { valid = false }
            }
            var name = ""
            name.unicodeScalars.append(contentsOf: nameScalars)
            guard valid else {
                throw fail(
                    "invalid group name '\(name)': a name starts with a letter or '_' followed by letters, digits or '_'",
                    at: start)
            }
            guard names.insert(name).inserted else {
                throw fail("duplicate capture name '\(name)': each named group needs its own name", at: start)
            }
            i = k + 1
            return name
        }

        // MARK: Escapes

        mutating func parseEscape() throws(RegexSyntaxError) -> RegexNode {
            let start = i
            guard let c = peek(1) else {
                throw fail("the pattern ends with a lone backslash; write \\\\ to match a backslash", at: start)
            }
            switch c {
            case "A":
                i += 2
                return .startOfText
            case "z":
                i += 2
                return .endOfText
            case "Z":
                throw fail("\\Z is not supported; write \\z (end of text)", at: start)
            case "b", "B":
                throw fail(
                    "word boundaries \\\(c) are not supported; match the surrounding characters explicitly, e.g. with \\W or [^A-Za-z0-9_]",
                    at: start)
            default:
                break
            }
            switch try parseEscapeItem(inClass: false) {
            case .scalar(let v): return literal(v)
            case .set(let cls): return .scalarClass(cls)
            }
        }

        /// Parses an escape (at `\`) usable both inside and outside classes.
        mutating func parseEscapeItem(inClass: Bool) throws(RegexSyntaxError) -> ClassItem {
            let start = i
            guard let c = peek(1) else {
                throw fail("the pattern ends with a lone backslash; write \\\\ to match a backslash", at: start)
            }
            i += 2
            switch c {
            case "d": return .set(folded(Self.digit))
            case "D": return .set(folded(Self.digit).inverted())
            case "w": return .set(folded(Self.word))
            case "W": return .set(folded(Self.word).inverted())
            case "s": return .set(Self.space)
            case "S": return .set(Self.space.inverted())
            case "n": return .scalar(0x0A)
            case "t": return .scalar(0x09)
            case "r": return .scalar(0x0D)
            case "f": return .scalar(0x0C)
            case "v": return .scalar(0x0B)
            case "x", "u":
                return .scalar(try parseHexEscape(start: start, kind: c))
            case "1", "2", "3", "4", "5", "6", "7", "8", "9":
                throw fail(
                    "backreferences (\\\(c)) are not supported (matching must stay linear); capture the text with a named group and compare it in another field",
                    at: start)
            case "k", "g":
                throw fail(
                    "backreferences (\\\(c)) are not supported (matching must stay linear); capture the text with a named group and compare it in another field",
                    at: start)
            case "b", "B":
                if inClass {
                    throw fail("\\\(c) is not supported inside a class; write \\x08 for a backspace", at: start)
                }
                throw fail("word boundaries \\\(c) are not supported", at: start)
            case "p", "P":
                throw fail(
                    "Unicode property classes \\\(c){...} are not supported; write the ranges explicitly, e.g. [A-Za-z] or [[:alpha:]]",
                    at: start)
            case "0":
                throw fail("\\0 is not supported; write \\x00 for the NUL character", at: start)
            case "A", "z":
                throw fail("anchors \\\(c) cannot be used inside a class", at: start)
            default:
                if c.isASCII && !c.properties.isAlphabetic && !(c >= "0" && c <= "9") && c.value >= 0x20
                    && c.value < 0x7F
                {
                    return .scalar(c.value)  // escaped punctuation or space
                }
                if !c.isASCII {
                    throw fail("unknown escape '\\\(c)': write the character without a backslash", at: start)
                }
                throw fail(
                    "unknown escape '\\\(c)'; supported escapes are \\d \\D \\w \\W \\s \\S \\n \\t \\r \\f \\v \\xHH \\x{H...} \\u{H...} \\A \\z and escaped punctuation such as \\. or \\\\",
                    at: start)
            }
        }

        /// Parses the hex digits after `\x` or `\u` (i is just past the letter).
        mutating func parseHexEscape(start: Int, kind: Unicode.Scalar) throws(RegexSyntaxError) -> UInt32 {
            func hexValue(_ c: Unicode.Scalar) -> UInt32? {
                switch c {
                case "0"..."9": return c.value - 48
                case "a"..."f": return c.value - 97 + 10
                case "A"..."F": return c.value - 65 + 10
                default: return nil
                }
            }
            let usage =
                kind == "x"
                ? "write \\xHH with two hex digits or \\x{H...}" : "write \\uHHHH with four hex digits or \\u{H...}"
            var value: UInt32 = 0
            if peek() == "{" {
                i += 1
                var digits = 0
                while let c = peek(), let h = hexValue(c) {
                    if digits >= 6 { throw fail("hex escape has too many digits; \(usage)", at: start) }
                    value = value * 16 + h
                    digits += 1
                    i += 1
                }
                guard digits > 0, peek() == "}" else {
                    throw fail("malformed hex escape; \(usage)", at: start)
                }
                i += 1
            } else {
                let need = kind == "x" ? 2 : 4
                for _ in 0..<need {
                    guard let c = peek(), let h = hexValue(c) else {
                        throw fail("malformed hex escape; \(usage)", at: start)
                    }
                    value = value * 16 + h
                    i += 1
                }
            }
            guard Unicode.Scalar(value) != nil else {
                throw fail(
                    "\\\(kind) escape U+\(String(value, radix: 16, uppercase: true)) is not a Unicode scalar value (surrogates and values above 10FFFF are not allowed)",
                    at: start)
            }
            return value
        }

        // MARK: Classes

        static let digit = ScalarClass(normalized: [0x30...0x39])
        static let anyButNewline = ScalarClass(normalized: [0...0x09, 0x0B...0xD7FF, 0xE000...0x10FFFF])
        static let word = ScalarClass(normalized: [0x30...0x39, 0x41...0x5A, 0x5F...0x5F, 0x61...0x7A])
        static let space = ScalarClass(normalized: [0x09...0x0D, 0x20...0x20])

        static func posixClass(_ name: String) -> ScalarClass? {
            switch name {
            case "alnum": return ScalarClass(ranges: [0x30...0x39, 0x41...0x5A, 0x61...0x7A])
            case "alpha": return ScalarClass(ranges: [0x41...0x5A, 0x61...0x7A])
            case "ascii": return ScalarClass(ranges: [0x00...0x7F])
            case "blank": return ScalarClass(ranges: [0x09...0x09, 0x20...0x20])
            case "cntrl": return ScalarClass(ranges: [0x00...0x1F, 0x7F...0x7F])
            case "digit": return digit
            case "graph": return ScalarClass(ranges: [0x21...0x7E])
            case "lower": return ScalarClass(ranges: [0x61...0x7A])
            case "print": return ScalarClass(ranges: [0x20...0x7E])
            case "punct": return ScalarClass(ranges: [0x21...0x2F, 0x3A...0x40, 0x5B...0x60, 0x7B...0x7E])
            case "space": return space
            case "upper": return ScalarClass(ranges: [0x41...0x5A])
            case "word": return word
            case "xdigit": return ScalarClass(ranges: [0x30...0x39, 0x41...0x46, 0x61...0x66])
            default: return nil
            }
        }

        mutating func parseClass() throws(RegexSyntaxError) -> ScalarClass {
            let open = i
            i += 1
            var negated = false
            if peek() == "^" {
                negated = true
                i += 1
            }
            if peek() == "]" {
                throw fail("empty character class '[]' matches nothing; to match ']' escape it, e.g. [\\]a]", at: open)
            }
            var ranges: [ClosedRange<UInt32>] = []
            while true {
                guard let c = peek() else {
                    throw fail(
                        "unbalanced bracket: this '[' is never closed; add ']' or write \\[ to match a literal '['",
                        at: open)
                }
                if c == "]" {
                    i += 1
                    break
                }
                let itemStart = i
                let item = try parseClassItem()
                switch item {
                case .set(let cls):
                    if peek() == "-", let after = peek(1), after != "]" {
                        throw fail(
                            "a class such as \\d or [:alpha:] cannot be a range endpoint; write '\\-' for a literal '-'",
                            at: itemStart)
                    }
                    ranges.append(contentsOf: cls.ranges)
                case .scalar(let lo):
                    if peek() == "-", let after = peek(1), after != "]" {
                        i += 1
                        let hiStart = i
                        guard case .scalar(let hi) = try parseClassItem() else {
                            throw fail(
                                "a class such as \\d or [:alpha:] cannot be a range endpoint; write '\\-' for a literal '-'",
                                at: hiStart)
                        }
                        if hi < lo {
                            let a = String(Character(Unicode.Scalar(lo)!))
                            let b = String(Character(Unicode.Scalar(hi)!))
                            throw fail("reversed range \(a)-\(b) in class: write \(b)-\(a)", at: itemStart)
                        }
                        ranges.append(lo...hi)
                    } else {
                        ranges.append(lo...lo)
                    }
                }
            }
            var cls = folded(ScalarClass(ranges: ranges))
            if negated { cls = cls.inverted() }
            return cls
        }

        mutating func parseClassItem() throws(RegexSyntaxError) -> ClassItem {
            let c = s[i]
            if c == "\\" { return try parseEscapeItem(inClass: true) }
            if c == "[", peek(1) == ":" {
                // POSIX class [:name:] or [:^name:]
                var k = i + 2
                while k + 1 < s.count, !(s[k] == ":" && s[k + 1] == "]"), s[k] != "]" { k += 1 }
                if k + 1 < s.count, s[k] == ":", s[k + 1] == "]" {
                    var name = ""
                    name.unicodeScalars.append(contentsOf: s[(i + 2)..<k])
                    var negate = false
                    if name.hasPrefix("^") {
                        negate = true
                        name.removeFirst()
                    }
                    guard let cls = Self.posixClass(name) else {
                        throw fail(
                            "unknown POSIX class [:\(name):]; known ones are alnum alpha ascii blank cntrl digit graph lower print punct space upper word xdigit",
                            at: i)
                    }
                    i = k + 2
                    let f = folded(cls)
                    return .set(negate ? f.inverted() : f)
                }
            }
            i += 1
            return .scalar(c.value)
        }
    }
}
