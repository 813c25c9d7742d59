/// What a field's value must satisfy (docs/rules.md, "Matchers").
public indirect enum FieldMatcher: Sendable {
    /// `exact`, `glob`, `prefix`, `suffix`, `regex` (and plain strings, which are globs).
    case pattern(StringPattern)
    /// `exists: true|false`.
    case exists(Bool)
    /// `lt`, `le`, `gt`, `ge`, `eq`: the value parsed as a decimal number.
    case numeric(NumericComparison, Double)
    case not(FieldMatcher)
    /// A YAML list or `anyOf:`: the first alternative that holds wins (and gives the captures).
    case anyOf([FieldMatcher])
    /// Several operator keys in one mapping, or `allOf:`.
    case allOf([FieldMatcher])

    public enum NumericComparison: String, Sendable, CaseIterable {
        case lt, le, gt, ge, eq
    }

    /// Capture names this matcher can bind.
    public var captureNames: [String] {
        switch self {
        case .pattern(let p): return p.captureNames
        case .exists, .numeric, .not: return []
        case .anyOf(let ms), .allOf(let ms): return ms.flatMap(\.captureNames)
        }
    }

    /// Whether a value that satisfies the matcher must be present (used to warn about templates
    /// that reference attributes the rule does not guarantee).
    public var requiresPresence: Bool {
        switch self {
        case .pattern, .numeric: return true
        case .exists(let e): return e
        case .not: return false
        case .anyOf(let ms): return !ms.isEmpty && ms.allSatisfy(\.requiresPresence)
        case .allOf(let ms): return ms.contains(where: \.requiresPresence)
        }
    }
}

extension FieldMatcher {
    /// Evaluates the matcher on a value (nil: the field is absent). Captures are appended to
    /// `captures`; a capture that disagrees with one already bound makes the match fail.
    /// On failure `captures` is restored to what it was.

    package func evaluate(_ value: String?, captures: inout CaptureSet) -> Bool {
        switch self {
        case .pattern(let p):
            guard let value else { return false }
            return p.match(value, captures: &captures)
        case .exists(let e):
            return (value != nil) == e
        case .numeric(let op, let bound):
            guard let value, let x = DecimalNumber.parse(value) else { return false }
            switch op {
            case .lt: return x < bound
            case .le: return x <= bound
            case .gt: return x > bound
            case .ge: return x >= bound
            case .eq: return x == bound
            }
        case .not(let inner):
            var scratch = captures
            return !inner.evaluate(value, captures: &scratch)
        case .anyOf(let ms):
            for m in ms where m.evaluate(value, captures: &captures) { return true }
            return false
        case .allOf(let ms):
            let mark = captures.count
            for m in ms where !m.evaluate(value, captures: &captures) {
                captures.truncate(to: mark)
                return false
            }
            return true
        }
    }
}

/// Strict decimal numbers: `-12`, `3.5`, `1e3`; not `nan`, `inf`, hex or empty text.
package enum DecimalNumber {
    package static func parse(_ s: String) -> Double? {
        var u = s.utf8[...]
        if u.first == UInt8(ascii: "-") || u.first == UInt8(ascii: "+") { u = u.dropFirst() }
        func digits(_ u: inout Substring.UTF8View.SubSequence) -> Int {
            var n = 0
            while let c = u.first, c >= 48, c <= 57 {
                u = u.dropFirst()
                n += 1
            }
            return n
        }
        let intDigits = digits(&u)
        var fracDigits = 0
        if u.first == UInt8(ascii: ".") {
            u = u.dropFirst()
            fracDigits = digits(&u)
        }
        guard intDigits + fracDigits > 0 else { return nil }
        if u.first == UInt8(ascii: "e") || u.first == UInt8(ascii: "E") {
            u = u.dropFirst()
            if u.first == UInt8(ascii: "-") || u.first == UInt8(ascii: "+") { u = u.dropFirst() }
            guard digits(&u) > 0 else { return nil }
        }
        guard u.isEmpty else { return nil }
        return Double(s)
    }
}
