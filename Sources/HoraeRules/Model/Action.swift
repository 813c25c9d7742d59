/// One step of a rule: a built-in plugin with its options (docs/rules.md, "Actions").
public struct Action: Sendable {
    public var plugin: Plugin
    /// Optional name, shown in logs and task records.
    public var name: String?
    /// Limit for one run of this action.
    public var timeout: Duration?
    /// `forEach:`: the action runs once per item, each run one unit of the task's progress.
    public var forEach: ForEach?
    /// The plugin's options, in the order written; string leaves are templates.
    public var options: [(key: String, value: OptionValue)]
    public var location: SourceLocation

    public init(
        plugin: Plugin, name: String? = nil, timeout: Duration? = nil, forEach: ForEach? = nil,
        options: [(key: String, value: OptionValue)], location: SourceLocation
    ) {
        self.plugin = plugin
        self.name = name
        self.timeout = timeout
        self.forEach = forEach
        self.options = options
        self.location = location
    }

    public subscript(option: String) -> OptionValue? {
        options.first { $0.key == option }?.value
    }

    /// `name:` or, failing that, the plugin with its position in the rule.
    public func displayName(index: Int) -> String { name ?? "\(plugin.rawValue)#\(index + 1)" }
}

/// A YAML value under an action, with every string leaf parsed as a template.
public indirect enum OptionValue: Sendable {
    case template(Template)
    case integer(Int)
    case number(Double)
    case bool(Bool)
    case null
    case list([OptionValue])
    case map([(key: String, value: OptionValue)])

    /// Every template in the value, depth first.
    public var templates: [Template] {
        switch self {
        case .template(let t): return [t]
        case .integer, .number, .bool, .null: return []
        case .list(let items): return items.flatMap(\.templates)
        case .map(let pairs): return pairs.flatMap(\.value.templates)
        }
    }

    /// Renders every template leaf; the structure stays as written, so a rendered value can never
    /// change it (a message attribute cannot add a JSON key or a list element).
    public func render(_ context: some TemplateContext) throws(TemplateRenderError) -> RenderedValue {
        switch self {
        case .template(let t): return .string(try t.render(context))
        case .integer(let i): return .integer(i)
        case .number(let d): return .number(d)
        case .bool(let b): return .bool(b)
        case .null: return .null
        case .list(let items):
            var out: [RenderedValue] = []
            out.reserveCapacity(items.count)
            for item in items { out.append(try item.render(context)) }
            return .list(out)
        case .map(let pairs):
            var out: [(key: String, value: RenderedValue)] = []
            out.reserveCapacity(pairs.count)
            for p in pairs { out.append((key: p.key, value: try p.value.render(context))) }
            return .map(out)
        }
    }
}

/// An option value after rendering: what a plugin receives and what `horae match` prints.
public indirect enum RenderedValue: Sendable, Hashable {
    case string(String)
    case integer(Int)
    case number(Double)
    case bool(Bool)
    case null
    case list([RenderedValue])
    case map([(key: String, value: RenderedValue)])

    public static func == (a: RenderedValue, b: RenderedValue) -> Bool {
        switch (a, b) {
        case (.string(let x), .string(let y)): return x == y
        case (.integer(let x), .integer(let y)): return x == y
        case (.number(let x), .number(let y)): return x == y
        case (.integer(let x), .number(let y)), (.number(let y), .integer(let x)): return Double(x) == y
        case (.bool(let x), .bool(let y)): return x == y
        case (.null, .null): return true
        case (.list(let x), .list(let y)): return x == y
        case (.map(let x), .map(let y)):
            return x.count == y.count && zip(x, y).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        default: return false
        }
    }

    public func hash(into hasher: inout Hasher) {
        switch self {
        case .string(let s): hasher.combine(s)
        case .integer(let i): hasher.combine(Double(i))
        case .number(let d): hasher.combine(d)
        case .bool(let b): hasher.combine(b)
        case .null: hasher.combine(0)
        case .list(let items): hasher.combine(items)
        case .map(let pairs):
            for p in pairs {
                hasher.combine(p.key)
                hasher.combine(p.value)
            }
        }
    }

    public subscript(key: String) -> RenderedValue? {
        if case .map(let pairs) = self { return pairs.first { $0.key == key }?.value }
        return nil
    }

    public var string: String? {
        if case .string(let s) = self { return s }
        return nil
    }
}
