/// The fields of one message as matchers read them. The JSON payload is parsed at most once, and
/// only when a `data:` condition asks for it; a payload that is not JSON has no `data` fields.
public final class MessageFields {
    public let message: PubSubMessage
    private var parsedData: JSONValue??
    /// `data:` values already read by the compiled matcher, as bytes that stay put until
    /// `deinit` (the matcher keeps pointers to them while it verifies a message).
    private var dataBytes: [[String]: UnsafeMutableBufferPointer<UInt8>?] = [:]

    public init(_ message: PubSubMessage) {
        self.message = message
    }

    deinit {
        for case let buffer? in dataBytes.values { buffer.deallocate() }
    }

    public func value(of field: FieldCondition.Field) -> String? {
        switch field {
        case let .attribute(name): return message.attributes[name]
        case let .data(path): return data?.value(at: path)?.text
        }
    }

    /// The payload as JSON, or nil when it is not JSON.
    public var data: JSONValue? {
        if let parsed = parsedData { return parsed }
        let parsed = try? JSONParser.parse(message.data)
        parsedData = .some(parsed)
        return parsed
    }

    /// The value at a `data:` path as bytes (absent when the payload is not JSON or has no such
    /// value), valid as long as `self`.
    func dataValueBytes(at path: [String]) -> ByteSlice {
        let buffer: UnsafeMutableBufferPointer<UInt8>?
        if let known = dataBytes[path] {
            buffer = known
        } else {
            if let text = value(of: .data(path)) {
                let b = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: max(1, text.utf8.count))
                _ = b.initialize(from: text.utf8)
                buffer = UnsafeMutableBufferPointer(rebasing: b[0..<text.utf8.count])
            } else {
                buffer = nil
            }
            dataBytes[path] = .some(buffer)
        }
        guard let buffer else { return .absent }
        return ByteSlice(base: UnsafePointer(buffer.baseAddress.unsafelyUnwrapped), count: buffer.count)
    }

    /// Whether the payload has been parsed (tests check that matching does not parse it needlessly).
    public var didParseData: Bool { parsedData != nil }
}

/// A rule that matched a message, with the captures its patterns bound.
public struct RuleMatch: Sendable, Hashable {
    /// Index into the rule set's `rules`.
    public var ruleIndex: Int
    public var captures: CaptureSet

    public init(ruleIndex: Int, captures: CaptureSet) {
        self.ruleIndex = ruleIndex
        self.captures = captures
    }
}

extension MessageClause {
    /// Whether every condition holds; captures must agree across fields.
    package func matches(_ fields: MessageFields, captures: inout CaptureSet) -> Bool {
        if let subscriptions {
            guard let s = fields.message.subscription, subscriptions.contains(s) else { return false }
        }
        // Cheap byte comparisons first: most candidates fail on one of them, before any
        // automaton runs or capture is bound. (The full pass below keeps the written order, so
        // captures bind in the same order as the reference matcher's.) Conditions are read in
        // place rather than copied, which would retain each of their parts.
        return conditions.withUnsafeBufferPointer { conditions in
            for i in conditions.indices {
                guard case let .pattern(p) = conditions[i].matcher, p.isEquality else { continue }
                var scratch = CaptureSet()
                guard let value = fields.value(of: conditions[i].field), p.match(value, captures: &scratch) else { return false }
            }
            for i in conditions.indices where !conditions[i].matcher.evaluate(fields.value(of: conditions[i].field), captures: &captures) {
                captures.removeAll()
                return false
            }
            return true
        }
    }
}

/// The plain one-rule-at-a-time matcher: the semantics the compiled matcher must reproduce, and
/// the baseline the benchmark measures it against.
public struct LinearRuleMatcher: Sendable {
    public let rules: [Rule]

    public init(rules: [Rule]) { self.rules = rules }

    public func match(_ message: PubSubMessage) -> [RuleMatch] {
        match(MessageFields(message))
    }

    public func match(_ fields: MessageFields) -> [RuleMatch] {
        var out: [RuleMatch] = []
        for (i, rule) in rules.enumerated() {
            guard case let .message(clauses) = rule.trigger else { continue }
            for clause in clauses {
                var captures = CaptureSet()
                if clause.matches(fields, captures: &captures) {
                    out.append(RuleMatch(ruleIndex: i, captures: captures))
                    break
                }
            }
        }
        return out
    }
}
