/// `forEach:` of a rule or an action: a list, or `{ in: LIST | steps.NAME.json.PATH, where: { … } }`.
extension RuleFileParser {
    static let forEachKeys = ["in", "where"]

    /// - Parameters:
    ///   - steps: the named actions before this one (empty for a rule), which `in:` may read.
    ///   - owner: "a rule" or "an action", for messages.
    mutating func parseForEach(_ node: YAMLNode, steps: [String: Plugin], in owner: String) -> ForEach? {
        let example = "forEach: [sohappy, hoohoo]"
        if let items = node.sequence {
            return staticItems(items, at: node).map { ForEach(source: .items($0), location: node.location) }
        }
        guard
            let pairs = mapping(
                node, "`forEach`",
                example: owner == "a rule"
                    ? example : "forEach: { in: steps.NAME.json.items, where: { enabled: true } }")
        else { return nil }
        checkKeys(pairs, allowed: Self.forEachKeys, in: "`forEach`")
        guard let list = required(node, "in", in: "`forEach`") else { return nil }
        var source: ForEach.Source?
        if let items = list.sequence {
            source = staticItems(items, at: list).map { .items($0) }
        } else if let text = scalarText(list, "`forEach.in`") {
            source = stepList(text, steps: steps, owner: owner, at: list)
        }
        var conditions: [FieldCondition] = []
        if let w = node["where"], let wPairs = mapping(w, "`where`", example: "where: { enabled: true }") {
            conditions = parsePathConditions(wPairs, what: "a field path")
        }
        guard let source else { return nil }
        return ForEach(source: source, conditions: conditions, location: node.location)
    }

    /// A list written in the rule: scalars or mappings, at least one.
    private mutating func staticItems(_ items: [YAMLNode], at node: YAMLNode) -> [JSONValue]? {
        guard !items.isEmpty else {
            diagnostics.error(.invalidValue, "`forEach` is empty; list at least one item", at: node.location)
            return nil
        }
        return items.map(jsonValue)
    }

    /// `steps.NAME.json.PATH` (optionally written inside `{{ }}`): an earlier named action's JSON.
    private mutating func stepList(_ text: String, steps: [String: Plugin], owner: String, at node: YAMLNode)
        -> ForEach.Source?
    {
        func trimmed(_ text: Substring) -> String {
            String(text.drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
        }
        var spelled = trimmed(text[...])
        if spelled.hasPrefix("{{") && spelled.hasSuffix("}}") { spelled = trimmed(spelled.dropFirst(2).dropLast(2)) }
        let segments = spelled.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard segments.count >= 3, segments[0] == "steps", segments[2] == "json", !segments.contains(where: \.isEmpty)
        else {
            diagnostics.error(
                .invalidValue,
                "`forEach.in` is a list, or the JSON output of an earlier named action: `steps.NAME.json.PATH`",
                at: node.location)
            return nil
        }
        let name = segments[1]
        guard owner == "an action" else {
            diagnostics.error(
                .invalidValue, "a rule's `forEach` is a list written in the rule; an action's may read `steps`",
                at: node.location)
            return nil
        }
        guard let plugin = steps[name] else {
            let known = steps.keys.sorted()
            let hint =
                Suggestions.closest(to: name, in: known).map { "; did you mean `\($0)`?" }
                ?? (known.isEmpty ? "; give an earlier action `name: \(name)`" : "")
            diagnostics.error(
                .unknownVariable, "`\(spelled)`: no earlier action of this rule is named `\(name)`\(hint)",
                at: node.location)
            return nil
        }
        guard plugin.stepOutputs.contains("json") else {
            diagnostics.error(
                .unknownVariable,
                "`\(spelled)`: \("aeiou".contains(plugin.rawValue.first!) ? "an" : "a") `\(plugin.rawValue)` action leaves no JSON output",
                at: node.location)
            return nil
        }
        return .step(name: name, path: Array(segments.dropFirst(3)))
    }
}
