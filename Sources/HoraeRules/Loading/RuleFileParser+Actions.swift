/// A rule's `actions:`: the plugin each names and its options, checked against the plugin's schema.
extension RuleFileParser {
    /// The keys an action has beside its plugin.
    static let actionKeys = ["name", "timeout", "forEach"]

    mutating func parseAction(_ node: YAMLNode, _ context: TemplateChecks) -> Action? {
        let pluginNames = Plugin.allCases.map(\.rawValue)
        guard let pairs = mapping(node, "an action", example: "- exec: { command: [\"/bin/true\"] }") else {
            return nil
        }
        let errorsBefore = errorCount
        var plugins: [(Plugin, YAMLNode, YAMLNode)] = []
        for (key, value) in pairs {
            guard let k = key.scalar else { continue }
            if Self.actionKeys.contains(k) { continue }
            if let p = Plugin(rawValue: k) {
                plugins.append((p, key, value))
            } else {
                diagnostics.error(
                    .unknownPlugin,
                    "unknown plugin `\(k)`" + Suggestions.hint(for: k, in: pluginNames + Self.actionKeys),
                    at: key.location)
            }
        }
        let name = node["name"].flatMap { scalarText($0, "`name`") }
        let timeout = node["timeout"].flatMap { duration($0, "`timeout`") }
        var context = context
        let forEach = node["forEach"].flatMap { parseForEach($0, steps: context.scope.steps, in: "an action") }
        if forEach != nil { context.scope.hasItem = true }
        if plugins.count > 1 {
            diagnostics.error(
                .invalidAction,
                "an action runs one plugin; `\(plugins[1].0.rawValue)` must be its own list item (`- \(plugins[1].0.rawValue): …`)",
                at: plugins[1].1.location)
        }
        guard let (plugin, _, optionsNode) = plugins.first else {
            if errorCount == errorsBefore {
                diagnostics.error(
                    .invalidAction,
                    "an action needs one plugin key: " + pluginNames.map { "`\($0)`" }.joined(separator: ", "),
                    at: node.location)
            }
            return nil
        }
        let options = parseOptions(plugin, optionsNode, context)
        guard errorCount == errorsBefore, let options else { return nil }
        return Action(
            plugin: plugin, name: name, timeout: timeout, forEach: forEach, options: options, location: node.location)
    }

    mutating func parseOptions(_ plugin: Plugin, _ node: YAMLNode, _ context: TemplateChecks) -> [(
        key: String, value: OptionValue
    )]? {
        let schema = plugin.schema
        guard
            let pairs = mapping(
                node, "the options of `\(plugin.rawValue)`",
                example: "\(plugin.rawValue): { \(schema.options[0].name): … }")
        else { return nil }
        var out: [(key: String, value: OptionValue)] = []
        let names = schema.options.map(\.name)
        for (key, value) in pairs {
            guard let k = key.scalar else { continue }
            guard let spec = schema.option(k) else {
                let suggestion = Suggestions.closest(to: k, in: names).map { "; did you mean `\($0)`?" } ?? ""
                diagnostics.error(
                    .unknownOption,
                    "unknown option `\(k)` for `\(plugin.rawValue)`\(suggestion) (valid: \(names.joined(separator: ", ")))",
                    at: key.location)
                continue
            }
            if let v = optionValue(value, spec.type, what: "`\(plugin.rawValue).\(k)`", context) {
                out.append((key: k, value: v))
            }
        }
        for spec in schema.options where spec.required && node[spec.name] == nil {
            diagnostics.error(.missingOption, "`\(plugin.rawValue)` needs `\(spec.name)`", at: node.location)
        }
        for group in schema.exclusive {
            let given = group.filter { node[$0] != nil }
            if given.count > 1 {
                diagnostics.error(
                    .invalidOption,
                    "`\(plugin.rawValue)` takes only one of " + given.map { "`\($0)`" }.joined(separator: " or "),
                    at: node[given[1]]!.location)
            }
        }
        let written = Set(pairs.compactMap { $0.key.scalar })
        let scalars = Dictionary(uniqueKeysWithValues: written.compactMap { k in node[k]?.scalar.map { (k, $0) } })
        for problem in schema.combinationProblems(PluginSchema.GivenOptions(names: written, scalars: scalars)) {
            let at = problem.option.flatMap { node[$0] }?.location ?? node.location
            diagnostics.error(problem.code, problem.message, at: at)
        }
        return out
    }

    /// `text` split at blanks for a suggested list, each `{{ … }}` kept whole:
    /// `gocc2bq {{ code }} --all` → `gocc2bq`, `{{ code }}`, `--all`.
    static func words(of text: String) -> [String] {
        var words: [String] = []
        var word = ""
        var inTemplate = false
        var rest = Substring(text)
        while let c = rest.first {
            if !inTemplate, rest.hasPrefix("{{") {
                inTemplate = true
                word += "{{"
                rest = rest.dropFirst(2)
            } else if inTemplate, rest.hasPrefix("}}") {
                inTemplate = false
                word += "}}"
                rest = rest.dropFirst(2)
            } else {
                if !inTemplate, c == " " || c == "\t" {
                    if !word.isEmpty { words.append(word) }
                    word = ""
                } else {
                    word.append(c)
                }
                rest = rest.dropFirst()
            }
        }
        if !word.isEmpty { words.append(word) }
        return words
    }

    mutating func optionValue(_ node: YAMLNode, _ type: PluginSchema.ValueType, what: String, _ context: TemplateChecks)
        -> OptionValue?
    {
        switch type {
        case .string:
            return template(node, what, context).map { .template($0) }
        case .stringList:
            guard let items = node.sequence else {
                let example =
                    node.scalar.map { "[\"\(Self.words(of: $0).joined(separator: "\", \""))\"]" } ?? "[\"…\"]"
                diagnostics.error(
                    .invalidOption,
                    "\(what) is a list of strings, as in \(example); nothing is split or passed through a shell",
                    at: node.location)
                return nil
            }
            if items.isEmpty {
                diagnostics.error(.invalidOption, "\(what) is empty; give at least one element", at: node.location)
                return nil
            }
            let ts = items.compactMap { template($0, what, context) }
            return ts.count == items.count ? .list(ts.map { .template($0) }) : nil
        case .stringMap:
            guard let pairs = mapping(node, what, example: "\(what): { NAME: \"value\" }") else { return nil }
            var out: [(key: String, value: OptionValue)] = []
            for (k, v) in pairs {
                guard let key = scalarText(k, "a key of \(what)"), let t = template(v, "\(what).\(key)", context) else {
                    continue
                }
                out.append((key: key, value: .template(t)))
            }
            return out.count == pairs.count ? .map(out) : nil
        case .structured:
            return structured(node, what, context)
        case .integer(let range):
            return integer(node, what, in: range).map { .integer($0) }
        case .integers(let range):
            if let items = node.sequence {
                let vs = items.compactMap { integer($0, what, in: range) }
                return vs.count == items.count ? .list(vs.map { .integer($0) }) : nil
            }
            return integer(node, what, in: range).map { .list([.integer($0)]) }
        case .bool:
            return bool(node, what).map { .bool($0) }
        case .oneOf(let choices):
            guard let text = scalarText(node, what) else { return nil }
            guard choices.contains(text) else {
                diagnostics.error(
                    .invalidOption,
                    "\(what) is `\(text)`"
                        + Suggestions.hint(for: text, in: choices).replacing("; expected", with: "; it must be"),
                    at: node.location)
                return nil
            }
            return .template(Template.literal(text))
        case .duration:
            return duration(node, what).map { .template(Template.literal(DurationParser.format($0))) }
        }
    }

    /// A `json:` body: YAML structure kept as is, quoted strings as templates, plain scalars typed.
    mutating func structured(_ node: YAMLNode, _ what: String, _ context: TemplateChecks) -> OptionValue? {
        switch node.kind {
        case .scalar(let text, let style):
            if style == .plain, node.tag == nil {
                if node.isNull { return .null }
                if let b = node.bool { return .bool(b) }
                if let i = Int(text) { return .integer(i) }
                if DecimalNumber.parse(text) != nil, let d = Double(text) { return .number(d) }
            }
            return template(node, what, context).map { .template($0) }
        case .sequence(let items):
            let vs = items.compactMap { structured($0, what, context) }
            return vs.count == items.count ? .list(vs) : nil
        case .mapping(let pairs):
            var out: [(key: String, value: OptionValue)] = []
            for (k, v) in pairs {
                guard let key = scalarText(k, "a key of \(what)") else { return nil }
                guard let value = structured(v, "\(what).\(key)", context) else { return nil }
                out.append((key: key, value: value))
            }
            return .map(out)
        }
    }
}
