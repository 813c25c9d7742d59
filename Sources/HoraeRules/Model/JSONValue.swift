/// A parsed JSON value. Numbers keep the text they were written with, so `data.size` renders and
/// compares exactly as the payload wrote it.
public indirect enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case number(String)
    case string(String)
    case array([JSONValue])
    /// Members in document order; a repeated key keeps its last value on lookup.
    case object([(key: String, value: JSONValue)])

    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case let (.bool(x), .bool(y)): return x == y
        case let (.number(x), .number(y)): return x == y
        case let (.string(x), .string(y)): return x == y
        case let (.array(x), .array(y)): return x == y
        case let (.object(x), .object(y)):
            return x.count == y.count && zip(x, y).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        default: return false
        }
    }

    public func hash(into hasher: inout Hasher) {
        switch self {
        case .null: hasher.combine(0)
        case let .bool(b): hasher.combine(b)
        case let .number(n): hasher.combine(n)
        case let .string(s): hasher.combine(s)
        case let .array(items): hasher.combine(items)
        case let .object(pairs): for p in pairs { hasher.combine(p.key); hasher.combine(p.value) }
        }
    }

    public subscript(key: String) -> JSONValue? {
        guard case let .object(pairs) = self else { return nil }
        return pairs.last { $0.key == key }?.value
    }

    /// Follows a dotted path (`["a", "b"]`); array elements are addressed by their index.
    public func value(at path: some Sequence<String>) -> JSONValue? {
        var current = self
        for part in path {
            switch current {
            case .object:
                guard let next = current[part] else { return nil }
                current = next
            case let .array(items):
                guard let i = Int(part), i >= 0, i < items.count else { return nil }
                current = items[i]
            default:
                return nil
            }
        }
        return current
    }

    public var string: String? {
        if case let .string(s) = self { return s }
        return nil
    }

    /// The value as matchers and templates see it: strings unquoted, numbers and booleans as
    /// written, objects and arrays as compact JSON; nil for null (a null field counts as absent).
    public var text: String? {
        switch self {
        case .null: return nil
        case let .bool(b): return b ? "true" : "false"
        case let .number(n): return n
        case let .string(s): return s
        case .array, .object: return compactJSON
        }
    }

    /// Compact JSON text.
    public var compactJSON: String {
        var out: [UInt8] = []
        write(to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    func write(to out: inout [UInt8]) {
        switch self {
        case .null: out.append(contentsOf: "null".utf8)
        case let .bool(b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case let .number(n): out.append(contentsOf: n.utf8)
        case let .string(s): JSONStringEscaper.append(s, to: &out)
        case let .array(items):
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                item.write(to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case let .object(pairs):
            out.append(UInt8(ascii: "{"))
            for (i, p) in pairs.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                JSONStringEscaper.append(p.key, to: &out)
                out.append(UInt8(ascii: ":"))
                p.value.write(to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// Writes `s` as a JSON string literal: quotes, backslashes, control characters (C0, DEL, C1)
    /// and U+2028/U+2029 escaped.
    public static func writeString(_ s: String, to out: inout String) {
        out += JSONStringEscaper.literal(s)
    }
}
