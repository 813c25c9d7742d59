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
        for (rule, group) in Self.grouped(test.expect) {
            guard let m = byName[rule] else {
                reasons.append("rule `\(rule)` was expected to match but did not")
                continue
            }
            let compiled = rules.rules[m.ruleIndex]
            let context = MessageTemplateContext(
                fields: fields, captures: m.captures, ruleName: compiled.name, steps: test.steps)
            for (e, item) in Self.assign(group, to: compiled, reasons: &reasons) {
                if let captures = e.captures, captures != m.captures.dictionary {
                    reasons.append(
                        "rule `\(e.rule)`: captures are \(Self.describe(m.captures.dictionary)), expected \(Self.describe(captures))"
                    )
                }
                var itemContext = context
                itemContext.item = item?.value
                reasons += Self.checkActions(e, of: compiled, itemContext, item: item)
            }
        }
        return reasons
    }

    /// The expectations by rule, in the order each rule first appears.
    static func grouped(_ expectations: [RuleTest.Expectation]) -> [(String, [RuleTest.Expectation])] {
        var order: [String] = []
        var groups: [String: [RuleTest.Expectation]] = [:]
        for e in expectations {
            if groups[e.rule] == nil { order.append(e.rule) }
            groups[e.rule, default: []].append(e)
        }
        return order.map { ($0, groups[$0]!) }
    }

    /// Pairs a rule's expectations with the tasks it runs: one task, or one per `forEach` item.
    /// An entry that names its `item` describes that item's task; the others take the items left,
    /// in item order.
    static func assign(_ group: [RuleTest.Expectation], to rule: Rule, reasons: inout [String]) -> [(
        RuleTest.Expectation, ForEach.Item?
    )] {
        guard let forEach = rule.forEach else {
            if group.count > 1 {
                reasons.append("rule `\(rule.name)` runs one task, the test lists \(group.count)")
            }
            if let item = group.first?.item {
                reasons.append("rule `\(rule.name)` has no `forEach`, the test expects item \(item.compactJSON)")
            }
            return group.prefix(1).map { ($0, nil) }
        }
        let items = rule.taskItems.compactMap { $0 }
        if group.count != items.count {
            reasons.append(
                "rule `\(rule.name)` runs \(items.count) task\(items.count == 1 ? "" : "s") (one per item), the test lists \(group.count)"
            )
        }
        var left = items
        var pairs: [(RuleTest.Expectation, ForEach.Item?)] = []
        for e in group {
            if let wanted = e.item {
                guard let index = left.firstIndex(where: { sameJSON($0.value, wanted) }) else {
                    reasons.append("rule `\(rule.name)` runs no task for item \(wanted.compactJSON)")
                    continue
                }
                pairs.append((e, left.remove(at: index)))
            } else if !left.isEmpty {
                pairs.append((e, left.removeFirst()))
            }
        }
        return pairs
    }

    /// Compares an item with the one a test writes: scalars by their text, so `item: 3` is the item `3`.
    static func sameJSON(_ a: JSONValue, _ b: JSONValue) -> Bool {
        switch (a, b) {
        case (.array(let x), .array(let y)): return x.count == y.count && zip(x, y).allSatisfy { sameJSON($0, $1) }
        case (.object(let x), .object(let y)):
            return x.count == y.count && x.allSatisfy { pair in b[pair.key].map { sameJSON(pair.value, $0) } ?? false }
        case (.array, _), (.object, _), (_, .array), (_, .object): return false
        default: return a.text == b.text
        }
    }

    /// A schedule test: the tick runs the tasks of its rule (one, or one per `forEach` item),
    /// rendered with `schedule.time` in the schedule's zone, as the daemon renders them.
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
            scheduleTime: schedule.timeText(of: tick.time), steps: test.steps)
        for e in test.expect where e.rule != rule.name {
            reasons.append("rule `\(e.rule)` was expected but the tick runs only `\(rule.name)`")
        }
        let group = test.expect.filter { $0.rule == rule.name }
        for (e, item) in Self.assign(group, to: rule, reasons: &reasons) {
            if let captures = e.captures, !captures.isEmpty {
                reasons.append("rule `\(e.rule)`: a tick has no captures, expected \(Self.describe(captures))")
            }
            var itemContext = context
            itemContext.item = item?.value
            reasons += Self.checkActions(e, of: rule, itemContext, item: item)
        }
        return reasons
    }

    /// One run of an action in a task: the action, and its `forEach` item when it has one.
    public struct ActionRun: Sendable {
        public var index: Int
        public var action: Action
        public var item: ForEach.Item?
    }

    /// The action runs of a task, in order: each action once, or once per item of its `forEach`
    /// (read from `context.steps` when it reads a step's output).
    /// - Throws: when an action's items cannot be had.
    public static func runs(of rule: Rule, _ context: MessageTemplateContext) throws(ForEach.Failure) -> [ActionRun] {
        var runs: [ActionRun] = []
        for (index, action) in rule.actions.enumerated() {
            guard let forEach = action.forEach else {
                runs.append(ActionRun(index: index, action: action, item: nil))
                continue
            }
            for item in try forEach.items(steps: context.steps) {
                runs.append(ActionRun(index: index, action: action, item: item))
            }
        }
        return runs
    }

    /// How the rule's actions, rendered in `context`, differ from those `expectation` lists.
    private static func checkActions(
        _ expectation: RuleTest.Expectation, of rule: Rule, _ context: MessageTemplateContext, item: ForEach.Item?
    ) -> [String] {
        guard let expectedActions = expectation.actions else { return [] }
        let name = item.map { "`\(expectation.rule)` (item \($0.value.compactJSON))" } ?? "`\(expectation.rule)`"
        let runs: [ActionRun]
        do {
            runs = try Self.runs(of: rule, context)
        } catch {
            return ["rule \(name): \(error.description); give the step's output in the test's `steps:`"]
        }
        if expectedActions.count != runs.count {
            let written = runs.count == rule.actions.count ? "actions" : "action runs (with their `forEach` items)"
            return ["rule \(name) has \(runs.count) \(written), the test lists \(expectedActions.count)"]
        }
        var reasons: [String] = []
        for (i, (want, run)) in zip(expectedActions, runs).enumerated() {
            let action = run.action
            guard want.plugin == action.plugin else {
                reasons.append(
                    "rule \(name) action \(i + 1) is `\(action.plugin.rawValue)`, the test expects `\(want.plugin.rawValue)`"
                )
                continue
            }
            var runContext = context
            if let actionItem = run.item { runContext.item = actionItem.value }
            let rendered: [(key: String, value: RenderedValue)]
            do {
                rendered = try action.render(runContext)
            } catch {
                reasons.append("rule \(name) action \(i + 1) does not render: \(error.message)")
                continue
            }
            for (key, value) in want.options {
                let actual = rendered.first { $0.key == key }?.value
                if actual.map({ sameText($0, value) }) != true {
                    reasons.append(
                        "rule \(name) action \(i + 1) `\(action.plugin.rawValue).\(key)` is \(actual.map(describe) ?? "absent"), expected \(describe(value))"
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
