import Foundation
import HoraeRules

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
    var indexStatistics: [String: Int] = [:]
    var compiledNs = 0.0
    var linearNs = 0.0
    var compiledPasses = 0
    var linearPasses = 0
    var messages = 0
    var matchedMessages = 0
    var ruleMatches = 0
    /// Messages for which the two matchers returned different matches.
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
        for _ in 0..<options.loads {
            let (t, loaded) = Measurement.time { RuleLoader().load(sources: sources) }
            loadTimes.append(t)
            set = loaded
        }
        r.loadMs = Measurement.median(loadTimes) * 1e3
        r.warnings = set.diagnostics.count { $0.severity == .warning }
        if set.hasErrors || set.rules.count != size {
            let shown = set.diagnostics.prefix(10).map { "  \($0.location): \($0.severity.rawValue)[\($0.code.rawValue)]: \($0.message)" }
            throw .loadErrors("the \(size) generated rules loaded as \(set.rules.count) rules with \(set.diagnostics.count) diagnostics:\n"
                              + shown.joined(separator: "\n"))
        }
        r.rules = set.rules.count
        log("  loaded \(r.rules) rules from \(r.files) files in \(fmt(r.loadMs, 1)) ms (median of \(options.loads))")

        // Compile: the first build is measured for memory and kept; then more builds for time.
        Measurement.trimHeap()
        let rss0 = Measurement.residentBytes(), heap0 = Measurement.heapInUse()
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
        log("  compiled in \(fmt(r.compileMs, 2)) ms (median of \(buildTimes.count)); index \(fmt(mb(r.indexBytes), 2)) MB, RSS +\(fmt(mb(r.rssBytes), 2)) MB, heap +\(fmt(mb(r.heapBytes), 2)) MB")
        let linear = LinearRuleMatcher(rules: set.rules)

        // The message pool, the same for both matchers.
        var generator = MessageGenerator(specs: specs, seed: options.seed &+ UInt64(size))
        let pool = (0..<options.poolSize).map { _ in generator.next() }
        let messages = pool.map(\.message)
        r.messages = messages.count

        // Correctness: the same matches (rules and captures) for every message.
        for g in pool {
            let c = compiled.match(g.message)
            let l = linear.match(g.message)
            if !c.isEmpty { r.matchedMessages += 1 }
            r.ruleMatches += c.count
            r.matchedByKind[g.kind, default: (0, 0)].total += 1
            if !c.isEmpty { r.matchedByKind[g.kind, default: (0, 0)].matched += 1 }
            if c != l {
                r.mismatches += 1
                if r.mismatches <= 5 {
                    log("MISMATCH at \(size) rules: message \(g.message.id) \(g.message.attributes["bucketId"] ?? "-") \(g.message.attributes["eventType"] ?? "-") \(g.message.attributes["objectId"] ?? "-")")
                    log("  compiled: \(describe(c, set.rules))")
                    log("  linear:   \(describe(l, set.rules))")
                }
            }
            if let expected = g.expectedRule, !l.contains(where: { $0.ruleIndex == expected }) {
                r.missedPositives += 1
                if r.missedPositives <= 3 {
                    log("  note: message \(g.message.attributes["bucketId"] ?? "-") \(g.message.attributes["objectId"] ?? "-") was built for rule `\(set.rules[expected].name)`, which does not match it")
                }
            }
        }

        // Timing: best of `repeats`, each at least `minSeconds` of whole passes over the pool.
        let c = Measurement.bestPassTime(minSeconds: options.minSeconds, repeats: options.repeats) {
            var n = 0
            for m in messages { n &+= compiled.match(m).count }
            return n
        }
        r.compiledNs = c.secondsPerPass * 1e9 / Double(messages.count)
        r.compiledPasses = c.passes
        log("  compiled: \(fmt(r.compiledNs, 1)) ns/msg (\(c.passes) passes)")
        let l = Measurement.bestPassTime(minSeconds: options.minSeconds, repeats: options.repeats) {
            var n = 0
            for m in messages { n &+= linear.match(m).count }
            return n
        }
        r.linearNs = l.secondsPerPass * 1e9 / Double(messages.count)
        r.linearPasses = l.passes
        log("  linear:   \(fmt(r.linearNs, 1)) ns/msg (\(l.passes) passes)")
        if c.matches != r.ruleMatches || l.matches != r.ruleMatches {
            r.mismatches += 1
            log("MISMATCH at \(size) rules: rule matches per pass: compiled \(c.matches), linear \(l.matches), checked pass \(r.ruleMatches)")
        }
        return r
    }

    func describe(_ matches: [RuleMatch], _ rules: [Rule]) -> String {
        if matches.isEmpty { return "(none)" }
        return matches.map { m in
            rules[m.ruleIndex].name + (m.captures.count == 0 ? "" : " {" + m.captures.entries.map { "\($0.name)=\($0.value)" }.joined(separator: ", ") + "}")
        }.joined(separator: "; ")
    }
}

func fmt(_ x: Double, _ decimals: Int) -> String {
    x.isFinite ? String(format: "%.\(decimals)f", x) : "-"
}

/// Bytes in MiB (the table's "MB").
func mb(_ bytes: Int) -> Double { Double(bytes) / 1_048_576 }
