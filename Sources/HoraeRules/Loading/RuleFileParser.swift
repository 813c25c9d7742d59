#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Turns one file's YAML tree into rules and tests, collecting every problem as a diagnostic.
///
/// Parsing goes on after an error wherever the rest of the file still makes sense, so that one
/// `horae validate` run reports all mistakes. A rule with an error is not returned.
struct RuleFileParser: DiagnosingYAMLReader {
    let path: String
    var diagnostics = DiagnosticBag()
    var rules: [Rule] = []
    var tests: [RuleTest] = []
    /// Every rule name written in the file, including rules that did not load.
    var attemptedRuleNames: [String] = []
    /// Patterns already compiled in this file: rules written alike share one `StringPattern`
    /// (and so one automaton), which saves parsing, memory and cache space.
    var patterns: [PatternKey: StringPattern] = [:]

    init(path: String) { self.path = path }

    static let topLevelKeys = ["rules", "tests"]
    static let ruleKeys = [
        "name", "description", "on", "dedup", "retry", "timeout", "concurrency", "taskLog", "forEach", "actions",
    ]
    static let dedupKeys = ["key", "window"]
    static let retryKeys = ["maxAttempts", "initialBackoff", "maxBackoff", "multiplier", "deadLetter"]

    // MARK: - File

    mutating func parseFile(_ root: YAMLNode?) {
        guard let root, !root.isNull else {
            diagnostics.warning(
                .missingKey, "the file is empty; a rules file holds `rules:` (and optionally `tests:`)",
                at: SourceLocation(path: path, line: 1, column: 1))
            return
        }
        guard let pairs = mapping(root, "a rules file", example: "rules:\n  - name: …") else { return }
        checkKeys(pairs, allowed: Self.topLevelKeys, in: "a rules file")
        if let rulesNode = root["rules"] {
            if let items = list(rulesNode, "`rules`") {
                for item in items { if let rule = parseRule(item) { rules.append(rule) } }
            }
        } else {
            diagnostics.error(
                .missingKey, "missing `rules:`; a rules file holds a list of rules under `rules:`", at: root.location)
        }
        if let testsNode = root["tests"], let items = list(testsNode, "`tests`") {
            for item in items { if let test = parseTest(item) { tests.append(test) } }
        }
    }

    // MARK: - Rules

    mutating func parseRule(_ node: YAMLNode) -> Rule? {
        guard let pairs = mapping(node, "a rule", example: "- name: my-rule") else { return nil }
        let errorsBefore = errorCount
        checkKeys(pairs, allowed: Self.ruleKeys, in: "a rule")
        var name = ""
        if let n = required(node, "name", in: "a rule"), let text = scalarText(n, "`name`") {
            name = text
            attemptedRuleNames.append(text)
            if !Self.isValidRuleName(text) {
                diagnostics.error(
                    .invalidRuleName,
                    "rule name `\(text)` must match [a-z0-9][a-z0-9._-]*, e.g. `\(Self.suggestedName(text))`",
                    at: n.location)
            }
        }
        let description = node["description"].flatMap { scalarText($0, "`description`") }
        var trigger: Trigger?
        if let on = required(node, "on", in: "a rule") { trigger = parseTrigger(on) }
        let forEach = node["forEach"].flatMap { parseForEach($0, steps: [:], in: "a rule") }
        let scope = Template.Scope(
            captures: trigger.map(Self.captures(of:)) ?? [], isSchedule: trigger.map(Self.isSchedule) ?? false,
            hasItem: forEach != nil)
        let guaranteed = trigger.map(Self.guaranteedAttributes(of:)) ?? []
        let context = TemplateChecks(scope: scope, guaranteedAttributes: guaranteed)

        var dedup: Dedup?
        if let d = node["dedup"],
            let dPairs = mapping(d, "`dedup`", example: "dedup: { key: \"{{ attributes.objectId }}\", window: 6h }")
        {
            checkKeys(dPairs, allowed: Self.dedupKeys, in: "`dedup`")
            let key = required(d, "key", in: "`dedup`").flatMap { template($0, "`dedup.key`", context) }
            let window = required(d, "window", in: "`dedup`").flatMap { duration($0, "`dedup.window`") }
            if let key, let window { dedup = Dedup(key: key, window: window) }
        }
        var retry = RetryPolicy()
        if let r = node["retry"] { retry = parseRetry(r, context) }
        let timeout = node["timeout"].flatMap { duration($0, "`timeout`") }
        let concurrency = node["concurrency"].flatMap { integer($0, "`concurrency`", in: 1...100_000) }
        var taskLog = Rule.TaskLogLevel.info
        if let t = node["taskLog"], let text = scalarText(t, "`taskLog`") {
            if let level = Rule.TaskLogLevel(rawValue: text) {
                taskLog = level
            } else {
                diagnostics.error(.invalidValue, "`taskLog` is `info` or `debug`, not `\(text)`", at: t.location)
            }
        }
        var actions: [Action] = []
        if let a = required(node, "actions", in: "a rule"), let items = list(a, "`actions`") {
            if items.isEmpty {
                diagnostics.error(
                    .emptyMatcher,
                    "`actions` is empty; a rule needs at least one action, e.g. `- log: { message: \"{{ attributes.objectId }}\" }`",
                    at: a.location)
            }
            // Each action may read the outputs of the named actions before it.
            var steps: [String: Plugin] = [:]
            for item in items {
                var actionContext = context
                actionContext.scope.steps = steps
                guard let action = parseAction(item, actionContext) else { continue }
                actions.append(action)
                if let name = action.name {
                    if steps[name] != nil, let n = item["name"] {
                        diagnostics.error(
                            .invalidAction,
                            "another action of this rule is already named `\(name)`; names tell `steps.NAME` apart",
                            at: n.location)
                    }
                    steps[name] = action.plugin
                }
            }
        }
        guard errorCount == errorsBefore, let trigger else { return nil }
        return Rule(
            name: name, description: description, location: node.location, trigger: trigger, dedup: dedup,
            retry: retry, timeout: timeout, concurrency: concurrency, taskLog: taskLog, forEach: forEach,
            actions: actions)
    }

    static func isValidRuleName(_ s: String) -> Bool {
        guard let first = s.utf8.first, isLowerAlnum(first) else { return false }
        return s.utf8.allSatisfy {
            isLowerAlnum($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-")
        }
    }

    static func isLowerAlnum(_ c: UInt8) -> Bool { (c >= 97 && c <= 122) || (c >= 48 && c <= 57) }

    static func suggestedName(_ s: String) -> String {
        var out = String(
            s.lowercased().map { ($0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0))) ? $0 : "-" })
        while let f = out.first, !(f.isASCII && (f.isLetter || f.isNumber)) { out.removeFirst() }
        return out.isEmpty ? "my-rule" : out
    }

    static func captures(of trigger: Trigger) -> Set<String> {
        guard case .message(let clauses) = trigger else { return [] }
        return Set(clauses.flatMap { $0.conditions.flatMap(\.matcher.captureNames) })
    }

    static func isSchedule(_ trigger: Trigger) -> Bool {
        if case .schedule = trigger { return true }
        return false
    }

    /// Attributes every clause requires to be present (templates may use them without a default).
    static func guaranteedAttributes(of trigger: Trigger) -> Set<String> {
        guard case .message(let clauses) = trigger, !clauses.isEmpty else { return [] }
        let sets = clauses.map { clause in
            Set(
                clause.conditions.compactMap { c -> String? in
                    if case .attribute(let name) = c.field, c.matcher.requiresPresence { return name }
                    return nil
                })
        }
        return sets.dropFirst().reduce(sets[0]) { $0.intersection($1) }
    }

    // MARK: - Retry

    mutating func parseRetry(_ node: YAMLNode, _ context: TemplateChecks) -> RetryPolicy {
        var retry = RetryPolicy()
        guard let pairs = mapping(node, "`retry`", example: "retry: { maxAttempts: 5, initialBackoff: 10s }") else {
            return retry
        }
        checkKeys(pairs, allowed: Self.retryKeys, in: "`retry`")
        if let n = node["maxAttempts"], let v = integer(n, "`maxAttempts`", in: 1...1000) { retry.maxAttempts = v }
        if let n = node["initialBackoff"], let v = duration(n, "`initialBackoff`") { retry.initialBackoff = v }
        if let n = node["maxBackoff"], let v = duration(n, "`maxBackoff`") { retry.maxBackoff = v }
        if let n = node["multiplier"] {
            if let text = n.scalar, let v = DecimalNumber.parse(text), v >= 1, v <= 100 {
                retry.multiplier = v
            } else {
                diagnostics.error(.invalidNumber, "`multiplier` is a number from 1 to 100, such as `2`", at: n.location)
            }
        }
        if retry.maxBackoff < retry.initialBackoff, let n = node["maxBackoff"] {
            diagnostics.error(
                .invalidDuration,
                "`maxBackoff` (\(DurationParser.format(retry.maxBackoff))) is shorter than `initialBackoff` (\(DurationParser.format(retry.initialBackoff)))",
                at: n.location)
        }
        if let n = node["deadLetter"] { retry.deadLetter = template(n, "`deadLetter`", context) }
        return retry
    }

    // MARK: - Templates

    /// What templates in one rule may reference.
    struct TemplateChecks {
        var scope: Template.Scope
        var guaranteedAttributes: Set<String>
    }

    mutating func template(_ node: YAMLNode, _ what: String, _ context: TemplateChecks) -> Template? {
        guard let text = scalarText(node, what) else { return nil }
        guard let t = Template.parse(text, at: contentLocation(node), scope: context.scope, diagnostics: &diagnostics)
        else { return nil }
        if !context.scope.isSchedule {
            for ref in t.references where !ref.hasDefault {
                if case .attribute(let name) = ref.variable, !context.guaranteedAttributes.contains(name) {
                    diagnostics.warning(
                        .attributeNotGuaranteed,
                        "`attributes.\(name)` may be absent: the rule does not require it; match it (e.g. `\(name): { exists: true }`) or add `| default(\"…\")`",
                        at: ref.location)
                }
            }
        }
        return t
    }
}
