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
    /// The language the pattern accepts, as a whole-string regex.
    public let node: RegexNode
    public let captureNames: [String]
    /// How `match` decides: plain byte comparisons where the pattern allows, else the automaton.
    let strategy: Strategy


    enum Strategy: Sendable {
        case equals([UInt8])
        case hasPrefix([UInt8])
        case hasSuffix([UInt8])
        case automaton(CompiledRegex)
    }

    /// Builds a pattern; throws the syntax error of a glob or regex with its offset in `source`.
    public init(kind: Kind, source: String, ignoreCase: Bool = false) throws(PatternError) {
        self.kind = kind
        self.source = source
        self.ignoreCase = ignoreCase
        var node: RegexNode
        switch kind {
        case .exact:
            node = .concat(source.unicodeScalars.map { .literal($0) })
        case .prefix:
            node = .concat(source.unicodeScalars.map { .literal($0) } + [.repeat(.scalarClass(.any), min: 0, max: nil, greedy: true)])
        case .suffix:
            node = .concat([.repeat(.scalarClass(.any), min: 0, max: nil, greedy: true)] + source.unicodeScalars.map { .literal($0) })
        case .glob:
            do { node = try GlobParser.parse(source) } catch { throw PatternError(message: error.message, offset: error.offset) }
        case .regex:
            do { node = try RegexParser.parse(source) } catch { throw PatternError(message: error.message, offset: error.offset) }
        }
        if ignoreCase { node = node.caseInsensitive() }
        self.node = node
        self.captureNames = node.captureNames
        let bytes = Array(source.utf8)
        switch kind {
        case .exact where !ignoreCase: strategy = .equals(bytes)
        case .prefix where !ignoreCase: strategy = .hasPrefix(bytes)
        case .suffix where !ignoreCase: strategy = .hasSuffix(bytes)
        case .glob where !ignoreCase && captureNames.isEmpty && node.exactString != nil:
            strategy = .equals(Array(node.exactString!.utf8))
        default:
            do { strategy = .automaton(try CompiledRegex(node)) } catch { throw PatternError(message: error.message, offset: 0) }
        }
    }

    /// The exact text this pattern accepts, when it accepts exactly one (indexable by hash).
    public var exactValue: String? {
        if case let .equals(bytes) = strategy { return String(decoding: bytes, as: UTF8.self) }
        return nil
    }

    /// Whether this pattern is a plain byte comparison without captures (cheap enough to try
    /// first when rejecting candidates).
    var isEquality: Bool {
        if case .equals = strategy { return true }
        return false
    }

    /// Matches `value`; binds captures into `captures` (failing when they disagree with bound ones).
    
    public func match(_ value: String, captures: inout CaptureSet) -> Bool {
        var value = value
        return value.withUTF8 { buf in match(buf, captures: &captures) }
    }

    func match(_ buf: UnsafeBufferPointer<UInt8>, captures: inout CaptureSet) -> Bool {
        switch strategy {
            case let .equals(b):
                return buf.count == b.count && b.withUnsafeBufferPointer { memoryEqual($0, buf, count: b.count) }
            case let .hasPrefix(b):
                return buf.count >= b.count && b.withUnsafeBufferPointer { memoryEqual($0, buf, count: b.count) }
            case let .hasSuffix(b):
                return buf.count >= b.count && b.withUnsafeBufferPointer {
                    memoryEqual($0, UnsafeBufferPointer(rebasing: buf[(buf.count - b.count)...]), count: b.count)
                }
            case let .automaton(regex):
                if captureNames.isEmpty { return regex.matches(buf) }
                guard regex.matches(buf), let groups = regex.captures(buf) else { return false }
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
    }
}

func memoryEqual(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>, count: Int) -> Bool {
    var i = 0
    while i < count {
        if a[i] != b[i] { return false }
        i += 1
    }
    return true
}

/// A glob or regex that does not parse, with the offset of the problem in the pattern text.
public struct PatternError: Error, Sendable, Hashable {
    public var message: String
    public var offset: Int
}
