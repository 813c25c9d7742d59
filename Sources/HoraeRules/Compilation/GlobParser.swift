/// Parses glob patterns (docs/rules.md, "Globs") into the regex AST, so that globs and `regex:`
/// share one linear-time engine.
///
/// `*`-like captures are lazy: when a pattern can capture in several ways, the leftmost capture
/// takes the shortest text that still lets the whole pattern match ("leftmost-shortest").
/// `{name:REGEX}` captures keep the regex's own greediness.
public enum GlobParser {
    public struct SyntaxError: Error, Sendable, Hashable {
        public var message: String
        /// 0-based offset, in characters, into the pattern text.
        public var offset: Int
    }

    public static func parse(_ pattern: String) throws(SyntaxError) -> RegexNode {
        var parser = Parser(chars: Array(pattern.unicodeScalars), allowCaptures: true)
        let node = try parser.parseSequence(until: nil)
        return node
    }

    /// Whether `text` has any glob metacharacter (else a glob is an exact match).
    public static func hasMetacharacters(_ text: String) -> Bool {
        text.unicodeScalars.contains { "*?[]{}\\".unicodeScalars.contains($0) }
    }

    static let notSlash = ScalarClass.any.subtracting(.of("/"))

    private struct Parser {
        let chars: [Unicode.Scalar]
        var pos = 0
        let allowCaptures: Bool
        var captureNames: Set<String> = []
        var base = 0  // offset of chars[0] in the whole pattern, for error positions
        /// For an alternative of `{…,…}`: whether the text before / after it ends / starts a
        /// path segment, and whether a `/` follows it. An alternative is a segment of the whole
        /// pattern only where its brace expansion would be one (docs/rules.md, "Globs").
        var startsSegment = true
        var endsSegment = true
        var followedBySlash = false

        init(chars: [Unicode.Scalar], allowCaptures: Bool, base: Int = 0) {
            self.chars = chars
            self.allowCaptures = allowCaptures
            self.base = base
        }

        func error(_ message: String, at offset: Int) -> SyntaxError {
            SyntaxError(message: message, offset: base + offset)
        }

        /// True when position `i` is at the start of a path segment.
        func segmentStart(_ i: Int) -> Bool { i == 0 ? startsSegment : chars[i - 1] == "/" }
        /// True when position `i` is at the end of a path segment.
        func segmentEnd(_ i: Int) -> Bool { i == chars.count ? endsSegment : chars[i] == "/" }

        mutating func parseSequence(until terminator: Unicode.Scalar?) throws(SyntaxError) -> RegexNode {
            var items: [RegexNode] = []
            while pos < chars.count {
                let c = chars[pos]
                if let terminator, c == terminator { break }
                switch c {
                case "*":
                    let start = pos
                    if pos + 1 < chars.count, chars[pos + 1] == "*" {
                        pos += 2
                        if pos < chars.count, chars[pos] == "*" {
                            throw error(
                                "`***` is not a pattern; use `**` for any number of path segments or `*` within one",
                                at: start)
                        }
                        try appendSegmentSpan(into: &items, start: start, capture: nil)
                    } else {
                        pos += 1
                        items.append(.repeat(.scalarClass(GlobParser.notSlash), min: 0, max: nil, greedy: false))
                    }
                case "?":
                    pos += 1
                    items.append(.scalarClass(GlobParser.notSlash))
                case "[":
                    items.append(try parseClass())
                case "{":
                    try parseBrace(into: &items)
                case "}":
                    throw error("unmatched `}`; write `\\}` to match a brace", at: pos)
                case "]":
                    throw error("unmatched `]`; write `\\]` to match a bracket", at: pos)
                case "\\":
                    guard pos + 1 < chars.count else {
                        throw error("the pattern ends with a lone `\\`; write `\\\\` to match a backslash", at: pos)
                    }
                    items.append(.literal(chars[pos + 1]))
                    pos += 2
                default:
                    items.append(.literal(c))
                    pos += 1
                }
            }
            return items.count == 1 ? items[0] : (items.isEmpty ? .empty : .concat(items))
        }

        /// `**` (or `{name:**}`) that started at `start` and ended at `pos`: whole segments only.
        mutating func appendSegmentSpan(into items: inout [RegexNode], start: Int, capture: String?) throws(SyntaxError)
        {
            let what = capture.map { "`{\($0):**}`" } ?? "`**`"
            guard segmentStart(start), segmentEnd(pos) else {
                throw error(
                    "\(what) must be a whole path segment, as in `a/**/b`, `**/x` or `a/**`; use `*` to match within a segment",
                    at: start)
            }
            if pos == chars.count && followedBySlash {
                // `x/{a,**}/y` would have to take the `/` after the brace into the alternative.
                throw error(
                    "\(what) at the end of an alternative must also end the pattern; move what follows the `}` into each alternative, as in `{a/y,**/y}`",
                    at: start)
            }
            let any = RegexNode.repeat(.scalarClass(.any), min: 0, max: nil, greedy: false)
            let wrap: (RegexNode) -> RegexNode = { node in capture.map { .capture(name: $0, node) } ?? node }
            if pos < chars.count {
                // Followed by `/`: zero or more whole segments, each with its slash.
                pos += 1
                let segments = RegexNode.repeat(
                    .concat([.repeat(.scalarClass(GlobParser.notSlash), min: 0, max: nil, greedy: true), .literal("/")]
                    ), min: 0, max: nil, greedy: false)
                if let capture {
                    // The capture holds the segments without the final slash; empty when there are none.
                    items.append(
                        .repeat(.concat([.capture(name: capture, any), .literal("/")]), min: 0, max: 1, greedy: true))
                } else {
                    items.append(segments)
                }
            } else {
                items.append(wrap(any))
            }
        }

        mutating func parseClass() throws(SyntaxError) -> RegexNode {
            let start = pos
            pos += 1
            var negated = false
            if pos < chars.count, chars[pos] == "!" || chars[pos] == "^" {
                negated = true
                pos += 1
            }
            var ranges: [ClosedRange<UInt32>] = []
            var first = true
            while true {
                guard pos < chars.count else {
                    throw error(
                        "unterminated character class `[`; close it with `]` or write `\\[` to match a bracket",
                        at: start)
                }
                var c = chars[pos]
                if c == "]" && !first {
                    pos += 1
                    break
                }
                first = false
                if c == "\\" {
                    guard pos + 1 < chars.count else {
                        throw error("unterminated character class `[`; close it with `]`", at: start)
                    }
                    pos += 1
                    c = chars[pos]
                }
                pos += 1
                var hi = c
                if pos + 1 < chars.count, chars[pos] == "-", chars[pos + 1] != "]" {
                    var h = chars[pos + 1]
                    var width = 2
                    if h == "\\", pos + 2 < chars.count {
                        h = chars[pos + 2]
                        width = 3
                    }
                    guard h.value >= c.value else {
                        throw error("the range `\(c)-\(h)` is reversed; write `\(h)-\(c)`", at: pos - 1)
                    }
                    hi = h
                    pos += width
                }
                ranges.append(c.value...hi.value)
            }
            var set = ScalarClass(ranges: ranges)
            if negated { set = set.inverted() }
            set = set.subtracting(.of("/"))
            if set.ranges.isEmpty {
                throw error("this character class matches nothing (a class never matches `/`)", at: start)
            }
            return .scalarClass(set)
        }

        mutating func parseBrace(into items: inout [RegexNode]) throws(SyntaxError) {
            let start = pos
            // Find the matching close brace, honouring escapes and nesting.
            var depth = 0
            var i = pos
            var end: Int?
            var topLevelComma = false
            while i < chars.count {
                let c = chars[i]
                if c == "\\" {
                    i += 2
                    continue
                }
                if c == "{" { depth += 1 }
                if c == "}" {
                    depth -= 1
                    if depth == 0 {
                        end = i
                        break
                    }
                }
                if c == ",", depth == 1 { topLevelComma = true }
                i += 1
            }
            guard let end else {
                throw error("unterminated `{`; close it with `}` or write `\\{` to match a brace", at: start)
            }
            let body = Array(chars[(start + 1)..<end])
            let bodyText = String(String.UnicodeScalarView(body))
            // `{name}`, `{name:**}`, `{name:REGEX}`
            var nameEnd = 0
            while nameEnd < body.count, isNameChar(body[nameEnd], first: nameEnd == 0) { nameEnd += 1 }
            let hasName = nameEnd > 0
            if hasName, nameEnd == body.count || body[nameEnd] == ":" {
                let name = String(String.UnicodeScalarView(body[0..<nameEnd]))
                guard allowCaptures else {
                    throw error(
                        "captures are not allowed inside an alternation; capture the whole `{…,…}` with `{\(name):(a|b)}`",
                        at: start)
                }
                guard captureNames.insert(name).inserted else {
                    throw error(
                        "capture `\(name)` appears twice in this pattern; use it once here and repeat it in another field to require equal text",
                        at: start)
                }
                pos = end + 1
                if nameEnd == body.count {
                    items.append(
                        .capture(
                            name: name, .repeat(.scalarClass(GlobParser.notSlash), min: 0, max: nil, greedy: false)))
                    return
                }
                let regexText = String(bodyText.unicodeScalars.dropFirst(nameEnd + 1))
                if regexText == "**" {
                    try appendSegmentSpan(into: &items, start: start, capture: name)
                    return
                }
                guard !regexText.isEmpty else {
                    throw error("`{\(name):}` has an empty regex; write `{\(name)}` to capture like `*`", at: start)
                }
                let regex: RegexNode
                do {
                    regex = try RegexParser.parse(regexText)
                } catch {
                    throw self.error(error.message, at: start + 1 + nameEnd + 1 + error.offset)
                }
                for inner in regex.captureNames where !captureNames.insert(inner).inserted {
                    throw self.error("capture `\(inner)` appears twice in this pattern", at: start)
                }
                items.append(.capture(name: name, regex))
                return
            }
            guard topLevelComma else {
                throw error(
                    "`{\(bodyText)}` is neither a capture (`{name}`, `{name:REGEX}`) nor an alternation (`{a,b}`); write `\\{` to match a brace",
                    at: start)
            }
            // Alternation: split at top-level commas and parse each alternative without captures.
            var alternatives: [RegexNode] = []
            var partStart = start + 1
            var j = start + 1
            var d = 0
            while j <= end {
                let c = chars[j]
                if c == "\\" {
                    j += 2
                    continue
                }
                if c == "{" { d += 1 }
                if c == "}" { if d == 0 {} else { d -= 1 } }
                if (c == "," && d == 0) || j == end {
                    var sub = Parser(chars: Array(chars[partStart..<j]), allowCaptures: false, base: base + partStart)
                    sub.startsSegment = segmentStart(start)
                    sub.endsSegment = segmentEnd(end + 1)
                    sub.followedBySlash =
                        end + 1 < chars.count ? chars[end + 1] == "/" : followedBySlash && end + 1 == chars.count
                    alternatives.append(try sub.parseSequence(until: nil))
                    partStart = j + 1
                }
                j += 1
            }
            pos = end + 1
            items.append(.group(.alternation(alternatives)))
        }

        func isNameChar(_ c: Unicode.Scalar, first: Bool) -> Bool {
            switch c {
            case "a"..."z", "A"..."Z", "_": return true
            case "0"..."9": return !first
            default: return false
            }
        }
    }
}
