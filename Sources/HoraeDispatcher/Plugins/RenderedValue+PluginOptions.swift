import HoraeRules

/// Reading rendered options in the shapes of ``PluginSchema/ValueType``. The loader already
/// checked the shapes, so `nil` here means "not given"; a shape that still does not fit is
/// reported by the plugin as a permanent failure.
extension RenderedValue {
    /// A `.stringList` option: every element a string.
    var strings: [String]? {
        guard case .list(let items) = self else { return nil }
        var out: [String] = []
        out.reserveCapacity(items.count)
        for item in items {
            guard let text = item.string else { return nil }
            out.append(text)
        }
        return out
    }

    /// A `.stringMap` option, in the order written.
    var stringPairs: [(key: String, value: String)]? {
        guard case .map(let pairs) = self else { return nil }
        var out: [(key: String, value: String)] = []
        out.reserveCapacity(pairs.count)
        for pair in pairs {
            guard let text = pair.value.string else { return nil }
            out.append((key: pair.key, value: text))
        }
        return out
    }

    /// An `.integers` option: one number or a list of them.
    var integers: [Int]? {
        switch self {
        case .integer(let value): return [value]
        case .list(let items):
            var out: [Int] = []
            for item in items {
                guard case .integer(let value) = item else { return nil }
                out.append(value)
            }
            return out
        default: return nil
        }
    }

    /// An `.integer` option.
    var integer: Int? {
        if case .integer(let value) = self { return value }
        return nil
    }

    /// The JSON value of a `json:` option. The structure is the rule's: every string leaf becomes
    /// one JSON string, whatever it holds, so a rendered message value can never add a key, an
    /// element or a number. Throws for a number JSON cannot represent (`.inf`, `.nan`).
    func jsonValue() throws(NonFiniteNumber) -> JSONValue {
        switch self {
        case .string(let text): return .string(text)
        case .integer(let value): return .number(String(value))
        case .number(let value):
            guard value.isFinite else { throw NonFiniteNumber() }
            if value == value.rounded(.towardZero), abs(value) < 1e15 {
                return .number(String(Int64(value)))
            }
            return .number("\(value)")
        case .bool(let value): return .bool(value)
        case .null: return .null
        case .list(let items):
            var out: [JSONValue] = []
            out.reserveCapacity(items.count)
            for item in items { out.append(try item.jsonValue()) }
            return .array(out)
        case .map(let pairs):
            var out: [(key: String, value: JSONValue)] = []
            out.reserveCapacity(pairs.count)
            for pair in pairs { out.append((key: pair.key, value: try pair.value.jsonValue())) }
            return .object(out)
        }
    }

    /// `.inf` or `.nan` in a `json:` body.
    struct NonFiniteNumber: Error {}
}
