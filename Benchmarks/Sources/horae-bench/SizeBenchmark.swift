import Foundation
@_spi(Benchmarks) import HoraeRules

/// The figures for one rule-set size.
struct SizeResult {
    var rules = 0
    var files = 0
    var warnings = 0
    var loadMs = 0.0
    var compileMs = 0.0
    var indexBytes = 0
    var rssBytes = 0
    var heapBytes = 0
    /// Heap held by the loaded `RuleSet` (mallinfo2 growth across the first load).
    var loadHeapBytes = 0
    var indexStatistics: [String: Int] = [:]
    var compiledNs = 0.0
    var linearNs = 0.0
    /// Wall-clock figures (the table shows thread CPU time, which other load on the machine
    /// disturbs less).
    var compiledWallNs = 0.0
    var linearWallNs = 0.0
    /// Messages matched in the timed runs.
    var compiledTimed = 0
    var linearTimed = 0
    /// Messages whose linear and compiled results were compared, and their rule-match counts.
    var checkedMessages = 0
    var checkedCompiledMatches = 0
    var checkedLinearMatches = 0
    var messages = 0
    var matchedMessages = 0
    var ruleMatches = 0
    /// Checked messages for which the two matchers returned different matches (or other
    /// disagreements, such as match counts that change between passes).
    var mismatches = 0
    /// Positives that did not match the rule they were built for.
    var missedPositives = 0
    var matchedByKind: [GeneratedMessage.Kind: (matched: Int, total: Int)] = [:]

    var speedup: Double { linearNs / compiledNs }
    var matchesPerMessage: Double { Double(ruleMatches) / Double(max(messages, 1)) }
}

/// Loads, compiles and times one generated rule set of `size` rules.
struct SizeBenchmark {
    let size: Int
    let options: Options

    enum Failure: Error { case loadErrors(String) }

    func run(log: (String) -> Void) throws(Failure) -> SizeResult {
        var r = SizeResult()
        let specs = RuleGenerator.specs(count: size)
        let sources = RuleGenerator.files(specs, perFile: options.rulesPerFile)
        r.files = sources.count

        // Load: median of a few loads (the last one is kept).
        var loadTimes: [Double] = []
        var set = RuleSet()
        for k in 0..<options.loads {
            Measurement.trimHeap()
            let heap0 = Measurement.heapInUse()
            let (t, loaded) = Measurement.time { RuleLoader().load(sources: sources) }
            // Memory held by the loaded rules (patterns compiled at load time included).
            if k == 0 { r.loadHeapBytes = Measurement.heapInUse() - heap0 }
            loadTimes.append(t)
            set = loaded
        }
        r.loadMs = Measurement.median(loadTimes) * 1e3
        r.warnings = set.diagnostics.count { $0.severity == .warning }
        if set.hasErrors || set.rules.count != size {
            let shown = set.diagnostics.prefix(10).map {
                "  \($0.location): \($0.severity.rawValue)[\($0.code.rawValue)]: \($0.message)"
            }
            throw .loadErrors(
                "the \(size) generated rules loaded as \(set.rules.count) rules with \(set.diagnostics.count) diagnostics:\n"
                    + shown.joined(separator: "\n"))
        }
        r.rules = set.rules.count
        log("  loaded \(r.rules) rules from \(r.files) files in \(fmt(r.loadMs, 1)) ms (median of \(options.loads))")

        // Compile: the first build is measured for memory and kept; then more builds for time.
        Measurement.trimHeap()
        let rss0 = Measurement.residentBytes()
        let heap0 = Measurement.heapInUse()
        let (firstBuild, compiled) = Measurement.time { CompiledRuleSet(rules: set.rules) }
        r.rssBytes = Measurement.residentBytes() - rss0
        r.heapBytes = Measurement.heapInUse() - heap0
        var buildTimes = [firstBuild]
        for _ in 1..<max(1, options.builds) {
            let (t, other) = Measurement.time { CompiledRuleSet(rules: set.rules) }
            buildTimes.append(t)
            withExtendedLifetime(other) {}
        }
        r.compileMs = Measurement.median(buildTimes) * 1e3
        r.indexBytes = compiled.indexMemoryFootprint
        r.indexStatistics = compiled.indexStatistics
        log(
            "  compiled in \(fmt(r.compileMs, 2)) ms (median of \(buildTimes.count)); index \(fmt(mb(r.indexBytes), 2)) MB, RSS +\(fmt(mb(r.rssBytes), 2)) MB, heap +\(fmt(mb(r.heapBytes), 2)) MB"
        )
        let linear = LinearRuleMatcher(rules: set.rules)

        // The message pool, the same for both matchers.
        var generator = MessageGenerator(specs: specs, seed: options.seed &+ UInt64(size))
        let pool = (0..<options.poolSize).map { _ in generator.next() }
        let messages = pool.map(\.message)
        r.messages = messages.count

        // Reference results: the compiled matcher on every message of the pool.
        let useLinearOnly = options.only == "linear"
        let reference = messages.map { useLinearOnly ? linear.match($0) : compiled.match($0) }
        for (g, c) in zip(pool, reference) {
            if !c.isEmpty { r.matchedMessages += 1 }
            r.ruleMatches += c.count
            r.matchedByKind[g.kind, default: (0, 0)].total += 1
            if !c.isEmpty { r.matchedByKind[g.kind, default: (0, 0)].matched += 1 }
            if let expected = g.expectedRule, !c.contains(where: { $0.ruleIndex == expected }) {
                r.missedPositives += 1
                if r.missedPositives <= 3 {
                    log(
                        "  note: message \(g.message.attributes["bucketId"] ?? "-") \(g.message.attributes["objectId"] ?? "-") was built for rule `\(set.rules[expected].name)`, which does not match it"
                    )
                }
            }
        }

        // Timing: best of `repeats`, each at least `minSeconds`.
        if !useLinearOnly { timeCompiled(compiled, messages, &r, log: log) }
        if options.only == "compiled" { return r }
        var linearResults = [[RuleMatch]?](repeating: nil, count: messages.count)
        timeLinear(linear, messages, &linearResults, &r, log: log)
        if useLinearOnly { return r }

        // Correctness: the linear matcher's results (from the timed runs, then more messages
        // within the check budget) against the compiled ones: same rules, same captures.
        let checkStart = Measurement.now()
        for i in messages.indices where linearResults[i] == nil {
            if Double(Measurement.now() - checkStart) / 1e9 > options.checkSeconds { break }
            linearResults[i] = linear.match(messages[i])
        }
        var compiledCount = 0
        var linearCount = 0
        for i in messages.indices {
            guard let l = linearResults[i] else { continue }
            let c = reference[i]
            r.checkedMessages += 1
            compiledCount += c.count
            linearCount += l.count
            if c != l {
                r.mismatches += 1
                if r.mismatches <= 5 {
                    let m = messages[i]
                    log(
                        "MISMATCH at \(size) rules: message \(m.id) \(m.attributes["bucketId"] ?? "-") \(m.attributes["eventType"] ?? "-") \(m.attributes["objectId"] ?? "-")"
                    )
                    log("  compiled: \(describe(c, set.rules))")
                    log("  linear:   \(describe(l, set.rules))")
                }
            }
        }
        r.checkedCompiledMatches = compiledCount
        r.checkedLinearMatches = linearCount
        if compiledCount != linearCount {
            log(
                "MISMATCH at \(size) rules: over the \(r.checkedMessages) checked messages the compiled matcher found \(compiledCount) rule matches, the linear one \(linearCount)"
            )
        }
        log(
            "  checked \(r.checkedMessages) of \(messages.count) messages against the linear matcher: \(r.mismatches) mismatches"
        )
        return r
    }

    /// Whole passes over the pool until `minSeconds`, best of `repeats`.
    func timeCompiled(
        _ compiled: CompiledRuleSet, _ messages: [PubSubMessage], _ r: inout SizeResult, log: (String) -> Void
    ) {
        let c = Measurement.bestPassTime(minSeconds: options.minSeconds, repeats: options.repeats) {
            var n = 0
            // `match(_:)` on each message read in place: `for m in messages` here would copy
            // each message (retaining and releasing its fields, cold cache lines in a pool of
            // 10 000) before every call, work the daemon, which matches the message it holds,
            // does not do.
            compiled.matchEach(messages) { n &+= $0.count }
            return n
        }
        r.compiledNs = c.cpuSecondsPerPass * 1e9 / Double(messages.count)
        r.compiledWallNs = c.wallSecondsPerPass * 1e9 / Double(messages.count)
        r.compiledTimed = c.passes * messages.count
        log(
            "  compiled: \(fmt(r.compiledNs, 1)) ns/msg CPU, \(fmt(r.compiledWallNs, 1)) ns/msg wall (\(c.passes) passes of \(messages.count))"
        )
        if c.matches != r.ruleMatches {
            r.mismatches += 1
            log("MISMATCH at \(size) rules: rule matches per pass: compiled \(c.matches), first pass \(r.ruleMatches)")
        }
    }

    /// Messages in pool order (wrapping around) until `minSeconds` and at least
    /// `linearMinimumMessages`, best of `repeats`: a whole
    /// pass of the linear matcher over a large rule set would take minutes.
    func timeLinear(
        _ linear: LinearRuleMatcher, _ messages: [PubSubMessage], _ results: inout [[RuleMatch]?],
        _ r: inout SizeResult, log: (String) -> Void
    ) {
        var bestCPU = Double.infinity
        var bestWall = Double.infinity
        // At least this many messages per run, however slow, so the sample covers the mix.
        let minimumMessages = min(messages.count, options.linearMinimumMessages)
        for _ in 0..<max(1, options.repeats) {
            let wall0 = Measurement.now()
            let cpu0 = Measurement.threadCPU()
            var i = 0
            var wall = 0.0
            repeat {
                let k = i % messages.count
                let m = linear.match(messages[k])
                if results[k] == nil { results[k] = m }
                i += 1
                wall = Double(Measurement.now() - wall0) / 1e9
            } while wall < options.minSeconds || i < minimumMessages
            let cpu = Double(Measurement.threadCPU() - cpu0) / 1e9
            r.linearTimed += i
            bestCPU = min(bestCPU, cpu / Double(i))
            bestWall = min(bestWall, wall / Double(i))
        }
        r.linearNs = bestCPU * 1e9
        r.linearWallNs = bestWall * 1e9
        log(
            "  linear:   \(fmt(r.linearNs, 1)) ns/msg CPU, \(fmt(r.linearWallNs, 1)) ns/msg wall (\(r.linearTimed) messages timed)"
        )
    }

    func describe(_ matches: [RuleMatch], _ rules: [Rule]) -> String {
        if matches.isEmpty { return "(none)" }
        return matches.map { m in
            rules[m.ruleIndex].name
                + (m.captures.count == 0
                    ? "" : " {" + m.captures.entries.map { "\($0.name)=\($0.value)" }.joined(separator: ", ") + "}")
        }.joined(separator: "; ")
    }
}

func fmt(_ x: Double, _ decimals: Int) -> String {
    x.isFinite ? String(format: "%.\(decimals)f", x) : "-"
}

/// Bytes in MiB (the table's "MB").
func mb(_ bytes: Int) -> Double { Double(bytes) / 1_048_576 }
