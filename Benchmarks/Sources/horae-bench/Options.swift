/// Command-line options of `horae-bench` (parsed by hand: the target depends on HoraeRules only).
struct Options {
    var sizes = [100, 1_000, 10_000]
    var poolSize = 10_000
    var minSeconds = 0.5
    var repeats = 3
    var builds = 5
    var loads = 3
    /// Extra seconds (per size) for comparing linear and compiled results on messages the
    /// timed linear runs did not reach.
    var checkSeconds = 20.0
    /// Fewest messages per timed run of the linear matcher.
    var linearMinimumMessages = 200
    var seed: UInt64 = 20_190_115
    var rulesPerFile = 100
    var corpusDirectory: String?
    var corpusRules = 10_000
    var corpusMessages = 1_000_000
    /// `--only compiled|linear`: time one matcher and skip the comparison (for profiling).
    var only: String?

    static let usage = """
        usage: horae-bench [--sizes 100,1000,10000] [--messages 10000] [--min-time 0.5] [--repeats 3]
                           [--check-time 20] [--linear-min-messages 200] [--builds 5] [--loads 3]
                           [--seed N] [--rules-per-file 100] [--only compiled|linear]
               horae-bench --write-corpus DIR [--corpus-rules 10000] [--corpus-messages 1000000]
                           [--rules-per-file 100] [--seed N]

        For each size N, generates N rules shaped like rules/*.yaml, loads them with RuleLoader
        (median of --loads), compiles them (median of --builds), and times CompiledRuleSet against
        LinearRuleMatcher on one pool of --messages generated Cloud Storage notifications (about
        half match some rule, the rest are near-misses). ns/msg is thread CPU time (wall time is
        shown too), best of --repeats runs of at least --min-time seconds: whole passes over the
        pool for the compiled matcher; for the linear matcher the messages in pool order until the
        time is up and at least --linear-min-messages were matched (a whole pass at 10 000 rules
        takes minutes). Every message the linear matcher saw, plus more for up to --check-time
        seconds, is compared with the compiled result (rules and captures). Prints one row per size and PASS/FAIL lines against the targets.

        --only compiled|linear times one matcher and skips the comparison (for profiling).

        --write-corpus DIR writes the rule set as YAML files (DIR/rules-NNNN.yaml), DIR/messages.jsonl
        (Pub/Sub REST message objects, one per line) and DIR/expected-summary.txt, the line
        `horae match DIR --messages DIR/messages.jsonl --summary --subscription bucket-events` must
        print (computed with the in-process compiled matcher).

        Exit status: 0 all targets met; 1 compiled and linear matchers disagree (MISMATCH) or the
        generated rules do not load; 2 usage; 3 a target was missed.
        """

    struct UsageError: Error { var message: String }

    static func parse(_ arguments: [String]) throws(UsageError) -> Options {
        var o = Options()
        var i = 0
        func value(_ name: String) throws(UsageError) -> String {
            i += 1
            guard i < arguments.count else { throw UsageError(message: "\(name) needs a value") }
            return arguments[i]
        }
        func int(_ name: String, min: Int = 1) throws(UsageError) -> Int {
            let text = try value(name).replacingUnderscores
            guard let n = Int(text), n >= min else {
                throw UsageError(message: "\(name) takes a whole number ≥ \(min), got `\(text)`")
            }
            return n
        }
        while i < arguments.count {
            let a = arguments[i]
            switch a {
            case "-h", "--help": throw UsageError(message: "")
            case "--sizes":
                let text = try value(a)
                let parts = text.split(separator: ",").map { Int(String($0).replacingUnderscores) }
                guard !parts.isEmpty, parts.allSatisfy({ ($0 ?? 0) > 0 }) else {
                    throw UsageError(message: "--sizes takes a list such as 100,1000,10000, got `\(text)`")
                }
                o.sizes = parts.map { $0! }
            case "--messages": o.poolSize = try int(a)
            case "--min-time":
                let text = try value(a)
                guard let s = Double(text), s > 0 else {
                    throw UsageError(message: "--min-time takes seconds, got `\(text)`")
                }
                o.minSeconds = s
            case "--check-time":
                let text = try value(a)
                guard let s = Double(text), s >= 0 else {
                    throw UsageError(message: "--check-time takes seconds, got `\(text)`")
                }
                o.checkSeconds = s
            case "--linear-min-messages": o.linearMinimumMessages = try int(a)
            case "--repeats": o.repeats = try int(a)
            case "--builds": o.builds = try int(a)
            case "--loads": o.loads = try int(a)
            case "--seed": o.seed = UInt64(try int(a, min: 0))
            case "--rules-per-file": o.rulesPerFile = try int(a)
            case "--write-corpus": o.corpusDirectory = try value(a)
            case "--corpus-rules": o.corpusRules = try int(a)
            case "--corpus-messages": o.corpusMessages = try int(a)
            case "--only":
                let m = try value(a)
                guard m == "compiled" || m == "linear" else {
                    throw UsageError(message: "--only takes compiled or linear, got `\(m)`")
                }
                o.only = m
            default: throw UsageError(message: "unknown argument `\(a)`")
            }
            i += 1
        }
        return o
    }
}

extension String {
    /// `10_000` → `10000`.
    var replacingUnderscores: String { String(filter { $0 != "_" }) }
}
