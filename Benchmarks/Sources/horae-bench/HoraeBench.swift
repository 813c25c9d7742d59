import Foundation
import HoraeRules

/// `horae-bench`: how loading, compiling and matching scale with the number of rules, against the
/// one-rule-at-a-time matcher in the same process. See `Options.usage`.
@main
struct HoraeBench {
    /// Targets the compiled matcher must meet.
    static let maxCompiledNs = 1_000.0
    static let minSpeedup = 50.0
    static let maxScalingRatio = 2.0
    static let targetSize = 10_000
    static let baselineSize = 100

    static func main() {
        let options: Options
        do {
            options = try Options.parse(Array(CommandLine.arguments.dropFirst()))
        } catch {
            if !error.message.isEmpty { printError("horae-bench: \(error.message)") }
            printError(Options.usage)
            exit(error.message.isEmpty ? 0 : 2)
        }
        if let directory = options.corpusDirectory {
            exit(CorpusWriter(directory: directory, options: options).run())
        }
        exit(runBenchmark(options))
    }

    static func runBenchmark(_ options: Options) -> Int32 {
        say(
            "horae-bench: \(options.poolSize) messages per pool, timing ≥ \(options.minSeconds) s × best of \(options.repeats), seed \(options.seed), "
                + "compile median of \(options.builds), load median of \(options.loads), \(ProcessInfo.processInfo.activeProcessorCount) CPUs, "
                + "load average \(loadAverage())")
        var results: [SizeResult] = []
        for size in options.sizes {
            printError("[\(size) rules]")
            do {
                results.append(try SizeBenchmark(size: size, options: options).run(log: printError))
            } catch {
                switch error {
                case .loadErrors(let text): say("ERROR: \(text)")
                }
                return 1
            }
        }

        say("")
        let header = [
            "rules", "load_ms", "compile_ms", "index_MB", "rss_MB", "compiled_ns/msg", "linear_ns/msg", "speedup",
            "matches/msg",
        ]
        let rows = results.map { r in
            [
                String(r.rules), fmt(r.loadMs, 1), fmt(r.compileMs, 2), fmt(mb(r.indexBytes), 3),
                fmt(mb(r.rssBytes), 2),
                fmt(r.compiledNs, 1), fmt(r.linearNs, 1), fmt(r.speedup, 1) + "x", fmt(r.matchesPerMessage, 3),
            ]
        }
        say(table(header, rows))
        say("")
        say(
            "ns/msg: thread CPU time per message, best of \(options.repeats) runs of ≥ \(options.minSeconds) s; MB = 2^20 bytes; "
                + "rss_MB: growth of RSS (/proc/self/statm) across the first CompiledRuleSet(rules:) after malloc_trim; "
                + "index_MB: indexMemoryFootprint; load_ms and compile_ms are wall-clock medians")
        say("")
        say(
            "details (rules_heap_MB: mallinfo2 growth across the first load, i.e. the loaded RuleSet; heap_MB: mallinfo2 growth across the first build; wall_ns: wall-clock ns/msg; timed: messages matched in the timed runs; "
                + "checked: messages whose compiled and linear results were compared):")
        let detailHeader = [
            "rules", "files", "warnings", "rules_heap_MB", "heap_MB", "compiled_wall_ns", "linear_wall_ns",
            "compiled_timed", "linear_timed",
            "checked", "matches_checked c/l", "matched_msgs", "positives_missed", "index_strategies",
        ]
        let detailRows = results.map { r in
            [
                String(r.rules), String(r.files), String(r.warnings), fmt(mb(r.loadHeapBytes), 1),
                fmt(mb(r.heapBytes), 2),
                fmt(r.compiledWallNs, 1), fmt(r.linearWallNs, 1), String(r.compiledTimed), String(r.linearTimed),
                String(r.checkedMessages), "\(r.checkedCompiledMatches)/\(r.checkedLinearMatches)",
                "\(r.matchedMessages)/\(r.messages) (\(fmt(100 * Double(r.matchedMessages) / Double(max(r.messages, 1)), 1))%)",
                String(r.missedPositives),
                r.indexStatistics.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "),
            ]
        }
        say(table(detailHeader, detailRows, left: [detailHeader.count - 1]))
        if let r = results.last {
            let kinds = GeneratedMessage.Kind.allCases.compactMap { k -> String? in
                guard let v = r.matchedByKind[k] else { return nil }
                return "\(k.rawValue) \(v.matched)/\(v.total)"
            }
            say("message mix at \(r.rules) rules (matched/total by kind): " + kinds.joined(separator: ", "))
        }
        say("")

        if let only = options.only {
            say("SKIP comparison and targets: only the \(only) matcher was run (--only)")
            return results.contains { $0.mismatches > 0 } ? 1 : 0
        }
        var failed = false
        var mismatched = false
        for r in results where r.mismatches > 0 {
            say("MISMATCH: at \(r.rules) rules the compiled and linear matchers disagreed on \(r.mismatches) check(s)")
            mismatched = true
        }
        if !mismatched {
            say(
                "OK: compiled and linear matchers returned the same matches (rules and captures) for every checked message: "
                    + results.map { "\($0.checkedMessages)/\($0.messages) at \($0.rules) rules" }.joined(
                        separator: ", "))
        }
        for r in results where r.missedPositives > 0 {
            say(
                "WARNING: at \(r.rules) rules \(r.missedPositives) messages built to match a rule did not match it (generator or library bug)"
            )
        }

        let target = results.first { $0.rules == targetSize }
        let baseline = results.first { $0.rules == baselineSize }
        if let t = target, let b = baseline {
            say(
                "ratio compiled_ns(\(targetSize))/compiled_ns(\(baselineSize)) = \(fmt(t.compiledNs, 1))/\(fmt(b.compiledNs, 1)) = \(fmt(t.compiledNs / b.compiledNs, 2))"
            )
        } else {
            say("ratio compiled_ns(\(targetSize))/compiled_ns(\(baselineSize)): n/a (needs both sizes in --sizes)")
        }
        func verdict(_ ok: Bool, _ text: String) {
            say((ok ? "PASS " : "FAIL ") + text)
            if !ok { failed = true }
        }
        if let t = target {
            verdict(
                t.compiledNs <= maxCompiledNs,
                "compiled matcher at \(targetSize) rules: \(fmt(t.compiledNs, 1)) ns/msg (target ≤ \(Int(maxCompiledNs)) ns/msg)"
            )
            verdict(
                t.speedup >= minSpeedup,
                "speed-up over linear at \(targetSize) rules: \(fmt(t.speedup, 1))x (target ≥ \(Int(minSpeedup))x)")
        } else {
            say("SKIP compiled ns/msg and speed-up targets (\(targetSize) not in --sizes)")
        }
        if let t = target, let b = baseline {
            let ratio = t.compiledNs / b.compiledNs
            verdict(
                ratio <= maxScalingRatio,
                "per-message cost \(targetSize)/\(baselineSize) rules: \(fmt(ratio, 2)) (target ≤ \(fmt(maxScalingRatio, 1)))"
            )
        } else {
            say("SKIP scaling target (needs \(targetSize) and \(baselineSize) in --sizes)")
        }
        verdict(!mismatched, "compiled and linear matchers agree")
        if mismatched { return 1 }
        return failed ? 3 : 0
    }

    /// Columns right-aligned, except those in `left`.
    static func table(_ header: [String], _ rows: [[String]], left: Set<Int> = []) -> String {
        let all = [header] + rows
        let widths = header.indices.map { i in all.map { $0[i].count }.max() ?? 0 }
        return all.map { row in
            row.enumerated().map { i, cell in
                let pad = String(repeating: " ", count: widths[i] - cell.count)
                return left.contains(i) ? cell + pad : pad + cell
            }.joined(separator: "  ").replacingOccurrences(of: " +$", with: "", options: .regularExpression)
        }.joined(separator: "\n")
    }
}

/// The first three fields of /proc/loadavg (other work on the machine skews the figures).
func loadAverage() -> String {
    guard let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return "unknown" }
    return text.split(separator: " ").prefix(3).joined(separator: " ")
}

func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// Writes a line to standard output unbuffered, so it interleaves with the progress on stderr.
func say(_ text: String) {
    FileHandle.standardOutput.write(Data((text + "\n").utf8))
}
