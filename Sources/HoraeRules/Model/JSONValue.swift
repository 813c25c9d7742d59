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
        case (.bool(let x), .bool(let y)): return x == y
        case (.number(let x), .number(let y)): return x == y
        case (.string(let x), .string(let y)): return x == y
        case (.array(let x), .array(let y)): return x == y
        case (.object(let x), .object(let y)):
            return x.count == y.count && zip(x, y).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        default: return false
        }
    }

    public func hash(into hasher: inout Hasher) {
        switch self {
        case .null: hasher.combine(0)
        case .bool(let b): hasher.combine(b)
        case .number(let n): hasher.combine(n)
        case .string(let s): hasher.combine(s)
        case .array(let items): hasher.combine(items)
        case .object(let pairs):
            for p in pairs {
                hasher.combine(p.key)
                hasher.combine(p.value)
            }
        }
    }

    public subscript(key: String) -> JSONValue? {
        guard case .object(let pairs) = self else { return nil }
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
            case .array(let items):
                guard let i = Int(part), i >= 0, i < items.count else { return nil }
                current = items[i]
            default:
                return nil
            }
        }
        return current
    }

    public var string: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// The value as matchers and templates see it: strings unquoted, numbers and booleans as
    /// written, objects and arrays as compact JSON; nil for null (a null field counts as absent).
    public var text: String? {
        switch self {
        case .null: return nil
        case .bool(let b): return b ? "true" : "false"
        case .number(let n): return n
        case .string(let s): return s
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
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .number(let n): out.append(contentsOf: n.utf8)
        case .string(let s): JSONStringEscaper.append(s, to: &out)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                item.write(to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let pairs):
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
