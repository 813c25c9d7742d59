import HoraeRules

/// A stable fingerprint of a rule's actions: what a task stores when it starts, so that a task
/// resumed after its rule was reloaded with other actions is refused instead of skipping or
/// repeating one (its progress is an index into the actions it started with).
///
/// It is the SHA-256, in lowercase hex, of a canonical text of the actions — for each, in order:
/// the plugin, the timeout and the options as written (templates by their source text, keys in
/// the order written). An action's `name:` and its place in the file are left out: renaming an
/// action or moving the rule does not change what the task runs. The text is versioned (`v1`)
/// and defined here byte for byte, so the fingerprint is the same across processes and releases;
/// an action's `forEach` is appended after its options, only when it has one.
enum ActionsFingerprint {
    static func of(_ actions: [Action]) -> String {
        var text: [UInt8] = Array("horae-actions-v1".utf8)
        appendCount(actions.count, to: &text)
        for action in actions {
            appendString(action.plugin.rawValue, to: &text)
            if let timeout = action.timeout {
                let (seconds, attoseconds) = timeout.components
                text += Array("t\(seconds).\(attoseconds);".utf8)
            } else {
                text += Array("t-;".utf8)
            }
            append(.map(action.options), to: &text)
            // Only actions with one add it, so the fingerprints of the others stay as they were.
            if let forEach = action.forEach { append(forEach, to: &text) }
        }
        return SHA256.hex(text)
    }

    /// An action's `forEach`: its list (items as compact JSON) or the step path it reads, and
    /// its `where:` conditions (field paths and matchers). A resumed task's item position is an
    /// index into these items.
    private static func append(_ forEach: ForEach, to text: inout [UInt8]) {
        text.append(UInt8(ascii: "f"))
        switch forEach.source {
        case .items(let items):
            text.append(UInt8(ascii: "l"))
            appendCount(items.count, to: &text)
            for item in items { appendString(item.compactJSON, to: &text) }
        case .step(let name, let path):
            appendString(name, to: &text)
            appendCount(path.count, to: &text)
            for segment in path { appendString(segment, to: &text) }
        }
        appendCount(forEach.conditions.count, to: &text)
        for condition in forEach.conditions {
            appendString(condition.field.description, to: &text)
            append(condition.matcher, to: &text)
        }
    }

    private static func append(_ matcher: FieldMatcher, to text: inout [UInt8]) {
        switch matcher {
        case .pattern(let pattern):
            appendString("p\(pattern.kind.rawValue)\(pattern.ignoreCase ? "i" : ""):\(pattern.source)", to: &text)
        case .exists(let exists): text += Array((exists ? "e1;" : "e0;").utf8)
        case .numeric(let comparison, let bound):
            text += Array("c\(comparison.rawValue)\(String(bound.bitPattern, radix: 16));".utf8)
        case .not(let inner):
            text.append(UInt8(ascii: "!"))
            append(inner, to: &text)
        case .anyOf(let matchers), .allOf(let matchers):
            if case .anyOf = matcher { text.append(UInt8(ascii: "|")) } else { text.append(UInt8(ascii: "&")) }
            appendCount(matchers.count, to: &text)
            for inner in matchers { append(inner, to: &text) }
        }
    }

    /// Typed and length-prefixed, so that no two different values share a text.
    private static func append(_ value: OptionValue, to text: inout [UInt8]) {
        switch value {
        case .template(let template):
            appendString(template.source, to: &text)
        case .integer(let integer):
            text += Array("i\(integer);".utf8)
        case .number(let number):
            // The bit pattern, not a decimal rendering that could change between releases.
            text += Array("d\(String(number.bitPattern, radix: 16));".utf8)
        case .bool(let bool):
            text += Array((bool ? "b1;" : "b0;").utf8)
        case .null:
            text += Array("n;".utf8)
        case .list(let items):
            text.append(UInt8(ascii: "l"))
            appendCount(items.count, to: &text)
            for item in items { append(item, to: &text) }
        case .map(let pairs):
            text.append(UInt8(ascii: "m"))
            appendCount(pairs.count, to: &text)
            for pair in pairs {
                appendString(pair.key, to: &text)
                append(pair.value, to: &text)
            }
        }
    }

    private static func appendCount(_ count: Int, to text: inout [UInt8]) {
        text += Array("\(count);".utf8)
    }

    private static func appendString(_ string: String, to text: inout [UInt8]) {
        let bytes = Array(string.utf8)
        text += Array("s\(bytes.count):".utf8)
        text += bytes
    }
}
