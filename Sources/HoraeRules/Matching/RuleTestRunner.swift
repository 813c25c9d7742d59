/// Runs the `tests:` of rule files against the compiled rule set (docs/rules.md, "Rule tests").
public struct RuleTestRunner: Sendable {
    public struct Failure: Sendable, Hashable {
        public var test: String
        public var location: SourceLocation
        public var reasons: [String]
    }

    public struct Report: Sendable {
        public var passed: Int
        public var failures: [Failure]
        public var failed: Int { failures.count }
    }

    public let rules: CompiledRuleSet

    public init(rules: CompiledRuleSet) { self.rules = rules }

    public func run(_ tests: [RuleTest]) -> Report {
        var report = Report(passed: 0, failures: [])
        for test in tests {
            let reasons = check(test)
            if reasons.isEmpty {
                report.passed += 1
            } else {
                report.failures.append(Failure(test: test.name, location: test.location, reasons: reasons))
            }
        }
        return report
    }

    /// Why a test fails; empty when it passes.
    public func check(_ test: RuleTest) -> [String] {
        let fields = MessageFields(test.message)
        let matches = rules.match(fields)
        var byName: [String: RuleMatch] = [:]
        for m in matches { byName[rules.rules[m.ruleIndex].name] = m }
        var reasons: [String] = []
        let expected = Set(test.expect.map(\.rule))
        for name in byName.keys.sorted() where !expected.contains(name) {
            reasons.append("rule `\(name)` matched but is not expected")
        }
        for e in test.expect {
            guard let m = byName[e.rule] else {
                reasons.append("rule `\(e.rule)` was expected to match but did not")
                continue
            }
            if let captures = e.captures, captures != m.captures.dictionary {
                reasons.append(
                    "rule `\(e.rule)`: captures are \(Self.describe(m.captures.dictionary)), expected \(Self.describe(captures))"
                )
            }
            guard let expectedActions = e.actions else { continue }
            let rule = rules.rules[m.ruleIndex]
            if expectedActions.count != rule.actions.count {
                reasons.append(
                    "rule `\(e.rule)` has \(rule.actions.count) actions, the test lists \(expectedActions.count)")
                continue
            }
            let context = MessageTemplateContext(fields: fields, captures: m.captures, ruleName: rule.name)
            for (i, (want, action)) in zip(expectedActions, rule.actions).enumerated() {
                guard want.plugin == action.plugin else {
                    reasons.append(
                        "rule `\(e.rule)` action \(i + 1) is `\(action.plugin.rawValue)`, the test expects `\(want.plugin.rawValue)`"
                    )
                    continue
                }
                let rendered: [(key: String, value: RenderedValue)]
                do {
                    rendered = try action.render(context)
                } catch {
                    reasons.append("rule `\(e.rule)` action \(i + 1) does not render: \(error.message)")
                    continue
                }
                for (key, value) in want.options {
                    let actual = rendered.first { $0.key == key }?.value
                    if actual.map({ Self.sameText($0, value) }) != true {
                        reasons.append(
                            "rule `\(e.rule)` action \(i + 1) `\(action.plugin.rawValue).\(key)` is \(actual.map(Self.describe) ?? "absent"), expected \(Self.describe(value))"
                        )
                    }
                }
            }
        }
        return reasons
    }

    /// Compares rendered values the way a YAML test writes them: scalars by their text.
    static func sameText(_ a: RenderedValue, _ b: RenderedValue) -> Bool {
        switch (a, b) {
        case (.list(let x), .list(let y)): return x.count == y.count && zip(x, y).allSatisfy { sameText($0, $1) }
        case (.map(let x), .map(let y)):
            return x.count == y.count
                && x.allSatisfy { pair in y.first { $0.key == pair.key }.map { sameText(pair.value, $0.value) } ?? false
                }
        case (.list, _), (.map, _), (_, .list), (_, .map): return false
        default: return scalarText(a) == scalarText(b)
        }
    }

    static func scalarText(_ v: RenderedValue) -> String? {
        switch v {
        case .string(let s): return s
        case .integer(let i): return String(i)
        case .number(let d): return String(d)
        case .bool(let b): return b ? "true" : "false"
        case .null: return nil
        case .list, .map: return nil
        }
    }

    public static func describe(_ captures: [String: String]) -> String {
        "{" + captures.keys.sorted().map { "\($0): \"\(captures[$0]!)\"" }.joined(separator: ", ") + "}"
    }

    public static func describe(_ value: RenderedValue) -> String {
        value.jsonText
    }
}

extension RenderedValue {
    /// Compact JSON text of the value.
    public var jsonText: String {
        jsonValue.compactJSON
    }

    public var jsonValue: JSONValue {
        switch self {
        case .string(let s): return .string(s)
        case .integer(let i): return .number(String(i))
        case .number(let d): return .number(d.isFinite ? "\(d)" : "null")
        case .bool(let b): return .bool(b)
        case .null: return .null
        case .list(let items): return .array(items.map(\.jsonValue))
        case .map(let pairs): return .object(pairs.map { (key: $0.key, value: $0.value.jsonValue) })
        }
    }
}
