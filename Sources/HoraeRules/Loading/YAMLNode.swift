/// A YAML node with the position it was written at. Aliases and merge keys are already resolved,
/// so a node tree is a plain tree (an alias yields a copy of its anchor's node, keeping the
/// anchor's positions).
public struct YAMLNode: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        /// A scalar's text; `style` tells whether it was quoted, which decides whether `null`,
        /// `true` or `12` are typed values or plain text.
        case scalar(String, ScalarStyle)
        case sequence([YAMLNode])
        /// Keys in document order (duplicates have been reported and dropped).
        case mapping([(key: YAMLNode, value: YAMLNode)])

        public static func == (a: Kind, b: Kind) -> Bool {
            switch (a, b) {
            case (.scalar(let x, let s), .scalar(let y, let t)): return x == y && s == t
            case (.sequence(let x), .sequence(let y)): return x == y
            case (.mapping(let x), .mapping(let y)):
                return x.count == y.count && zip(x, y).allSatisfy { $0.key == $1.key && $0.value == $1.value }
            default: return false
            }
        }

        public func hash(into hasher: inout Hasher) {
            switch self {
            case .scalar(let s, _):
                hasher.combine(0)
                hasher.combine(s)
            case .sequence(let items):
                hasher.combine(1)
                hasher.combine(items)
            case .mapping(let pairs):
                hasher.combine(2)
                for p in pairs {
                    hasher.combine(p.key)
                    hasher.combine(p.value)
                }
            }
        }
    }

    public enum ScalarStyle: Sendable, Hashable {
        case plain, singleQuoted, doubleQuoted, literal, folded
    }

    public var kind: Kind
    /// Where the node starts (1-based line and column).
    public var location: SourceLocation
    /// The explicit tag, if any (`!!str`, `!!int`, …), expanded to its full form.
    public var tag: String?

    public init(_ kind: Kind, at location: SourceLocation, tag: String? = nil) {
        self.kind = kind
        self.location = location
        self.tag = tag
    }
}

extension YAMLNode {
    /// The text of a scalar node, nil for collections.
    public var scalar: String? {
        if case .scalar(let s, _) = kind { return s }
        return nil
    }

    public var sequence: [YAMLNode]? {
        if case .sequence(let items) = kind { return items }
        return nil
    }

    public var mapping: [(key: YAMLNode, value: YAMLNode)]? {
        if case .mapping(let pairs) = kind { return pairs }
        return nil
    }

    /// A plain (unquoted, untagged) scalar that YAML reads as null: `~`, `null`, empty.
    public var isNull: Bool {
        guard case .scalar(let s, let style) = kind, style == .plain, tag == nil else {
            return tag == "tag:yaml.org,2002:null"
        }
        return s.isEmpty || s == "~" || s == "null" || s == "Null" || s == "NULL"
    }

    /// The boolean a plain scalar stands for (`true`/`false` and their YAML 1.1 spellings), else nil.
    public var bool: Bool? {
        guard case .scalar(let s, let style) = kind, style == .plain else { return nil }
        switch s {
        case "true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON": return true
        case "false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF": return false
        default: return nil
        }
    }

    /// A short name of the node's type for error messages ("a mapping", "a list", "a string").
    public var kindDescription: String {
        switch kind {
        case .scalar: return isNull ? "null" : "a scalar"
        case .sequence: return "a list"
        case .mapping: return "a mapping"
        }
    }

    /// The value for `key` in a mapping node.
    public subscript(key: String) -> YAMLNode? {
        mapping?.first { $0.key.scalar == key }?.value
    }
}
