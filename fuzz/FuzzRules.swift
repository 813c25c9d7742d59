// libFuzzer target over Horae's loader, compiler and matcher.
//
// Built by scripts/fuzz.sh together with every file of Sources/HoraeRules into one module, so it
// sees `package` and internal API. Every input goes through all stages:
//
//   1. YAMLLoader on the raw bytes (any bytes: invalid UTF-8, deep nesting, aliases);
//   2. RuleLoader on the input as (lossy) UTF-8 text, diagnostics rendered as text and JSON;
//   3. when rules load: CompiledRuleSet and LinearRuleMatcher on messages built from the input,
//      the rules' own literal text and members generated from the patterns' ASTs; both must
//      return the same rule indices and captures (differential oracle); matched actions are
//      rendered and the file's own tests run;
//   4. the input's first line, and every pattern of the loaded rules, as glob and regex: the AST,
//      CompiledRegex, RegexSet and StringPattern must agree with each other on other lines of the
//      input and on generated members of the pattern's language;
//   5. JSONParser and MessageDecoder on the bytes (and on each JSON line), with round trips.
//
// A failed `check` is a bug in the library (the message says which invariant broke).

import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func horaeFuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = size > 0 && data != nil ? Array(UnsafeBufferPointer(start: data, count: size)) : []
    var fuzz = FuzzRun(bytes: bytes)
    fuzz.run()
    return 0
}

/// Stops the process (libFuzzer then writes the input) when an invariant of the library breaks.
@inline(never)
func check(
    _ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
    file: StaticString = #fileID, line: UInt = #line
) {
    if !condition() {
        let text = "HORAE FUZZ INVARIANT BROKEN (\(file):\(line)): \(message())\n"
        FileHandle.standardError.write(Data(text.utf8))
        abort()
    }
}

/// A tiny deterministic generator seeded from the input, so every run of one input is identical.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ n: Int) -> Int { n <= 1 ? 0 : Int(next() % UInt64(n)) }
    mutating func chance(_ percent: Int) -> Bool { below(100) < percent }
    mutating func pick<T>(_ items: [T]) -> T? { items.isEmpty ? nil : items[below(items.count)] }
}

struct FuzzRun {
    let bytes: [UInt8]
    let text: String
    let lines: [String]
    var rng: SplitMix
    /// A fixed clock, so template rendering does not depend on the time of day.
    static let now = Date(timeIntervalSince1970: 1_548_000_000)

    init(bytes: [UInt8]) {
        self.bytes = bytes
        text = String(decoding: bytes, as: UTF8.self)
        lines = text.split(separator: "\n", omittingEmptySubsequences: false).prefix(64).map { String($0) }
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        rng = SplitMix(seed: h)
    }

    /// `HORAE_FUZZ_VERBOSE=1`: say what each input reached (to see what a seed exercises).
    static let verbose = ProcessInfo.processInfo.environment["HORAE_FUZZ_VERBOSE"] == "1"

    func note(_ text: @autoclosure () -> String) {
        if Self.verbose { FileHandle.standardError.write(Data("fuzz: \(text())\n".utf8)) }
    }

    mutating func run() {
        loadYAML()
        let set = loadRules()
        note(
            "\(set.rules.count) rules (\(set.rules.filter(\.isSchedule).count) scheduled), \(set.tests.count) tests, \(set.diagnostics.count) diagnostics: \(set.diagnostics.prefix(3).map { "\($0.location.line):\($0.location.column) \($0.code.rawValue) \($0.message)" })"
        )
        let jsonMessages = parseJSON()
        if !set.rules.isEmpty { matchRules(set, extraMessages: jsonMessages) }
        checkSchedules(set.rules)
        checkPatterns(set)
    }

    // MARK: - 1. YAML

    func loadYAML() {
        let (root, diagnostics) = YAMLLoader().load(bytes, path: "fuzz.yaml")
        checkLocations(diagnostics)
        if diagnostics.contains(where: { $0.severity == .error }) { return }
        if let root { walk(root, depth: 0) }
        // Tight limits reach the depth and size refusals that real files rarely do.
        var limits = YAMLLoader.Limits()
        limits.maxDepth = 4
        limits.maxNodes = 64
        limits.maxFileBytes = 512
        let small = YAMLLoader(limits: limits).load(bytes, path: "small.yaml")
        checkLocations(small.diagnostics)
    }

    /// Visits every node (an alias is a copy, so this is bounded by the node limit).
    func walk(_ node: YAMLNode, depth: Int) {
        check(node.location.line >= 1 && node.location.column >= 1, "YAML node at \(node.location)")
        check(depth <= 200, "YAML tree deeper than 200 levels despite the depth limit")
        _ = node.kindDescription
        _ = node.bool
        _ = node.isNull
        switch node.kind {
        case .scalar: break
        case .sequence(let items): for i in items { walk(i, depth: depth + 1) }
        case .mapping(let pairs):
            for p in pairs {
                walk(p.key, depth: depth + 1)
                walk(p.value, depth: depth + 1)
            }
        }
    }

    func checkLocations(_ diagnostics: [Diagnostic]) {
        for d in diagnostics {
            check(
                d.location.line >= 1 && d.location.column >= 1,
                "diagnostic \(d.code.rawValue) at \(d.location): \(d.message)")
        }
    }

    // MARK: - 2. Rules

    func loadRules() -> RuleSet {
        let set = RuleLoader().load(sources: [(path: "fuzz.yaml", text: text)])
        checkLocations(set.diagnostics)
        for d in set.diagnostics {
            check(d.location.path == "fuzz.yaml", "diagnostic for an unknown file: \(d.location)")
        }
        check(set.diagnostics == set.diagnostics.sorted(), "diagnostics are not sorted")
        let source = text
        let renderer = DiagnosticRenderer(sourceText: { _ in source })
        _ = renderer.renderText(set.diagnostics)
        let json = renderer.renderJSON(set.diagnostics)
        if case .array(let items)? = try? JSONParser.parse(json) {
            check(
                items.count == set.diagnostics.count,
                "renderJSON wrote \(items.count) entries for \(set.diagnostics.count) diagnostics")
        } else {
            check(false, "renderJSON output does not parse as a JSON array: \(json.prefix(200))")
        }
        // Raw bytes through the same path (invalid UTF-8 must be a diagnostic, not a crash).
        let raw = RuleLoader().load(files: [(path: "raw.yaml", bytes: bytes)])
        checkLocations(raw.diagnostics)
        return set
    }

    // MARK: - 3. Matching

    mutating func matchRules(_ set: RuleSet, extraMessages: [PubSubMessage]) {
        let compiled = CompiledRuleSet(rules: set.rules)
        let linear = LinearRuleMatcher(rules: set.rules)
        let messages = buildMessages(set, extra: extraMessages)
        for message in messages {
            let a = compiled.match(message)
            let b = linear.match(message)
            note("message \(describe(message)) matches \(describe(b))")
            check(
                a == b,
                "compiled and linear matchers disagree on \(describe(message)):\n compiled: \(describe(a))\n linear:   \(describe(b))"
            )
            let fields = MessageFields(message)
            for m in a.prefix(4) {
                let rule = set.rules[m.ruleIndex]
                let context = MessageTemplateContext(
                    fields: fields, captures: m.captures, ruleName: rule.name, now: Self.now)
                for action in rule.actions { _ = try? action.render(context) }
                if let key = rule.dedup?.key { _ = try? key.render(context) }
                if let dl = rule.retry.deadLetter { _ = try? dl.render(context) }
                renderFanOut(rule, context, data: message.data)
            }
        }
        if !set.tests.isEmpty {
            _ = RuleTestRunner(rules: compiled).run(Array(set.tests.prefix(16)))
        }
    }

    /// The rule's tasks and action runs as the daemon would make them: each `forEach` item of
    /// the rule, and every named step given the message's data as its output (so an action's
    /// `forEach` over `steps.NAME.json…` and its `where:` run on fuzzed JSON).
    func renderFanOut(_ rule: Rule, _ context: MessageTemplateContext, data: [UInt8]) {
        var steps: [String: StepOutput] = [:]
        for action in rule.actions where !action.plugin.stepOutputs.isEmpty {
            if let name = action.name { steps[name] = StepOutput(bytes: data, status: 200) }
        }
        for item in rule.taskItems.prefix(4) {
            var itemContext = context
            itemContext.item = item?.value
            itemContext.steps = steps
            let plan = ActionPlan(rule, itemContext)
            let label = item.map { ActionPlan.label($0) } ?? "-"
            note("rule \(rule.name) item \(label): \(plan.entries.count) action runs")
            if let key = rule.dedup?.key { _ = try? key.render(itemContext) }
        }
    }

    /// Attribute names and literal texts the rules mention, for messages that get near a match.
    struct RuleVocabulary {
        var attributes: [String] = []
        var dataPaths: [[String]] = []
        var subscriptions: [String] = []
        /// Per attribute (or data path, dotted), the patterns that test it.
        var patterns: [String: [StringPattern]] = [:]
        var literals: [String] = []
    }

    func vocabulary(_ rules: [Rule]) -> RuleVocabulary {
        var v = RuleVocabulary()
        func add(_ m: FieldMatcher, _ field: String) {
            switch m {
            case .pattern(let p):
                v.patterns[field, default: []].append(p)
                v.literals.append(p.source)
                if let e = p.exactValue { v.literals.append(e) }
                if !p.node.literalPrefix.isEmpty { v.literals.append(p.node.literalPrefix) }
                if !p.node.literalSuffix.isEmpty { v.literals.append(p.node.literalSuffix) }
            case .numeric(_, let x): v.literals.append(String(x))
            case .exists: break
            case .not(let inner): add(inner, field)
            case .anyOf(let ms), .allOf(let ms): for x in ms { add(x, field) }
            }
        }
        for rule in rules {
            guard case .message(let clauses) = rule.trigger else { continue }
            for c in clauses {
                v.subscriptions += c.subscriptions ?? []
                for cond in c.conditions {
                    switch cond.field {
                    case .attribute(let name):
                        if !v.attributes.contains(name) { v.attributes.append(name) }
                        add(cond.matcher, name)
                    case .data(let path):
                        if !v.dataPaths.contains(path) { v.dataPaths.append(path) }
                        add(cond.matcher, "data." + path.joined(separator: "."))
                    }
                }
            }
        }
        return v
    }

    /// Short pieces of the input: words between separators, and the lines themselves.
    func tokens() -> [String] {
        var out: [String] = []
        for line in lines.prefix(16) {
            out.append(line)
            for w in line.split(whereSeparator: { " :,\"'{}[]".contains($0) }).prefix(8) { out.append(String(w)) }
        }
        return Array(out.prefix(64))
    }

    mutating func buildMessages(_ set: RuleSet, extra: [PubSubMessage]) -> [PubSubMessage] {
        let v = vocabulary(set.rules)
        let words = tokens()
        var messages: [PubSubMessage] = set.tests.prefix(8).map(\.message) + extra.prefix(4)
        // Variants of the test messages: one attribute changed or dropped.
        for t in set.tests.prefix(4) {
            var m = t.message
            if let name = rng.pick(Array(m.attributes.keys).sorted()) {
                if rng.chance(50) { m.attributes[name] = nil } else { m.attributes[name] = value(for: name, v, words) }
                messages.append(m)
            }
        }
        for _ in 0..<8 {
            var m = PubSubMessage(id: "fuzz-\(messages.count)")
            for name in v.attributes where rng.chance(85) { m.attributes[name] = value(for: name, v, words) }
            if rng.chance(25), let w = rng.pick(words), let name = rng.pick(words) { m.attributes[name] = w }
            if !v.subscriptions.isEmpty, rng.chance(80) { m.subscription = rng.pick(v.subscriptions) }
            if !v.dataPaths.isEmpty {
                m.data = Array(payload(v, words).utf8)
            } else if rng.chance(10) {
                m.data = Array((rng.pick(lines) ?? "").utf8)
            }
            messages.append(m)
        }
        return messages
    }

    /// A value for one attribute: often a member of one of its patterns, else a piece of the input.
    mutating func value(for field: String, _ v: RuleVocabulary, _ words: [String]) -> String {
        let patterns = v.patterns[field] ?? []
        switch rng.below(10) {
        case 0...4:
            if let p = rng.pick(patterns), let s = generate(p.node, budget: 64) { return s }
            return rng.pick(words) ?? ""
        case 5: return rng.pick(v.literals) ?? ""
        case 6: return rng.pick(words) ?? ""
        case 7: return (rng.pick(v.literals) ?? "") + (rng.pick(words) ?? "")
        case 8:
            // A generated member with one character changed, inserted or removed.
            guard let p = rng.pick(patterns), let s = generate(p.node, budget: 64) else { return "" }
            var scalars = Array(s.unicodeScalars)
            let i = rng.below(scalars.count + 1)
            let c = rng.pick(Array("/a_-.0Zé\u{0}\n".unicodeScalars))!
            switch rng.below(3) {
            case 0: scalars.insert(c, at: i)
            case 1: if i < scalars.count { scalars.remove(at: i) }
            default: if i < scalars.count { scalars[i] = c }
            }
            return String(String.UnicodeScalarView(scalars))
        default: return ""
        }
    }

    /// A JSON payload holding the data paths the rules test.
    mutating func payload(_ v: RuleVocabulary, _ words: [String]) -> String {
        var root: JSONValue = .object([])
        for path in v.dataPaths where rng.chance(85) {
            let patterns = v.patterns["data." + path.joined(separator: ".")] ?? []
            let leaf: JSONValue
            switch rng.below(4) {
            case 0: leaf = .number(String(rng.below(2000) - 1000))
            case 1: leaf = .null
            default:
                if let p = rng.pick(patterns), let s = generate(p.node, budget: 64) {
                    leaf = .string(s)
                } else {
                    leaf = .string(rng.pick(words) ?? "")
                }
            }
            root = inserting(leaf, at: path[...], into: root)
        }
        return root.compactJSON
    }

    func inserting(_ leaf: JSONValue, at path: ArraySlice<String>, into node: JSONValue) -> JSONValue {
        guard let first = path.first else { return leaf }
        if case .array(var items) = node, let i = Int(first), i >= 0, i < items.count {
            items[i] = inserting(leaf, at: path.dropFirst(), into: items[i])
            return .array(items)
        }
        if let i = Int(first), i >= 0, i < 4, node == .object([]) {
            var items = [JSONValue](repeating: .null, count: i + 1)
            items[i] = inserting(leaf, at: path.dropFirst(), into: .object([]))
            return .array(items)
        }
        var pairs: [(key: String, value: JSONValue)] = []
        if case .object(let p) = node { pairs = p }
        if let j = pairs.firstIndex(where: { $0.key == first }) {
            pairs[j].value = inserting(leaf, at: path.dropFirst(), into: pairs[j].value)
        } else {
            pairs.append((key: first, value: inserting(leaf, at: path.dropFirst(), into: .object([]))))
        }
        return .object(pairs)
    }

    // MARK: - Schedules

    /// For (at most two) schedule rules: the next tick after a time in 2026 (often just before a
    /// DST change of the rule's zone) must be the one a minute-by-minute (second-by-second for
    /// six-field expressions) walk over real instants finds, and `ticks` must agree with
    /// `nextTick`. The rule's actions are rendered for the tick.
    mutating func checkSchedules(_ rules: [Rule]) {
        var checked = 0
        for rule in rules {
            guard case .schedule(let schedule) = rule.trigger, checked < 2 else { continue }
            checked += 1
            guard let zone = TimeZone(identifier: schedule.timezone ?? "UTC") else {
                check(
                    false,
                    "rule `\(rule.name)` loaded with time zone `\(schedule.timezone ?? "")`, which does not exist")
                return
            }
            let cron = schedule.cron
            var base = Date(timeIntervalSince1970: 1_767_225_600 + Double(rng.below(366 * 86_400)))
            if rng.chance(60), let change = zone.nextDaylightSavingTimeTransition(after: base) {
                base = change.addingTimeInterval(-Double(rng.below(3 * 3600)))
            }
            if rng.chance(20) { base = base.addingTimeInterval(0.25) }
            let window = cron.seconds == 1 ? 2 * 86_400 : 2 * 3600
            let end = base.addingTimeInterval(Double(window))
            let next = cron.nextTick(after: base, in: zone)
            note(
                "cron `\(cron.source)` in \(zone.identifier): next tick after \(base) is \(next.map { "\($0)" } ?? "none")"
            )
            let label = "cron `\(cron.source)` in \(zone.identifier) after \(base.timeIntervalSince1970)"
            switch referenceNextTick(cron, after: base, in: zone, window: window) {
            case .found(let r):
                check(
                    next == r,
                    "\(label): nextTick gives \(next.map { "\($0.timeIntervalSince1970)" } ?? "nil"), a walk over instants finds \(r.timeIntervalSince1970)"
                )
            case .none:
                check(
                    next == nil || next! > end,
                    "\(label): nextTick gives \(next!.timeIntervalSince1970), a walk over instants finds no tick up to \(end.timeIntervalSince1970)"
                )
            case .unknown:
                break
            }
            let ticks = cron.ticks(after: base, through: end, in: zone, limit: 4)
            check(
                ticks.first == next.flatMap { $0 <= end ? $0 : nil },
                "\(label): ticks start at \(String(describing: ticks.first)), nextTick \(String(describing: next))")
            for i in ticks.indices.dropFirst() {
                check(ticks[i] > ticks[i - 1] && ticks[i] <= end, "\(label): ticks out of order or range: \(ticks)")
                check(
                    cron.nextTick(after: ticks[i - 1], in: zone) == ticks[i],
                    "\(label): ticks \(ticks) skip or add a tick after \(ticks[i - 1])")
            }
            if let tick = next {
                let context = MessageTemplateContext(
                    fields: MessageFields(PubSubMessage()), captures: CaptureSet(), ruleName: rule.name,
                    scheduleTime: MessageTemplateContext.rfc3339(tick), now: Self.now)
                for action in rule.actions { _ = try? action.render(context) }
            }
        }
    }

    enum ReferenceTick {
        case found(Date)
        case none, unknown
    }

    /// The first instant after `base` (within `window` seconds) whose wall-clock time in `zone`
    /// the expression allows, taking a repeated wall time (DST fall-back) at its first occurrence
    /// only. Minute steps for five-field expressions, second steps otherwise.
    func referenceNextTick(_ cron: CronExpression, after base: Date, in zone: TimeZone, window: Int) -> ReferenceTick {
        func offset(_ instant: Int64) -> Int64 {
            Int64(zone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(instant))))
        }
        func has(_ bits: UInt64, _ i: Int64) -> Bool { bits & (1 << UInt64(i)) != 0 }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let t = base.timeIntervalSince1970
        let step: Int64 = cron.seconds == 1 ? 60 : 1
        var i = Int64(t.rounded(.down)) + 1
        if step == 60 { i = (i + 59) / 60 * 60 }
        let last = Int64(t) + Int64(window)
        var cachedDay = Int64.min
        var month = 0
        var dayOfMonth = 0
        while i <= last {
            let off = offset(i)
            if off % 60 != 0 { return .unknown }
            let wall = i + off
            let day = CivilCalendar.floorDiv(wall, 86_400)
            let secondOfDay = wall - day * 86_400
            if has(cron.seconds, secondOfDay % 60), has(cron.minutes, secondOfDay / 60 % 60),
                has(cron.hours, secondOfDay / 3600)
            {
                if day != cachedDay {
                    let parts = calendar.dateComponents(
                        [.month, .day], from: Date(timeIntervalSince1970: TimeInterval(day * 86_400)))
                    month = parts.month!
                    dayOfMonth = parts.day!
                    cachedDay = day
                }
                let weekday = CivilCalendar.floorMod(day + 4, 7)
                let domHit = has(cron.daysOfMonth, Int64(dayOfMonth))
                let dowHit = has(cron.daysOfWeek, weekday)
                let dayOK =
                    has(cron.months, Int64(month))
                    && (cron.dayOfMonthIsWildcard || cron.dayOfWeekIsWildcard ? domHit && dowHit : domHit || dowHit)
                if dayOK {
                    // A repeated wall time counts at its first occurrence only.
                    var repeated = false
                    for other in Set([offset(i - 86_400), offset(i + 86_400)]) where other > off {
                        let j = wall - other
                        if j < i, offset(j) == other { repeated = true }
                    }
                    if !repeated { return .found(Date(timeIntervalSince1970: TimeInterval(i))) }
                }
            }
            i += step
        }
        return .none
    }

    // MARK: - Members of a regex AST

    /// Whether the node has anchors (then a generated string need not match: `a^b`).
    func hasAnchors(_ node: RegexNode) -> Bool {
        switch node {
        case .startOfText, .endOfText: return true
        case .empty, .literal, .scalarClass: return false
        case .concat(let xs), .alternation(let xs): return xs.contains(where: hasAnchors)
        case .repeat(let x, _, _, _), .capture(_, let x), .group(let x): return hasAnchors(x)
        }
    }

    /// Whether case-insensitive matching accepts at least what the node accepts. Not so with a
    /// negated class: `(?i)[^a-z]` refuses `X`, which `[^a-z]` takes (the library folds a class
    /// covering more than half of all scalars as a negation).
    func foldingWidens(_ node: RegexNode) -> Bool {
        switch node {
        case .empty, .literal, .startOfText, .endOfText: return true
        case .scalarClass(let cls): return cls.subtracting(RegexCaseFolding.foldPreservingNegation(cls)).isEmpty
        case .concat(let xs), .alternation(let xs): return xs.allSatisfy(foldingWidens)
        case .repeat(let x, _, _, _), .capture(_, let x), .group(let x): return foldingWidens(x)
        }
    }

    /// Nodes in the AST, repetition counts multiplied in (an estimate of the automaton's size,
    /// to keep the many extra compilations of the pattern checks cheap).
    func weight(_ node: RegexNode) -> Int {
        switch node {
        case .empty, .literal, .scalarClass, .startOfText, .endOfText: return 1
        case .concat(let xs), .alternation(let xs): return xs.reduce(1) { min($0 + weight($1), 1 << 30) }
        case .repeat(let x, let lo, let hi, _): return min(weight(x) * max(1, max(lo, hi ?? 1)), 1 << 30)
        case .capture(_, let x), .group(let x): return 1 + weight(x)
        }
    }

    /// A random string of the node's language; nil when none was found within `budget` scalars.
    mutating func generate(_ node: RegexNode, budget: Int) -> String? {
        var out = String.UnicodeScalarView()
        var left = budget
        guard gen(node, into: &out, budget: &left, depth: 0) else { return nil }
        return String(out)
    }

    mutating func gen(_ node: RegexNode, into out: inout String.UnicodeScalarView, budget: inout Int, depth: Int)
        -> Bool
    {
        guard depth < 200 else { return false }
        switch node {
        case .empty, .startOfText, .endOfText: return true
        case .literal(let c):
            guard budget > 0 else { return false }
            budget -= 1
            out.append(c)
            return true
        case .scalarClass(let set):
            guard budget > 0, let c = pickScalar(set) else { return false }
            budget -= 1
            out.append(c)
            return true
        case .concat(let xs):
            for x in xs where !gen(x, into: &out, budget: &budget, depth: depth + 1) { return false }
            return true
        case .alternation(let xs):
            guard !xs.isEmpty else { return false }
            // Try a random alternative first, then the others in order.
            let start = rng.below(xs.count)
            for k in 0..<xs.count {
                let saved = out
                let savedBudget = budget
                if gen(xs[(start + k) % xs.count], into: &out, budget: &budget, depth: depth + 1) { return true }
                out = saved
                budget = savedBudget
            }
            return false
        case .repeat(let x, let min, let max, _):
            guard min <= 64 else { return false }
            var count = min + rng.below(3)
            if let max { count = Swift.min(count, max) }
            if count < min { return false }
            for i in 0..<count {
                let saved = out
                let savedBudget = budget
                if !gen(x, into: &out, budget: &budget, depth: depth + 1) {
                    out = saved
                    budget = savedBudget
                    return i >= min
                }
            }
            return true
        case .capture(_, let x), .group(let x):
            return gen(x, into: &out, budget: &budget, depth: depth + 1)
        }
    }

    static let interesting = Array("/./\n_-aAzZ0é\u{130}\u{212A}\u{0}".unicodeScalars)

    mutating func pickScalar(_ set: ScalarClass) -> Unicode.Scalar? {
        let ranges = set.ranges
        guard !ranges.isEmpty else { return nil }
        // Often a character the matchers treat specially, when the class has it.
        if rng.chance(30), let c = rng.pick(Self.interesting.filter { set.contains($0) }) { return c }
        for _ in 0..<8 {
            let r = ranges[rng.below(ranges.count)]
            let width = UInt64(r.upperBound - r.lowerBound) + 1
            // Mostly the range's ends and ASCII, where the interesting edges are.
            let v: UInt32
            switch rng.below(4) {
            case 0: v = r.lowerBound
            case 1: v = r.upperBound
            default: v = r.lowerBound + UInt32(rng.next() % width)
            }
            if let s = Unicode.Scalar(v) { return s }
        }
        return nil
    }

    // MARK: - 4. Patterns

    mutating func checkPatterns(_ set: RuleSet) {
        var subjects: [String] = Array(lines.dropFirst().prefix(6))
        for w in tokens().prefix(6) { subjects.append(w) }
        if let first = lines.first, first.unicodeScalars.count <= 80 {
            checkPattern(first, subjects: subjects)
            if first.unicodeScalars.count <= 40 { checkStringPatterns(first, subjects: subjects) }
        }
        // One pattern of the loaded rules (chosen by the input), with its lines as subjects.
        var all: [StringPattern] = []
        for (_, patterns) in vocabulary(set.rules).patterns.sorted(by: { $0.key < $1.key }) {
            all += patterns.filter { $0.kind == .glob || $0.kind == .regex }
        }
        if let p = rng.pick(all) {
            checkPattern(p.source, subjects: subjects, only: p.kind)
        }
    }

    mutating func checkPattern(_ pattern: String, subjects: [String], only: StringPattern.Kind? = nil) {
        var nodes: [(what: String, node: RegexNode)] = []
        if only == nil || only == .glob, let n = try? GlobParser.parse(pattern) { nodes.append(("glob", n)) }
        if only == nil || only == .regex, let n = try? RegexParser.parse(pattern) { nodes.append(("regex", n)) }
        for (what, node) in nodes {
            guard let regex = try? CompiledRegex(node) else { continue }
            var mine = subjects
            for _ in 0..<4 { if let s = generate(node, budget: 48) { mine.append(s) } }
            let generated = Set(mine.dropFirst(subjects.count))
            // The same pattern without DFAs: the Pike VM is the reference for the DFA (matching)
            // and for the capture DFA (captures).
            // Only for patterns of modest size: each is another compilation of the pattern.
            let light = weight(node) <= 120
            let nfa = light ? try? CompiledRegex(node, maxDFAStates: 0) : nil
            let ci = light ? try? CompiledRegex(node.caseInsensitive()) : nil
            let widens = foldingWidens(node)
            let literal = RegexNode.concat(pattern.unicodeScalars.map { .literal($0) })
            let setNodes = [node, literal, node.caseInsensitive()]
            let setRegexes = light ? [regex, try? CompiledRegex(literal), ci] : []
            let set = light ? try? RegexSet(setNodes) : nil
            // Forced to split into one automaton per pattern.
            let splitSet = light ? try? RegexSet(setNodes, maxDFAStates: 1) : nil
            if let exact = node.exactString { mine.append(exact) }
            // §4: `{a,b}` is one of the alternatives, so `x{a,b}y` must behave as `xay` and `xby`
            // together: each expansion must parse (a `**` that is no whole segment there is an
            // error), and the pattern must match exactly what some expansion matches.
            var expansions: [(text: String, regex: CompiledRegex)] = []
            if what == "glob", light, let texts = braceExpansions(pattern) {
                for text in texts {
                    let expanded: RegexNode
                    do { expanded = try GlobParser.parse(text) } catch {
                        check(
                            false,
                            "glob `\(pattern)` parses, but its brace expansion `\(text)` does not: \(error.message)")
                        continue
                    }
                    if let r = try? CompiledRegex(expanded) { expansions.append((text, r)) }
                }
                if expansions.count != texts.count { expansions = [] }
            }
            for s in mine {
                let label = "\(what) `\(pattern)` on `\(s)`"
                var s = s
                s.withUTF8 { buf in
                    let matches = regex.matches(buf)
                    let groups = regex.captures(buf)
                    check(
                        (groups != nil) == matches,
                        "\(label): matches=\(matches) but captures=\(String(describing: groups))")
                    if generated.contains(String(decoding: buf, as: UTF8.self)), !hasAnchors(node) {
                        check(matches, "\(label): a string generated from the pattern's AST does not match")
                    }
                    if let groups {
                        check(
                            groups.count == regex.captureNames.count,
                            "\(label): \(groups.count) capture groups for names \(regex.captureNames)")
                        for r in groups.compactMap({ $0 }) {
                            check(
                                r.lowerBound >= 0 && r.upperBound <= buf.count,
                                "\(label): capture range \(r) outside 0..<\(buf.count)")
                            check(
                                isBoundary(buf, r.lowerBound) && isBoundary(buf, r.upperBound),
                                "\(label): capture range \(r) splits a UTF-8 character")
                        }
                    }
                    if let exact = node.exactString {
                        check(
                            matches == (String(decoding: buf, as: UTF8.self) == exact),
                            "\(label): exactString `\(exact)` but matches=\(matches)")
                    }
                    if what == "glob", matches, buf.contains(UInt8(ascii: "/")), globKeepsWithinSegment(pattern) {
                        check(
                            false,
                            "\(label): a glob without `/` (and without a `**` segment or `{name:REGEX}`) matches across a `/`"
                        )
                    }
                    if what == "glob", !expansions.isEmpty {
                        let any = expansions.contains { $0.regex.matches(buf) }
                        check(
                            any == matches,
                            "\(label): matches=\(matches), but its brace expansions \(expansions.map(\.text)) say \(any)"
                        )
                    }
                    if what == "glob", !GlobParser.hasMetacharacters(pattern) {
                        check(
                            matches == (Array(buf) == Array(pattern.utf8)),
                            "\(label): a glob without metacharacters must be an exact match, matches=\(matches)")
                    }
                    if matches {
                        let value = Array(buf)
                        let prefix = Array(node.literalPrefix.utf8)
                        let suffix = Array(node.literalSuffix.utf8)
                        check(
                            value.starts(with: prefix),
                            "\(label): matches but lacks the literal prefix `\(node.literalPrefix)`")
                        check(
                            value.reversed().starts(with: suffix.reversed()),
                            "\(label): matches but lacks the literal suffix `\(node.literalSuffix)`")
                        if let ci, widens { check(ci.matches(buf), "\(label): matches, but not case-insensitively") }
                    }
                    if let nfa {
                        check(nfa.matches(buf) == matches, "\(label): DFA says \(matches), Pike VM says \(!matches)")
                        let reference = nfa.captures(buf)
                        check(
                            reference == groups,
                            "\(label): capture DFA gives \(String(describing: groups)), Pike VM \(String(describing: reference))"
                        )
                    }
                    let expected = setRegexes.indices.filter { setRegexes[$0]?.matches(buf) == true }
                    if light, setRegexes.allSatisfy({ $0 != nil }) {
                        for (which, s) in [("RegexSet", set), ("split RegexSet", splitSet)] {
                            guard let s else { continue }
                            var hits: [Int] = []
                            s.matchingIndices(buf, into: &hits)
                            check(
                                hits == expected,
                                "\(label): \(which) reports \(hits), the patterns one by one \(expected) (pattern, literal, case-insensitive)"
                            )
                        }
                    }
                }
            }
            check(
                Set(regex.captureNames) == Set(node.captureNames),
                "\(what) `\(pattern)`: compiled capture names \(regex.captureNames), AST names \(node.captureNames)")
        }
    }

    /// The patterns the first top-level alternation `{a,b,…}` of a glob expands to (`x{a,b}y` →
    /// `xay`, `xby`); nil when there is none, or when splicing could change the tokens around it
    /// (`*` meeting `*`, classes inside).
    func braceExpansions(_ pattern: String) -> [String]? {
        let c = Array(pattern.unicodeScalars)
        func text(_ r: Range<Int>) -> String { String(String.UnicodeScalarView(c[r])) }
        func isName(_ x: Unicode.Scalar, first: Bool) -> Bool {
            ("a"..."z").contains(x) || ("A"..."Z").contains(x) || x == "_" || (!first && ("0"..."9").contains(x))
        }
        var i = 0
        while i < c.count {
            if c[i] == "\\" {
                i += 2
                continue
            }
            if c[i] == "[" { return nil }
            guard c[i] == "{" else {
                i += 1
                continue
            }
            // The matching `}`, and the top-level commas, honouring escapes and nesting.
            var depth = 0
            var j = i
            var end: Int?
            var commas: [Int] = []
            while j < c.count {
                if c[j] == "\\" {
                    j += 2
                    continue
                }
                if c[j] == "{" { depth += 1 }
                if c[j] == "}" {
                    depth -= 1
                    if depth == 0 {
                        end = j
                        break
                    }
                }
                if c[j] == ",", depth == 1 { commas.append(j) }
                j += 1
            }
            guard let end else { return nil }
            var n = i + 1
            while n < end, isName(c[n], first: n == i + 1) { n += 1 }
            if n > i + 1, n == end || c[n] == ":" {
                i = end + 1
                continue
            }  // a capture
            guard !commas.isEmpty, commas.count < 6 else { return nil }
            let bounds = [i] + commas + [end]
            var out: [String] = []
            for k in 0..<(bounds.count - 1) {
                let alt = Array(c[(bounds[k] + 1)..<bounds[k + 1]])
                if alt.contains("[") || alt.contains("]") { return nil }
                if i > 0, c[i - 1] == "*", alt.first == "*" { return nil }
                if end + 1 < c.count, c[end + 1] == "*", alt.last == "*" { return nil }
                if alt.isEmpty, i > 0, c[i - 1] == "*", end + 1 < c.count, c[end + 1] == "*" { return nil }
                out.append(text(0..<i) + String(String.UnicodeScalarView(alt)) + text((end + 1)..<c.count))
            }
            return out
        }
        return nil
    }

    /// Whether a glob can match only within one path segment (§4: `*`, `?` and classes never
    /// match `/`, `**` only as a whole segment): it has no `/` of its own, no `{name:REGEX}` (a
    /// regex may match `/`), and is not one brace group or `**` that could be a whole segment.
    func globKeepsWithinSegment(_ pattern: String) -> Bool {
        let chars = Array(pattern.unicodeScalars)
        guard !chars.contains("/"), !chars.contains(":"), pattern != "**" else { return false }
        // `{…}` spanning the whole pattern: its `**` alternative would be the whole segment.
        if chars.first == "{" {
            var depth = 0
            var i = 0
            while i < chars.count {
                if chars[i] == "\\" {
                    i += 2
                    continue
                }
                if chars[i] == "{" { depth += 1 }
                if chars[i] == "}" {
                    depth -= 1
                    if depth == 0 { return i != chars.count - 1 }
                }
                i += 1
            }
        }
        return true
    }

    func isBoundary(_ buf: UnsafeBufferPointer<UInt8>, _ i: Int) -> Bool {
        i <= 0 || i >= buf.count || buf[i] & 0xC0 != 0x80
    }

    /// `exact`, `prefix` and `suffix` decide by byte comparison; the automaton built from the
    /// same AST must say the same, and a glob's fast path must agree with its automaton.
    func checkStringPatterns(_ pattern: String, subjects: [String]) {
        let candidates = subjects + [pattern, pattern + "x", "x" + pattern, pattern + pattern, ""]
        for kind in StringPattern.Kind.allCases {
            guard let p = try? StringPattern(kind: kind, source: pattern), weight(p.node) <= 120 else { continue }
            let automaton = try? CompiledRegex(p.node)
            let folded = foldingWidens(p.node) ? try? StringPattern(kind: kind, source: pattern, ignoreCase: true) : nil
            for s in candidates {
                var captures = CaptureSet()
                let got = p.match(s, captures: &captures)
                let expected: Bool?
                switch kind {
                case .exact: expected = Array(s.utf8) == Array(pattern.utf8)
                case .prefix: expected = s.utf8.starts(with: pattern.utf8)
                case .suffix: expected = s.utf8.reversed().starts(with: pattern.utf8.reversed())
                case .glob, .regex: expected = nil
                }
                if let expected {
                    check(got == expected, "\(kind) `\(pattern)` on `\(s)`: match=\(got), expected \(expected)")
                }
                if let automaton {
                    var t = s
                    let viaAutomaton = t.withUTF8 { automaton.matches($0) }
                    // With captures, a failed bind can refuse a match the automaton accepts; there
                    // are none in a fresh CaptureSet unless a name repeats.
                    if p.captureNames.count == Set(p.captureNames).count {
                        check(
                            got == viaAutomaton,
                            "\(kind) `\(pattern)` on `\(s)`: StringPattern.match=\(got), automaton=\(viaAutomaton)")
                    }
                }
                if got, let folded, kind != .regex {
                    var c = CaptureSet()
                    check(
                        folded.match(s, captures: &c),
                        "\(kind) `\(pattern)` ignoreCase refuses `\(s)`, which matches case-sensitively")
                }
            }
        }
    }

    // MARK: - 5. JSON and messages

    mutating func parseJSON() -> [PubSubMessage] {
        var out: [PubSubMessage] = []
        out += decode(bytes)
        // JSON lines, also inside YAML comments (`# {"attributes": …}`), become messages.
        for line in lines.prefix(16) {
            var t = Substring(line)
            if t.hasPrefix("#") { t = t.dropFirst().drop(while: { $0 == " " }) }
            guard t.hasPrefix("{") || t.hasPrefix("[") else { continue }
            out += decode(Array(t.utf8))
        }
        for s in [text, lines.first ?? ""] {
            if let d = Base64.decode(s) { _ = Base64.encode(d) }
        }
        let enc = Base64.encode(bytes)
        check(Base64.decode(enc) == bytes, "base64 round trip fails for \(bytes.count) bytes")
        return out
    }

    func decode(_ bytes: [UInt8]) -> [PubSubMessage] {
        guard let value = try? JSONParser.parse(bytes) else { return [] }
        let json = value.compactJSON
        let again: JSONValue
        do { again = try JSONParser.parse(json) } catch {
            check(false, "compactJSON output does not parse: \(error) in \(json.prefix(200))")
            return []
        }
        check(again == value, "JSON round trip changes the value: \(json.prefix(200))")
        check(again.compactJSON == json, "compactJSON is not stable")
        _ = value.text
        return (try? MessageDecoder.messages(from: value)) ?? []
    }

    // MARK: - Descriptions for failure messages

    func describe(_ m: PubSubMessage) -> String {
        let attrs = m.attributes.keys.sorted().map { "\($0)=\(m.attributes[$0]!.debugDescription)" }.joined(
            separator: ", ")
        return
            "{subscription: \(m.subscription ?? "nil"), attributes: [\(attrs)], data: \(String(decoding: m.data, as: UTF8.self).debugDescription)}"
    }

    func describe(_ ms: [RuleMatch]) -> String {
        ms.map { "#\($0.ruleIndex) \($0.captures.entries.map { "\($0.name)=\($0.value.debugDescription)" })" }.joined(
            separator: "; ")
    }
}
