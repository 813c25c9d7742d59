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
        print("horae-bench: \(options.poolSize) messages per pool, timing ≥ \(options.minSeconds) s × best of \(options.repeats), "
              + "compile median of \(options.builds), load median of \(options.loads), \(ProcessInfo.processInfo.activeProcessorCount) CPUs, "
              + "load average \(loadAverage())")
        var results: [SizeResult] = []
        for size in options.sizes {
            printError("[\(size) rules]")
            do {
                results.append(try SizeBenchmark(size: size, options: options).run(log: printError))
            } catch {
                switch error {
                case let .loadErrors(text): print("ERROR: \(text)")
                }
                return 1
            }
        }

        print("")
        let header = ["rules", "load_ms", "compile_ms", "index_MB", "rss_MB", "compiled_ns/msg", "linear_ns/msg", "speedup", "matches/msg"]
        let rows = results.map { r in
            [String(r.rules), fmt(r.loadMs, 1), fmt(r.compileMs, 2), fmt(mb(r.indexBytes), 3), fmt(mb(r.rssBytes), 2),
             fmt(r.compiledNs, 1), fmt(r.linearNs, 1), fmt(r.speedup, 1) + "x", fmt(r.matchesPerMessage, 3)]
        }
        print(table(header, rows))
        print("")
        print("details (MB = 2^20 bytes; rss_MB = growth of /proc/self/statm RSS across the first CompiledRuleSet(rules:) after malloc_trim; heap_MB = mallinfo2 growth):")
        let detailHeader = ["rules", "files", "warnings", "heap_MB", "matched_msgs", "positives_missed", "compiled_passes", "linear_passes", "index_strategies"]
        let detailRows = results.map { r in
            [String(r.rules), String(r.files), String(r.warnings), fmt(mb(r.heapBytes), 2),
             "\(r.matchedMessages)/\(r.messages) (\(fmt(100 * Double(r.matchedMessages) / Double(max(r.messages, 1)), 1))%)",
             String(r.missedPositives), String(r.compiledPasses), String(r.linearPasses),
             r.indexStatistics.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")]
        }
        print(table(detailHeader, detailRows, left: [detailHeader.count - 1]))
        if let r = results.last {
            let kinds = GeneratedMessage.Kind.allCases.compactMap { k -> String? in
                guard let v = r.matchedByKind[k] else { return nil }
                return "\(k.rawValue) \(v.matched)/\(v.total)"
            }
            print("message mix at \(r.rules) rules (matched/total by kind): " + kinds.joined(separator: ", "))
        }
        print("")

        var failed = false
        var mismatched = false
        for r in results where r.mismatches > 0 {
            print("MISMATCH: at \(r.rules) rules the compiled and linear matchers disagreed on \(r.mismatches) check(s)")
            mismatched = true
        }
        if !mismatched { print("OK: compiled and linear matchers returned the same matches (rules and captures) for every message at every size") }
        for r in results where r.missedPositives > 0 {
            print("WARNING: at \(r.rules) rules \(r.missedPositives) messages built to match a rule did not match it (generator or library bug)")
        }

        let target = results.first { $0.rules == targetSize }
        let baseline = results.first { $0.rules == baselineSize }
        if let t = target, let b = baseline {
            print("ratio compiled_ns(\(targetSize))/compiled_ns(\(baselineSize)) = \(fmt(t.compiledNs, 1))/\(fmt(b.compiledNs, 1)) = \(fmt(t.compiledNs / b.compiledNs, 2))")
        } else {
            print("ratio compiled_ns(\(targetSize))/compiled_ns(\(baselineSize)): n/a (needs both sizes in --sizes)")
        }
        func verdict(_ ok: Bool, _ text: String) {
            print((ok ? "PASS " : "FAIL ") + text)
            if !ok { failed = true }
        }
        if let t = target {
            verdict(t.compiledNs <= maxCompiledNs, "compiled matcher at \(targetSize) rules: \(fmt(t.compiledNs, 1)) ns/msg (target ≤ \(Int(maxCompiledNs)) ns/msg)")
            verdict(t.speedup >= minSpeedup, "speed-up over linear at \(targetSize) rules: \(fmt(t.speedup, 1))x (target ≥ \(Int(minSpeedup))x)")
        } else {
            print("SKIP compiled ns/msg and speed-up targets (\(targetSize) not in --sizes)")
        }
        if let t = target, let b = baseline {
            let ratio = t.compiledNs / b.compiledNs
            verdict(ratio <= maxScalingRatio, "per-message cost \(targetSize)/\(baselineSize) rules: \(fmt(ratio, 2)) (target ≤ \(fmt(maxScalingRatio, 1)))")
        } else {
            print("SKIP scaling target (needs \(targetSize) and \(baselineSize) in --sizes)")
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
            }.joined(separator: "  ")
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
