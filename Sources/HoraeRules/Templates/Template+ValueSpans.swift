extension Template {
    /// Which parts of `rendered` (this template's output) the expressions wrote, in order; nil
    /// when `rendered` cannot be this template's output.
    ///
    /// The rule's literal text is matched from left to right, each literal at its first
    /// occurrence after the previous one (past as many occurrences as the expression's filters
    /// write for a harmless value), the last at the end. When a value happens to repeat the
    /// literal text that follows it, the split can differ from the real one; it is still a split
    /// the template could have produced, so a check that passes on every span passes for values
    /// that would have rendered the same string. This is the one place that tells values from the
    /// rule's text; checks of URLs, source URIs and topic names build on it.
    public func valueSpans(in rendered: String) -> [TemplateValueSpan]? {
        if isLiteral { return rendered == source ? [] : nil }
        guard rendered.hasPrefix(literals[0]) else { return nil }
        var position = rendered.utf8.index(rendered.startIndex, offsetBy: literals[0].utf8.count)
        var spans: [TemplateValueSpan] = []
        spans.reserveCapacity(expressions.count)
        for (index, expression) in expressions.enumerated() {
            let next = literals[index + 1]
            let probe = try? expression.evaluate(DigitsProbe())
            let end: String.Index
            let after: String.Index
            if index == expressions.count - 1 {
                let rest = rendered[position...]
                guard rest.utf8.count >= next.utf8.count, rest.hasSuffix(next) else { return nil }
                end = rendered.utf8.index(rendered.endIndex, offsetBy: -next.utf8.count)
                after = rendered.endIndex
            } else if next.isEmpty {
                end = position
                after = position
            } else {
                // Skip the occurrences the expression's filters write themselves: the `/` of
                // `date("%Y/%m")` before a literal `/`.
                var skip = probe.map { $0.ranges(of: next).count } ?? 0
                guard var found = rendered[position...].firstRange(of: next) else { return nil }
                while skip > 0, let later = rendered[found.upperBound...].firstRange(of: next) {
                    found = later
                    skip -= 1
                }
                end = found.lowerBound
                after = found.upperBound
            }
            spans.append(
                TemplateValueSpan(
                    variable: expression.variable, range: position..<end, isURLEncoded: expression.isURLEncoded,
                    probe: probe))
            position = after
        }
        return spans
    }

    /// Gives every variable the same harmless value: digits, which `date` reads as Unix seconds.
    private struct DigitsProbe: TemplateContext {
        func value(of variable: Template.Variable) -> String? { "1700000000" }
    }
}

extension Template.Expression {
    /// A `urlencode` that no later filter can undo: only `lower`, `upper` and `default` follow it.
    /// (A `default` text is not encoded; checks still look at every character of the span.)
    var isURLEncoded: Bool {
        guard let last = filters.lastIndex(of: .urlencode) else { return false }
        return filters[(last + 1)...].allSatisfy { filter in
            switch filter {
            case .lower, .upper, .defaultValue: return true
            default: return false
            }
        }
    }
}
