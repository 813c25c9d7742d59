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
        if let tick = test.schedule { return checkTick(tick, test) }
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
            let rule = rules.rules[m.ruleIndex]
            let context = MessageTemplateContext(fields: fields, captures: m.captures, ruleName: rule.name)
            reasons += Self.checkActions(e, of: rule, context)
        }
        return reasons
    }

    /// A schedule test: the tick runs one task, of its rule, rendered with `schedule.time` in the
    /// schedule's zone, as the daemon renders it.
    private func checkTick(_ tick: RuleTest.ScheduleTick, _ test: RuleTest) -> [String] {
        guard let rule = rules.rules.first(where: { $0.name == tick.rule }),
            case .schedule(let schedule) = rule.trigger
        else {
            return ["rule `\(tick.rule)` is not a loaded schedule rule"]
        }
        var reasons: [String] = []
        if !test.expect.contains(where: { $0.rule == rule.name }) {
            reasons.append("the tick runs rule `\(rule.name)`, which is not expected")
        }
        let context = MessageTemplateContext(
            fields: MessageFields(test.message), captures: CaptureSet(), ruleName: rule.name,
            scheduleTime: schedule.timeText(of: tick.time))
        for e in test.expect {
            guard e.rule == rule.name else {
                reasons.append("rule `\(e.rule)` was expected but the tick runs only `\(rule.name)`")
                continue
            }
            if let captures = e.captures, !captures.isEmpty {
                reasons.append("rule `\(e.rule)`: a tick has no captures, expected \(Self.describe(captures))")
            }
            reasons += Self.checkActions(e, of: rule, context)
        }
        return reasons
    }

    /// How the rule's actions, rendered in `context`, differ from those `expectation` lists.
    private static func checkActions(
        _ expectation: RuleTest.Expectation, of rule: Rule, _ context: MessageTemplateContext
    ) -> [String] {
        guard let expectedActions = expectation.actions else { return [] }
        let name = expectation.rule
        if expectedActions.count != rule.actions.count {
            return ["rule `\(name)` has \(rule.actions.count) actions, the test lists \(expectedActions.count)"]
        }
        var reasons: [String] = []
        for (i, (want, action)) in zip(expectedActions, rule.actions).enumerated() {
            guard want.plugin == action.plugin else {
                reasons.append(
                    "rule `\(name)` action \(i + 1) is `\(action.plugin.rawValue)`, the test expects `\(want.plugin.rawValue)`"
                )
                continue
            }
            let rendered: [(key: String, value: RenderedValue)]
            do {
                rendered = try action.render(context)
            } catch {
                reasons.append("rule `\(name)` action \(i + 1) does not render: \(error.message)")
                continue
            }
            for (key, value) in want.options {
                let actual = rendered.first { $0.key == key }?.value
                if actual.map({ sameText($0, value) }) != true {
                    reasons.append(
                        "rule `\(name)` action \(i + 1) `\(action.plugin.rawValue).\(key)` is \(actual.map(describe) ?? "absent"), expected \(describe(value))"
                    )
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
