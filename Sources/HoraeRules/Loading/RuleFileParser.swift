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
    private var patterns: [PatternKey: StringPattern] = [:]

    private struct PatternKey: Hashable {
        var kind: StringPattern.Kind
        var source: String
        var ignoreCase: Bool
    }

    init(path: String) { self.path = path }

    static let topLevelKeys = ["rules", "tests"]
    static let ruleKeys = ["name", "description", "on", "dedup", "retry", "timeout", "concurrency", "actions"]
    static let triggerKeys = ["message", "schedule"]
    static let clauseKeys = ["subscription", "attributes", "data"]
    static let scheduleKeys = ["cron", "timezone", "catchUp"]
    static let dedupKeys = ["key", "window"]
    static let retryKeys = ["maxAttempts", "initialBackoff", "maxBackoff", "multiplier", "deadLetter"]
    static let operatorKeys = ["exact", "glob", "prefix", "suffix", "regex", "exists", "lt", "le", "gt", "ge", "eq",
                               "not", "anyOf", "allOf", "ignoreCase"]
    static let testKeys = ["name", "message", "expect"]
    static let testMessageKeys = ["attributes", "data", "id", "publishTime", "orderingKey", "subscription"]
    static let expectationKeys = ["rule", "captures", "actions"]

    // MARK: - File

    mutating func parseFile(_ root: YAMLNode?) {
        guard let root, !root.isNull else {
            diagnostics.warning(.missingKey, "the file is empty; a rules file holds `rules:` (and optionally `tests:`)",
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
            diagnostics.error(.missingKey, "missing `rules:`; a rules file holds a list of rules under `rules:`", at: root.location)
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
                diagnostics.error(.invalidRuleName, "rule name `\(text)` must match [a-z0-9][a-z0-9._-]*, e.g. `\(Self.suggestedName(text))`", at: n.location)
            }
        }
        let description = node["description"].flatMap { scalarText($0, "`description`") }
        var trigger: Trigger?
        if let on = required(node, "on", in: "a rule") { trigger = parseTrigger(on) }
        let scope = Template.Scope(captures: trigger.map(Self.captures(of:)) ?? [], isSchedule: trigger.map(Self.isSchedule) ?? false)
        let guaranteed = trigger.map(Self.guaranteedAttributes(of:)) ?? []
        let context = TemplateChecks(scope: scope, guaranteedAttributes: guaranteed)

        var dedup: Dedup?
        if let d = node["dedup"], let dPairs = mapping(d, "`dedup`", example: "dedup: { key: \"{{ attributes.objectId }}\", window: 6h }") {
            checkKeys(dPairs, allowed: Self.dedupKeys, in: "`dedup`")
            let key = required(d, "key", in: "`dedup`").flatMap { template($0, "`dedup.key`", context) }
            let window = required(d, "window", in: "`dedup`").flatMap { duration($0, "`dedup.window`") }
            if let key, let window { dedup = Dedup(key: key, window: window) }
        }
        var retry = RetryPolicy()
        if let r = node["retry"] { retry = parseRetry(r, context) }
        let timeout = node["timeout"].flatMap { duration($0, "`timeout`") }
        let concurrency = node["concurrency"].flatMap { integer($0, "`concurrency`", in: 1...100_000) }
        var actions: [Action] = []
        if let a = required(node, "actions", in: "a rule"), let items = list(a, "`actions`") {
            if items.isEmpty {
                diagnostics.error(.emptyMatcher, "`actions` is empty; a rule needs at least one action, e.g. `- log: { message: \"{{ attributes.objectId }}\" }`", at: a.location)
            }
            for item in items { if let action = parseAction(item, context) { actions.append(action) } }
        }
        guard errorCount == errorsBefore, let trigger else { return nil }
        return Rule(name: name, description: description, location: node.location, trigger: trigger, dedup: dedup,
                    retry: retry, timeout: timeout, concurrency: concurrency, actions: actions)
    }

    static func isValidRuleName(_ s: String) -> Bool {
        guard let first = s.utf8.first, isLowerAlnum(first) else { return false }
        return s.utf8.allSatisfy { isLowerAlnum($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
    }

    static func isLowerAlnum(_ c: UInt8) -> Bool { (c >= 97 && c <= 122) || (c >= 48 && c <= 57) }

    static func suggestedName(_ s: String) -> String {
        var out = String(s.lowercased().map { ($0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0))) ? $0 : "-" })
        while let f = out.first, !(f.isASCII && (f.isLetter || f.isNumber)) { out.removeFirst() }
        return out.isEmpty ? "my-rule" : out
    }

    static func captures(of trigger: Trigger) -> Set<String> {
        guard case let .message(clauses) = trigger else { return [] }
        return Set(clauses.flatMap { $0.conditions.flatMap(\.matcher.captureNames) })
    }

    static func isSchedule(_ trigger: Trigger) -> Bool {
        if case .schedule = trigger { return true }
        return false
    }

    /// Attributes every clause requires to be present (templates may use them without a default).
    static func guaranteedAttributes(of trigger: Trigger) -> Set<String> {
        guard case let .message(clauses) = trigger, !clauses.isEmpty else { return [] }
        let sets = clauses.map { clause in
            Set(clause.conditions.compactMap { c -> String? in
                if case let .attribute(name) = c.field, c.matcher.requiresPresence { return name }
                return nil
            })
        }
        return sets.dropFirst().reduce(sets[0]) { $0.intersection($1) }
    }

    // MARK: - Triggers

    mutating func parseTrigger(_ node: YAMLNode) -> Trigger? {
        guard let pairs = mapping(node, "`on`", example: "on: { message: { attributes: { eventType: OBJECT_FINALIZE } } }") else { return nil }
        checkKeys(pairs, allowed: Self.triggerKeys, in: "`on`")
        let message = node["message"], schedule = node["schedule"]
        switch (message, schedule) {
        case (nil, nil):
            diagnostics.error(.invalidTrigger, "`on` needs `message:` (match Pub/Sub messages) or `schedule:` (run on a cron schedule)", at: node.location)
            return nil
        case (.some, .some):
            diagnostics.error(.invalidTrigger, "`on` takes exactly one of `message:` or `schedule:`; split this into two rules", at: schedule!.location)
            return nil
        case let (m?, nil):
            if let items = m.sequence {
                if items.isEmpty {
                    diagnostics.error(.emptyMatcher, "`on.message` is an empty list; give at least one mapping of conditions", at: m.location)
                    return nil
                }
                let clauses = items.compactMap { parseClause($0) }
                return clauses.count == items.count ? .message(clauses) : nil
            }
            return parseClause(m).map { .message([$0]) }
        case let (nil, s?):
            return parseSchedule(s).map { .schedule($0) }
        }
    }

    mutating func parseClause(_ node: YAMLNode) -> MessageClause? {
        if node.isNull { return MessageClause(conditions: [], location: node.location) }
        guard let pairs = mapping(node, "`on.message`", example: "message: { attributes: { bucketId: my-bucket } }") else { return nil }
        let errorsBefore = errorCount
        checkKeys(pairs, allowed: Self.clauseKeys, in: "`on.message`")
        var subscriptions: [String]?
        if let s = node["subscription"] {
            if let items = s.sequence {
                subscriptions = items.compactMap { scalarText($0, "a subscription name") }
            } else if let text = scalarText(s, "`subscription`") {
                subscriptions = [text]
            }
        }
        var conditions: [FieldCondition] = []
        if let attrs = node["attributes"], let attrPairs = mapping(attrs, "`attributes`", example: "attributes: { eventType: OBJECT_FINALIZE }") {
            for (key, value) in attrPairs {
                guard let name = scalarText(key, "an attribute name") else { continue }
                if let m = parseMatcher(value, field: name, isData: false) {
                    conditions.append(FieldCondition(field: .attribute(name), matcher: m, location: key.location))
                }
            }
        }
        if let data = node["data"], let dataPairs = mapping(data, "`data`", example: "data: { size: { gt: 0 } }") {
            for (key, value) in dataPairs {
                guard let name = scalarText(key, "a data path") else { continue }
                let path = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
                if path.contains(where: \.isEmpty) {
                    diagnostics.error(.invalidValue, "`\(name)` is not a dotted path; write fields as `a.b.c`", at: key.location)
                    continue
                }
                if let m = parseMatcher(value, field: name, isData: true) {
                    conditions.append(FieldCondition(field: .data(path), matcher: m, location: key.location))
                }
            }
        }
        guard errorCount == errorsBefore else { return nil }
        return MessageClause(subscriptions: subscriptions, conditions: conditions, location: node.location)
    }

    mutating func parseSchedule(_ node: YAMLNode) -> Schedule? {
        if let text = node.scalar, !node.isNull {
            diagnostics.error(.wrongType, "`schedule` is a mapping; write `schedule: { cron: \"\(text)\" }`", at: node.location)
            return nil
        }
        guard let pairs = mapping(node, "`schedule`", example: "schedule: { cron: \"0 * * * *\" }") else { return nil }
        checkKeys(pairs, allowed: Self.scheduleKeys, in: "`schedule`")
        var cron: CronExpression?
        if let c = required(node, "cron", in: "`schedule`"), let text = scalarText(c, "`cron`") {
            do {
                cron = try CronExpression.parse(text)
            } catch {
                diagnostics.error(.invalidCron, error.message, at: contentLocation(c).advanced(byColumns: error.offset))
            }
        }
        var timezone: String?
        if let t = node["timezone"], let text = scalarText(t, "`timezone`") {
            if ScheduleTimeZone(identifier: text) == nil {
                let known = ScheduleTimeZone.knownIdentifiers()
                let hint = Suggestions.closest(to: text, in: known).map { "; did you mean `\($0)`?" }
                    ?? (known.count > 2 ? "; use an IANA name such as `Asia/Taipei` or `UTC`"
                        : "; the time zone database is not installed in `\(ScheduleTimeZone.databaseDirectory)` (install tzdata, or set TZDIR)")
                diagnostics.error(.invalidTimezone, "unknown time zone `\(text)`\(hint)", at: t.location)
            } else {
                timezone = text
            }
        }
        let catchUp = node["catchUp"].flatMap { bool($0, "`catchUp`") } ?? false
        guard let cron else { return nil }
        return Schedule(cron: cron, timezone: timezone, catchUp: catchUp, location: node.location)
    }

    // MARK: - Matchers

    mutating func parseMatcher(_ node: YAMLNode, field: String, isData: Bool) -> FieldMatcher? {
        switch node.kind {
        case .scalar:
            if node.isNull {
                diagnostics.error(.emptyMatcher, "`\(field)` has no value; write a pattern, or `{ exists: false }` to require that the field is absent", at: node.location)
                return nil
            }
            return pattern(.glob, node, ignoreCase: false)
        case let .sequence(items):
            if items.isEmpty {
                diagnostics.error(.emptyMatcher, "`\(field)` is an empty list, which matches nothing; list at least one pattern", at: node.location)
                return nil
            }
            let ms = items.compactMap { parseMatcher($0, field: field, isData: isData) }
            return ms.count == items.count ? .anyOf(ms) : nil
        case let .mapping(pairs):
            if pairs.isEmpty {
                diagnostics.error(.emptyMatcher, "`\(field)` has an empty mapping; give an operator such as `{ prefix: \"…\" }`", at: node.location)
                return nil
            }
            var ignoreCase = false
            var stringOperators: [String] = []
            if let ic = node["ignoreCase"] { ignoreCase = bool(ic, "`ignoreCase`") ?? false }
            var parts: [FieldMatcher] = []
            var ok = true
            for (key, value) in pairs {
                guard let op = key.scalar else { ok = false; continue }
                switch op {
                case "ignoreCase":
                    continue
                case "exact", "glob", "prefix", "suffix", "regex":
                    stringOperators.append(op)
                    guard value.scalar != nil, !value.isNull else {
                        diagnostics.error(.wrongType, "`\(op)` takes a string, found \(value.kindDescription)", at: value.location)
                        ok = false
                        continue
                    }
                    if op == "regex", ignoreCase {
                        diagnostics.error(.misplacedIgnoreCase, "`ignoreCase` does not apply to `regex`; start the regex with `(?i)` instead", at: node["ignoreCase"]!.location)
                        ok = false
                    }
                    if let p = pattern(StringPattern.Kind(rawValue: op)!, value, ignoreCase: ignoreCase && op != "regex") { parts.append(p) } else { ok = false }
                case "exists":
                    if let b = bool(value, "`exists`") { parts.append(.exists(b)) } else { ok = false }
                case "lt", "le", "gt", "ge", "eq":
                    if let text = value.scalar, !value.isNull, let n = DecimalNumber.parse(text) {
                        parts.append(.numeric(FieldMatcher.NumericComparison(rawValue: op)!, n))
                    } else {
                        diagnostics.error(.invalidNumber, "`\(op)` takes a decimal number such as `0` or `2.5`, found \(value.scalar.map { "`\($0)`" } ?? value.kindDescription)", at: value.location)
                        ok = false
                    }
                case "not":
                    if let inner = parseMatcher(value, field: field, isData: isData) {
                        if let name = inner.captureNames.first {
                            diagnostics.error(.invalidCapture, "capture `\(name)` inside `not` can never bind; capture outside `not`", at: value.location)
                            ok = false
                        }
                        parts.append(.not(inner))
                    } else { ok = false }
                case "anyOf", "allOf":
                    guard let items = value.sequence else {
                        diagnostics.error(.wrongType, "`\(op)` takes a list of matchers, found \(value.kindDescription)", at: value.location)
                        ok = false
                        continue
                    }
                    if items.isEmpty {
                        diagnostics.error(.emptyMatcher, "`\(op)` is empty; list at least one matcher", at: value.location)
                        ok = false
                        continue
                    }
                    let ms = items.compactMap { parseMatcher($0, field: field, isData: isData) }
                    if ms.count == items.count { parts.append(op == "anyOf" ? .anyOf(ms) : .allOf(ms)) } else { ok = false }
                default:
                    var message = "unknown operator `\(op)`" + Suggestions.hint(for: op, in: Self.operatorKeys)
                    if isData, !Self.operatorKeys.contains(op) {
                        message += " (to match a nested field write its dotted path, `\(field).\(op)`)"
                    }
                    diagnostics.error(.unknownOperator, message, at: key.location)
                    ok = false
                }
            }
            if ignoreCase, !stringOperators.contains(where: { $0 != "regex" }), node["ignoreCase"] != nil, ok {
                diagnostics.error(.misplacedIgnoreCase, "`ignoreCase` goes beside `exact`, `glob`, `prefix` or `suffix`", at: node["ignoreCase"]!.location)
                ok = false
            }
            guard ok else { return nil }
            if parts.isEmpty {
                diagnostics.error(.emptyMatcher, "`\(field)` has only `ignoreCase`; add `exact`, `glob`, `prefix` or `suffix`", at: node.location)
                return nil
            }
            return parts.count == 1 ? parts[0] : .allOf(parts)
        }
    }

    mutating func pattern(_ kind: StringPattern.Kind, _ node: YAMLNode, ignoreCase: Bool) -> FieldMatcher? {
        let text = node.scalar ?? ""
        let key = PatternKey(kind: kind, source: text, ignoreCase: ignoreCase)
        if let known = patterns[key] { return .pattern(known) }
        do {
            let p = try StringPattern(kind: kind, source: text, ignoreCase: ignoreCase)
            patterns[key] = p
            return .pattern(p)
        } catch {
            let code: DiagnosticCode = kind == .regex ? .invalidRegex : .invalidGlob
            diagnostics.error(code, error.message, at: contentLocation(node).advanced(byColumns: error.offset))
            return nil
        }
    }

    // MARK: - Retry and actions

    mutating func parseRetry(_ node: YAMLNode, _ context: TemplateChecks) -> RetryPolicy {
        var retry = RetryPolicy()
        guard let pairs = mapping(node, "`retry`", example: "retry: { maxAttempts: 5, initialBackoff: 10s }") else { return retry }
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
            diagnostics.error(.invalidDuration, "`maxBackoff` (\(DurationParser.format(retry.maxBackoff))) is shorter than `initialBackoff` (\(DurationParser.format(retry.initialBackoff)))", at: n.location)
        }
        if let n = node["deadLetter"] { retry.deadLetter = template(n, "`deadLetter`", context) }
        return retry
    }

    mutating func parseAction(_ node: YAMLNode, _ context: TemplateChecks) -> Action? {
        let pluginNames = Plugin.allCases.map(\.rawValue)
        guard let pairs = mapping(node, "an action", example: "- exec: { command: [\"/bin/true\"] }") else { return nil }
        let errorsBefore = errorCount
        var plugins: [(Plugin, YAMLNode, YAMLNode)] = []
        for (key, value) in pairs {
            guard let k = key.scalar else { continue }
            if k == "name" || k == "timeout" { continue }
            if let p = Plugin(rawValue: k) {
                plugins.append((p, key, value))
            } else {
                diagnostics.error(.unknownPlugin, "unknown plugin `\(k)`" + Suggestions.hint(for: k, in: pluginNames + ["name", "timeout"]), at: key.location)
            }
        }
        let name = node["name"].flatMap { scalarText($0, "`name`") }
        let timeout = node["timeout"].flatMap { duration($0, "`timeout`") }
        if plugins.count > 1 {
            diagnostics.error(.invalidAction, "an action runs one plugin; `\(plugins[1].0.rawValue)` must be its own list item (`- \(plugins[1].0.rawValue): …`)", at: plugins[1].1.location)
        }
        guard let (plugin, _, optionsNode) = plugins.first else {
            if errorCount == errorsBefore {
                diagnostics.error(.invalidAction, "an action needs one plugin key: " + pluginNames.map { "`\($0)`" }.joined(separator: ", "), at: node.location)
            }
            return nil
        }
        let options = parseOptions(plugin, optionsNode, context)
        guard errorCount == errorsBefore, let options else { return nil }
        return Action(plugin: plugin, name: name, timeout: timeout, options: options, location: node.location)
    }

    mutating func parseOptions(_ plugin: Plugin, _ node: YAMLNode, _ context: TemplateChecks) -> [(key: String, value: OptionValue)]? {
        let schema = plugin.schema
        guard let pairs = mapping(node, "the options of `\(plugin.rawValue)`", example: "\(plugin.rawValue): { \(schema.options[0].name): … }") else { return nil }
        var out: [(key: String, value: OptionValue)] = []
        let names = schema.options.map(\.name)
        for (key, value) in pairs {
            guard let k = key.scalar else { continue }
            guard let spec = schema.option(k) else {
                let suggestion = Suggestions.closest(to: k, in: names).map { "; did you mean `\($0)`?" } ?? ""
                diagnostics.error(.unknownOption, "unknown option `\(k)` for `\(plugin.rawValue)`\(suggestion) (valid: \(names.joined(separator: ", ")))", at: key.location)
                continue
            }
            if let v = optionValue(value, spec.type, what: "`\(plugin.rawValue).\(k)`", context) { out.append((key: k, value: v)) }
        }
        for spec in schema.options where spec.required && node[spec.name] == nil {
            diagnostics.error(.missingOption, "`\(plugin.rawValue)` needs `\(spec.name)`", at: node.location)
        }
        for group in schema.exclusive {
            let given = group.filter { node[$0] != nil }
            if given.count > 1 {
                diagnostics.error(.invalidOption, "`\(plugin.rawValue)` takes only one of " + given.map { "`\($0)`" }.joined(separator: " or "), at: node[given[1]]!.location)
            }
        }
        if plugin == .gcs, let op = node["operation"]?.scalar { checkGCSOptions(op, node) }
        return out
    }

    mutating func checkGCSOptions(_ op: String, _ node: YAMLNode) {
        switch op {
        case "copy", "move":
            if node["toBucket"] == nil && node["toObject"] == nil {
                diagnostics.error(.missingOption, "`gcs` \(op) needs `toBucket`, `toObject` or both", at: node.location)
            }
        case "download":
            if node["directory"] == nil {
                diagnostics.error(.missingOption, "`gcs` download needs `directory` (the local folder the object is written into)", at: node.location)
            }
        default:
            break
        }
        for key in ["toBucket", "toObject"] where op == "delete" || op == "download" {
            if let n = node[key] { diagnostics.error(.invalidOption, "`\(key)` has no meaning for `gcs` \(op)", at: n.location) }
        }
        if op != "download", let n = node["directory"] {
            diagnostics.error(.invalidOption, "`directory` is only for `gcs` download", at: n.location)
        }
    }

    mutating func optionValue(_ node: YAMLNode, _ type: PluginSchema.ValueType, what: String, _ context: TemplateChecks) -> OptionValue? {
        switch type {
        case .string:
            return template(node, what, context).map { .template($0) }
        case .stringList:
            guard let items = node.sequence else {
                let example = node.scalar.map { "[\"\($0.split(separator: " ").joined(separator: "\", \""))\"]" } ?? "[\"…\"]"
                diagnostics.error(.invalidOption, "\(what) is a list of strings, as in \(example); nothing is split or passed through a shell", at: node.location)
                return nil
            }
            if items.isEmpty {
                diagnostics.error(.invalidOption, "\(what) is empty; give at least one element", at: node.location)
                return nil
            }
            let ts = items.compactMap { template($0, what, context) }
            return ts.count == items.count ? .list(ts.map { .template($0) }) : nil
        case .stringMap:
            guard let pairs = mapping(node, what, example: "\(what): { NAME: \"value\" }") else { return nil }
            var out: [(key: String, value: OptionValue)] = []
            for (k, v) in pairs {
                guard let key = scalarText(k, "a key of \(what)"), let t = template(v, "\(what).\(key)", context) else { continue }
                out.append((key: key, value: .template(t)))
            }
            return out.count == pairs.count ? .map(out) : nil
        case .structured:
            return structured(node, what, context)
        case let .integer(range):
            return integer(node, what, in: range).map { .integer($0) }
        case let .integers(range):
            if let items = node.sequence {
                let vs = items.compactMap { integer($0, what, in: range) }
                return vs.count == items.count ? .list(vs.map { .integer($0) }) : nil
            }
            return integer(node, what, in: range).map { .list([.integer($0)]) }
        case .bool:
            return bool(node, what).map { .bool($0) }
        case let .oneOf(choices):
            guard let text = scalarText(node, what) else { return nil }
            guard choices.contains(text) else {
                diagnostics.error(.invalidOption, "\(what) is `\(text)`" + Suggestions.hint(for: text, in: choices).replacing("; expected", with: "; it must be"), at: node.location)
                return nil
            }
            return .template(Template.literal(text))
        case .duration:
            return duration(node, what).map { .template(Template.literal(DurationParser.format($0))) }
        }
    }

    /// A `json:` body: YAML structure kept as is, quoted strings as templates, plain scalars typed.
    mutating func structured(_ node: YAMLNode, _ what: String, _ context: TemplateChecks) -> OptionValue? {
        switch node.kind {
        case let .scalar(text, style):
            if style == .plain, node.tag == nil {
                if node.isNull { return .null }
                if let b = node.bool { return .bool(b) }
                if let i = Int(text) { return .integer(i) }
                if DecimalNumber.parse(text) != nil, let d = Double(text) { return .number(d) }
            }
            return template(node, what, context).map { .template($0) }
        case let .sequence(items):
            let vs = items.compactMap { structured($0, what, context) }
            return vs.count == items.count ? .list(vs) : nil
        case let .mapping(pairs):
            var out: [(key: String, value: OptionValue)] = []
            for (k, v) in pairs {
                guard let key = scalarText(k, "a key of \(what)") else { return nil }
                guard let value = structured(v, "\(what).\(key)", context) else { return nil }
                out.append((key: key, value: value))
            }
            return .map(out)
        }
    }

    // MARK: - Tests

    mutating func parseTest(_ node: YAMLNode) -> RuleTest? {
        guard let pairs = mapping(node, "a test", example: "- name: …\n    message: { attributes: { … } }\n    expect: []") else { return nil }
        let errorsBefore = errorCount
        checkKeys(pairs, allowed: Self.testKeys, in: "a test")
        let name = required(node, "name", in: "a test").flatMap { scalarText($0, "`name`") } ?? ""
        var message = PubSubMessage(id: "test-message")
        if let m = required(node, "message", in: "a test"), let mPairs = mapping(m, "`message`", example: "message: { attributes: { bucketId: b } }") {
            checkKeys(mPairs, allowed: Self.testMessageKeys, in: "a test `message`")
            if let a = m["attributes"], let aPairs = mapping(a, "`attributes`", example: "attributes: { bucketId: b }") {
                for (k, v) in aPairs {
                    if let key = scalarText(k, "an attribute name"), let value = scalarText(v, "an attribute value") {
                        message.attributes[key] = value
                    }
                }
            }
            if let d = m["data"] {
                if let text = d.scalar, d.mapping == nil, d.sequence == nil {
                    message.data = Array(text.utf8)
                } else {
                    message.data = Array(jsonValue(d).compactJSON.utf8)
                }
            }
            if let v = m["id"].flatMap({ scalarText($0, "`id`") }) { message.id = v }
            message.publishTime = m["publishTime"].flatMap { scalarText($0, "`publishTime`") }
            message.orderingKey = m["orderingKey"].flatMap { scalarText($0, "`orderingKey`") }
            message.subscription = m["subscription"].flatMap { scalarText($0, "`subscription`") }
        }
        var expectations: [RuleTest.Expectation] = []
        if let e = required(node, "expect", in: "a test"), let items = list(e, "`expect`") {
            for item in items {
                guard let ePairs = mapping(item, "an expectation", example: "- rule: my-rule") else { continue }
                checkKeys(ePairs, allowed: Self.expectationKeys, in: "an expectation")
                guard let ruleName = required(item, "rule", in: "an expectation").flatMap({ scalarText($0, "`rule`") }) else { continue }
                var captures: [String: String]?
                if let c = item["captures"], let cPairs = mapping(c, "`captures`", example: "captures: { codename: sohappy }") {
                    captures = [:]
                    for (k, v) in cPairs {
                        if let key = scalarText(k, "a capture name"), let value = scalarText(v, "a capture value") { captures![key] = value }
                    }
                }
                var actions: [RuleTest.RenderedAction]?
                if let a = item["actions"], let aItems = list(a, "`actions`") {
                    actions = aItems.compactMap { expectedAction($0) }
                }
                expectations.append(RuleTest.Expectation(rule: ruleName, captures: captures, actions: actions, location: item.location))
            }
        }
        guard errorCount == errorsBefore else { return nil }
        return RuleTest(name: name, message: message, expect: expectations, location: node.location)
    }

    mutating func expectedAction(_ node: YAMLNode) -> RuleTest.RenderedAction? {
        guard let pairs = mapping(node, "an expected action", example: "- exec: { command: [\"/x\"] }") else { return nil }
        guard pairs.count == 1, let key = pairs[0].key.scalar, let plugin = Plugin(rawValue: key) else {
            diagnostics.error(.invalidTest, "an expected action is one plugin key with the options to compare, e.g. `- exec: { command: [\"/x\", \"a\"] }`", at: node.location)
            return nil
        }
        guard let oPairs = mapping(pairs[0].value, "the expected options", example: "exec: { command: [\"/x\"] }") else { return nil }
        let options = oPairs.compactMap { p -> (key: String, value: RenderedValue)? in
            guard let k = p.key.scalar else { return nil }
            return (key: k, value: renderedValue(p.value))
        }
        return RuleTest.RenderedAction(plugin: plugin, options: options, location: node.location)
    }

    func renderedValue(_ node: YAMLNode) -> RenderedValue {
        switch node.kind {
        case let .scalar(text, _): return node.isNull ? .null : .string(text)
        case let .sequence(items): return .list(items.map(renderedValue))
        case let .mapping(pairs): return .map(pairs.map { (key: $0.key.scalar ?? "", value: renderedValue($0.value)) })
        }
    }

    /// A YAML value as JSON: plain scalars typed the way YAML reads them, quoted ones as strings.
    func jsonValue(_ node: YAMLNode) -> JSONValue {
        switch node.kind {
        case let .scalar(text, style):
            if style == .plain {
                if node.isNull { return .null }
                if let b = node.bool { return .bool(b) }
                if (try? JSONParser.parse(text)).map({ if case .number = $0 { return true } else { return false } }) == true {
                    return .number(text)
                }
            }
            return .string(text)
        case let .sequence(items): return .array(items.map(jsonValue))
        case let .mapping(pairs): return .object(pairs.map { (key: $0.key.scalar ?? "", value: jsonValue($0.value)) })
        }
    }

    /// What templates in one rule may reference.
    struct TemplateChecks {
        var scope: Template.Scope
        var guaranteedAttributes: Set<String>
    }

    mutating func template(_ node: YAMLNode, _ what: String, _ context: TemplateChecks) -> Template? {
        guard let text = scalarText(node, what) else { return nil }
        guard let t = Template.parse(text, at: contentLocation(node), scope: context.scope, diagnostics: &diagnostics) else { return nil }
        if !context.scope.isSchedule {
            for ref in t.references where !ref.hasDefault {
                if case let .attribute(name) = ref.variable, !context.guaranteedAttributes.contains(name) {
                    diagnostics.warning(.attributeNotGuaranteed, "`attributes.\(name)` may be absent: the rule does not require it; match it (e.g. `\(name): { exists: true }`) or add `| default(\"…\")`", at: ref.location)
                }
            }
        }
        return t
    }
}
