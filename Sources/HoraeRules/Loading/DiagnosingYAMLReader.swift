/// Typed access to YAML nodes that reports every mismatch as a diagnostic with the node's position
/// and what to write instead. Rule files and the daemon config share it.
package protocol DiagnosingYAMLReader {
    var diagnostics: DiagnosticBag { get set }
}

extension DiagnosingYAMLReader {
    package var errorCount: Int { diagnostics.diagnostics.count { $0.severity == .error } }

    package mutating func mapping(_ node: YAMLNode, _ what: String, example: String) -> [(
        key: YAMLNode, value: YAMLNode
    )]? {
        if let pairs = node.mapping { return pairs }
        diagnostics.error(
            .wrongType,
            "\(what) must be a mapping (`key: value` lines), found \(node.kindDescription); e.g. `\(example.split(separator: "\n").first ?? "")`",
            at: node.location)
        return nil
    }

    package mutating func list(_ node: YAMLNode, _ what: String) -> [YAMLNode]? {
        if let items = node.sequence { return items }
        diagnostics.error(
            .wrongType, "\(what) must be a list (`- item` lines), found \(node.kindDescription)", at: node.location)
        return nil
    }

    package mutating func scalarText(_ node: YAMLNode, _ what: String) -> String? {
        if let s = node.scalar, !node.isNull { return s }
        diagnostics.error(.wrongType, "\(what) must be a string, found \(node.kindDescription)", at: node.location)
        return nil
    }

    package mutating func required(_ node: YAMLNode, _ key: String, in what: String) -> YAMLNode? {
        if let v = node[key] { return v }
        diagnostics.error(.missingKey, "\(what) needs `\(key):`", at: node.location)
        return nil
    }

    package mutating func checkKeys(_ pairs: [(key: YAMLNode, value: YAMLNode)], allowed: [String], in what: String) {
        for (key, _) in pairs {
            guard let k = key.scalar else {
                diagnostics.error(.wrongType, "keys must be strings, found \(key.kindDescription)", at: key.location)
                continue
            }
            if !allowed.contains(k) {
                diagnostics.error(
                    .unknownKey, "unknown key `\(k)` in \(what)" + Suggestions.hint(for: k, in: allowed),
                    at: key.location)
            }
        }
    }

    package mutating func bool(_ node: YAMLNode, _ what: String) -> Bool? {
        if let b = node.bool { return b }
        diagnostics.error(
            .wrongType,
            "\(what) must be `true` or `false`, found \(node.scalar.map { "`\($0)`" } ?? node.kindDescription)",
            at: node.location)
        return nil
    }

    package mutating func integer(_ node: YAMLNode, _ what: String, in range: ClosedRange<Int>) -> Int? {
        if let text = node.scalar, let v = Int(text), range.contains(v) { return v }
        diagnostics.error(
            .invalidNumber,
            "\(what) must be a whole number from \(range.lowerBound) to \(range.upperBound), found \(node.scalar.map { "`\($0)`" } ?? node.kindDescription)",
            at: node.location)
        return nil
    }

    package mutating func duration(_ node: YAMLNode, _ what: String) -> Duration? {
        if let text = node.scalar, let d = DurationParser.parse(text), d > .zero { return d }
        diagnostics.error(
            .invalidDuration,
            "\(what) must be a duration such as `250ms`, `10s`, `5m`, `6h`, `2d` or `1h30m`, found \(node.scalar.map { "`\($0)`" } ?? node.kindDescription)",
            at: node.location)
        return nil
    }

    /// Where a scalar's text starts: one column after the opening quote of a quoted scalar.
    package func contentLocation(_ node: YAMLNode) -> SourceLocation {
        if case .scalar(_, let style) = node.kind, style == .singleQuoted || style == .doubleQuoted {
            return node.location.advanced(byColumns: 1)
        }
        return node.location
    }

}
