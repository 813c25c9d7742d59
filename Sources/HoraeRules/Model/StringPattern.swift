/// A string condition: `exact`, `glob` (also plain strings), `prefix`, `suffix` or `regex`,
/// compiled once at load time. Matching is always on the whole value and linear in its length.
///
/// A class, so that the matcher's hot loop retains one reference per condition instead of
/// copying every field of the pattern.
public final class StringPattern: Sendable {
    public enum Kind: String, Sendable, CaseIterable {
        case exact, glob, prefix, suffix, regex
    }

    public let kind: Kind
    /// The text as written in the rule.
    public let source: String
    public let ignoreCase: Bool
    /// The language the pattern accepts, as a whole-string regex. Plain comparisons (most
    /// attribute values) keep no tree: it is rebuilt from `source` when asked for.
    public var node: RegexNode { parsedNode ?? StringPattern.literalNode(kind, source) }
    public let captureNames: [String]
    /// How `match` decides: plain byte comparisons where the pattern allows, else the automaton.
    let strategy: Strategy
    /// The bytes compared by `equals`, `hasPrefix` and `hasSuffix` (empty for `automaton`).
    let literal: [UInt8]
    /// The automaton (nil for the byte comparisons).
    let regex: CompiledRegex?
    /// `node` for patterns that use the automaton.
    private let parsedNode: RegexNode?

    enum Strategy: UInt8, Sendable {
        case equals, hasPrefix, hasSuffix, automaton
    }

    /// Builds a pattern; throws the syntax error of a glob or regex with its offset in `source`.
    public init(kind: Kind, source: String, ignoreCase: Bool = false) throws(PatternError) {
        self.kind = kind
        self.source = source
        self.ignoreCase = ignoreCase
        if !ignoreCase {
            // Byte comparisons: `exact`, `prefix`, `suffix`, and globs without metacharacters
            // (which are exact matches, docs/rules.md, "Matchers").
            let plain: Strategy?
            switch kind {
            case .exact: plain = .equals
            case .prefix: plain = .hasPrefix
            case .suffix: plain = .hasSuffix
            case .glob: plain = StringPattern.hasGlobMetacharacters(source) ? nil : .equals
            case .regex: plain = nil
            }
            if let plain {
                strategy = plain
                literal = Array(source.utf8)
                captureNames = []
                regex = nil
                parsedNode = nil
                return
            }
        }
        var node: RegexNode
        switch kind {
        case .exact, .prefix, .suffix:
            node = StringPattern.literalNode(kind, source)
        case .glob:
            do { node = try GlobParser.parse(source) } catch {
                throw PatternError(message: error.message, offset: error.offset)
            }
        case .regex:
            do { node = try RegexParser.parse(source) } catch {
                throw PatternError(message: error.message, offset: error.offset)
            }
        }
        if ignoreCase { node = node.caseInsensitive() }
        parsedNode = node
        captureNames = node.captureNames
        if kind == .glob && !ignoreCase && captureNames.isEmpty, let exact = node.exactString {
            (strategy, literal, regex) = (.equals, Array(exact.utf8), nil)
            return
        }
        (strategy, literal) = (.automaton, [])
        do { regex = try CompiledRegex(node) } catch { throw PatternError(message: error.message, offset: 0) }
    }

    /// The tree of an `exact`, `prefix` or `suffix` pattern, or of a glob without metacharacters.
    private static func literalNode(_ kind: Kind, _ source: String) -> RegexNode {
        let text: [RegexNode] = source.unicodeScalars.map { .literal($0) }
        let any = RegexNode.repeat(.scalarClass(.any), min: 0, max: nil, greedy: true)
        switch kind {
        case .prefix: return .concat(text + [any])
        case .suffix: return .concat([any] + text)
        default: return .concat(text)
        }
    }

    /// Whether a glob has any metacharacter (`*?[]{}\`; all ASCII, so bytes will do).
    static func hasGlobMetacharacters(_ source: String) -> Bool {
        source.utf8.contains { c in
            switch c {
            case UInt8(ascii: "*"), UInt8(ascii: "?"), UInt8(ascii: "["), UInt8(ascii: "]"),
                UInt8(ascii: "{"), UInt8(ascii: "}"), UInt8(ascii: "\\"):
                return true
            default: return false
            }
        }
    }

    /// The exact text this pattern accepts, when it accepts exactly one (indexable by hash).
    public var exactValue: String? {
        strategy == .equals ? String(decoding: literal, as: UTF8.self) : nil
    }

    /// Whether this pattern is a plain byte comparison without captures (cheap enough to try
    /// first when rejecting candidates).
    var isEquality: Bool { strategy == .equals }

    /// Matches `value`; binds captures into `captures` (failing when they disagree with bound ones).
    public func match(_ value: String, captures: inout CaptureSet) -> Bool {
        var value = value
        return value.withUTF8 { buf in match(buf, captures: &captures) }
    }

    func match(_ buf: UnsafeBufferPointer<UInt8>, captures: inout CaptureSet) -> Bool {
        guard let regex else { return matchesLiteral(buf) }
        if captureNames.isEmpty { return regex.matches(buf) }
        guard let groups = regex.captures(buf) else { return false }
        let mark = captures.count
        for (i, range) in groups.enumerated() {
            guard let range else { continue }
            let text = String(decoding: UnsafeBufferPointer(rebasing: buf[range]), as: UTF8.self)
            if !captures.bind(regex.captureNames[i], text) {
                captures.truncate(to: mark)
                return false
            }
        }
        return true
    }

    /// The byte comparison of `equals`, `hasPrefix` and `hasSuffix` (false for `automaton`).
    @inline(__always)
    func matchesLiteral(_ buf: UnsafeBufferPointer<UInt8>) -> Bool {
        literal.withUnsafeBufferPointer { b in
            switch strategy {
            case .equals: return buf.count == b.count && bytesEqual(b.baseAddress, buf.baseAddress, b.count)
            case .hasPrefix: return buf.count >= b.count && bytesEqual(b.baseAddress, buf.baseAddress, b.count)
            case .hasSuffix:
                return buf.count >= b.count
                    && bytesEqual(b.baseAddress, buf.baseAddress.map { $0 + (buf.count - b.count) }, b.count)
            case .automaton: return false
            }
        }
    }
}

/// A glob or regex that does not parse, with the offset of the problem in the pattern text.
public struct PatternError: Error, Sendable, Hashable {
    public var message: String
    public var offset: Int
}
