/// Field matchers: patterns, operators and their combinations (`not`, `anyOf`, `allOf`).
extension RuleFileParser {
    static let operatorKeys = [
        "exact", "glob", "prefix", "suffix", "regex", "exists", "lt", "le", "gt", "ge", "eq",
        "not", "anyOf", "allOf", "ignoreCase",
    ]

    /// What identifies a compiled pattern in ``RuleFileParser/patterns``.
    struct PatternKey: Hashable {
        var kind: StringPattern.Kind
        var source: String
        var ignoreCase: Bool
    }

    mutating func parseMatcher(_ node: YAMLNode, field: String, isData: Bool) -> FieldMatcher? {
        switch node.kind {
        case .scalar:
            if node.isNull {
                diagnostics.error(
                    .emptyMatcher,
                    "`\(field)` has no value; write a pattern, or `{ exists: false }` to require that the field is absent",
                    at: node.location)
                return nil
            }
            return pattern(.glob, node, ignoreCase: false)
        case .sequence(let items):
            if items.isEmpty {
                diagnostics.error(
                    .emptyMatcher, "`\(field)` is an empty list, which matches nothing; list at least one pattern",
                    at: node.location)
                return nil
            }
            let ms = items.compactMap { parseMatcher($0, field: field, isData: isData) }
            return ms.count == items.count ? .anyOf(ms) : nil
        case .mapping(let pairs):
            if pairs.isEmpty {
                diagnostics.error(
                    .emptyMatcher, "`\(field)` has an empty mapping; give an operator such as `{ prefix: \"…\" }`",
                    at: node.location)
                return nil
            }
            var ignoreCase = false
            var stringOperators: [String] = []
            if let ic = node["ignoreCase"] { ignoreCase = bool(ic, "`ignoreCase`") ?? false }
            var parts: [FieldMatcher] = []
            var ok = true
            for (key, value) in pairs {
                guard let op = key.scalar else {
                    ok = false
                    continue
                }
                switch op {
                case "ignoreCase":
                    continue
                case "exact", "glob", "prefix", "suffix", "regex":
                    stringOperators.append(op)
                    guard value.scalar != nil, !value.isNull else {
                        diagnostics.error(
                            .wrongType, "`\(op)` takes a string, found \(value.kindDescription)", at: value.location)
                        ok = false
                        continue
                    }
                    if op == "regex", ignoreCase {
                        diagnostics.error(
                            .misplacedIgnoreCase,
                            "`ignoreCase` does not apply to `regex`; start the regex with `(?i)` instead",
                            at: node["ignoreCase"]!.location)
                        ok = false
                    }
                    if let p = pattern(
                        StringPattern.Kind(rawValue: op)!, value, ignoreCase: ignoreCase && op != "regex")
                    {
                        parts.append(p)
                    } else {
                        ok = false
                    }
                case "exists":
                    if let b = bool(value, "`exists`") { parts.append(.exists(b)) } else { ok = false }
                case "lt", "le", "gt", "ge", "eq":
                    if let text = value.scalar, !value.isNull, let n = DecimalNumber.parse(text) {
                        parts.append(.numeric(FieldMatcher.NumericComparison(rawValue: op)!, n))
                    } else {
                        diagnostics.error(
                            .invalidNumber,
                            "`\(op)` takes a decimal number such as `0` or `2.5`, found \(value.scalar.map { "`\($0)`" } ?? value.kindDescription)",
                            at: value.location)
                        ok = false
                    }
                case "not":
                    if let inner = parseMatcher(value, field: field, isData: isData) {
                        if let name = inner.captureNames.first {
                            diagnostics.error(
                                .invalidCapture, "capture `\(name)` inside `not` can never bind; capture outside `not`",
                                at: value.location)
                            ok = false
                        }
                        parts.append(.not(inner))
                    } else {
                        ok = false
                    }
                case "anyOf", "allOf":
                    guard let items = value.sequence else {
                        diagnostics.error(
                            .wrongType, "`\(op)` takes a list of matchers, found \(value.kindDescription)",
                            at: value.location)
                        ok = false
                        continue
                    }
                    if items.isEmpty {
                        diagnostics.error(
                            .emptyMatcher, "`\(op)` is empty; list at least one matcher", at: value.location)
                        ok = false
                        continue
                    }
                    let ms = items.compactMap { parseMatcher($0, field: field, isData: isData) }
                    if ms.count == items.count {
                        parts.append(op == "anyOf" ? .anyOf(ms) : .allOf(ms))
                    } else {
                        ok = false
                    }
                default:
                    var message = "unknown operator `\(op)`" + Suggestions.hint(for: op, in: Self.operatorKeys)
                    if isData, !Self.operatorKeys.contains(op) {
                        message += " (to match a nested field write its dotted path, `\(field).\(op)`)"
                    }
                    diagnostics.error(.unknownOperator, message, at: key.location)
                    ok = false
                }
            }
            if ignoreCase, !stringOperators.contains(where: { $0 != "regex" }), node["ignoreCase"] != nil, ok {
                diagnostics.error(
                    .misplacedIgnoreCase, "`ignoreCase` goes beside `exact`, `glob`, `prefix` or `suffix`",
                    at: node["ignoreCase"]!.location)
                ok = false
            }
            guard ok else { return nil }
            if parts.isEmpty {
                diagnostics.error(
                    .emptyMatcher, "`\(field)` has only `ignoreCase`; add `exact`, `glob`, `prefix` or `suffix`",
                    at: node.location)
                return nil
            }
            return parts.count == 1 ? parts[0] : .allOf(parts)
        }
    }

    mutating func pattern(_ kind: StringPattern.Kind, _ node: YAMLNode, ignoreCase: Bool) -> FieldMatcher? {
        let text = node.scalar ?? ""
        let key = PatternKey(kind: kind, source: text, ignoreCase: ignoreCase)
        if let known = patterns[key] { return .pattern(known) }
        do {
            let p = try StringPattern(kind: kind, source: text, ignoreCase: ignoreCase)
            patterns[key] = p
            return .pattern(p)
        } catch {
            let code: DiagnosticCode = kind == .regex ? .invalidRegex : .invalidGlob
            diagnostics.error(code, error.message, at: contentLocation(node).advanced(byColumns: error.offset))
            return nil
        }
    }
}
